package smtpx_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/smtpx"
	"github.com/siteadmin/integrations/smtpx/smtptest"
)

func ExampleMailer() {
	srv := smtptest.NewServer(smtptest.Config{Username: "app", Password: "s3cret"})
	defer srv.Close()

	m, err := smtpx.NewMailer(smtpx.Config{
		Settings: smtpx.Settings{
			Enabled:        true,
			Sender:         "noreply@example.com",
			Host:           srv.Host(),
			Port:           srv.Port(),
			Authentication: smtpx.AuthPlain,
			Username:       "app",
			Password:       "s3cret",
			// TLS: empty means STARTTLS, required (implicit TLS on port 465).
		},
		RootCAs: srv.CertPool(), // the test server's private CA; nil trusts the system's
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()

	err = m.SendEmail(context.Background(), notify.Email{
		Kind:    notify.KindInvitation,
		To:      "alice@example.net",
		Subject: "Bob invited you to Acme",
		Text:    "Accept: https://app.example.com/invite/42",
		HTML:    `<p><a href="https://app.example.com/invite/42">Accept</a></p>`,
		Key:     "invite-42",
	})
	fmt.Println("error:", err)

	got := srv.Messages()[0]
	fmt.Println(got.From, "->", got.To)
	fmt.Println(got.Header.Get("Message-ID"))
	fmt.Println(got.Subject)
	fmt.Println(got.Text)
	// Output:
	// error: <nil>
	// noreply@example.com -> [alice@example.net]
	// <invite-42@example.com>
	// Bob invited you to Acme
	// Accept: https://app.example.com/invite/42
}

func ExampleMailer_errors() {
	srv := smtptest.NewServer(smtptest.Config{})
	defer srv.Close()
	m, _ := smtpx.NewMailer(smtpx.Config{
		Settings: smtpx.Settings{Enabled: true, Sender: "noreply@example.com", Host: srv.Host(), Port: srv.Port()},
		RootCAs:  srv.CertPool(),
	})
	defer m.Close()

	srv.FailNextAt(smtptest.RCPT, 1, smtptest.Permanent)
	err := m.SendEmail(context.Background(), notify.Email{To: "nobody@example.net", Subject: "Hi", Text: "Hello"})

	var e *smtpx.Error
	if errors.As(err, &e) {
		fmt.Println(e.Code, e.Command, e.Reply, e.EnhancedCode, e.Temporary())
	}
	fmt.Println(err)
	// Output:
	// rejected RCPT 550 5.1.1 false
	// smtpx: rejected: the server refused recipient "nobody@example.net" (server replied 550 5.1.1 smtptest: no such user)
}

func ExampleSendTest() {
	srv := smtptest.NewServer(smtptest.Config{Username: "app", Password: "s3cret"})
	defer srv.Close()

	rep, err := smtpx.SendTest(context.Background(), smtpx.Config{
		Settings: smtpx.Settings{
			Sender:         "noreply@example.com",
			Host:           srv.Host(),
			Port:           srv.Port(),
			Authentication: smtpx.AuthLogin,
			Username:       "app",
			Password:       "s3cret",
		},
		RootCAs: srv.CertPool(),
	}, "admin@example.net")
	fmt.Println("error:", err)
	for _, step := range rep.Steps {
		fmt.Println(step.Name, step.OK)
	}
	fmt.Println(rep.Authenticated, rep.Accepted, rep.Reply)
	// Output:
	// error: <nil>
	// settings true
	// connect true
	// tls true
	// auth true
	// send true
	// true true 250 2.0.0 OK: queued
}
