package smtptest_test

import (
	"context"
	"fmt"

	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/smtpx"
	"github.com/siteadmin/integrations/smtpx/smtptest"
)

func ExampleNewServer() {
	srv := smtptest.NewServer(smtptest.Config{
		TLS:      smtptest.StartTLS, // the default; also ImplicitTLS, NoTLS
		Username: "app",             // AUTH PLAIN and LOGIN with these
		Password: "s3cret",
	})
	defer srv.Close()

	m, _ := smtpx.NewMailer(smtpx.Config{
		Settings: smtpx.Settings{
			Enabled: true, Sender: "noreply@example.com", Host: srv.Host(), Port: srv.Port(),
			Authentication: smtpx.AuthPlain, Username: "app", Password: "s3cret",
		},
		RootCAs: srv.CertPool(),
	})
	defer m.Close()
	msg := notify.Email{To: "alice@example.net", Subject: "Grüße", Text: "Hello, Alice.\n", Key: "k1"}

	srv.FailNext(1, smtptest.Temporary) // the next message gets 451 after DATA
	err := m.SendEmail(context.Background(), msg)
	fmt.Println("first:", err, notify.IsTemporary(err))

	err = m.SendEmail(context.Background(), msg)
	fmt.Println("second:", err)

	got := srv.Messages()[0]
	fmt.Printf("%s %v %q %q %s\n", got.From, got.To, got.Subject, got.Text, got.AuthUser)
	// Output:
	// first: smtpx: temporary: the server temporarily refused DATA; a later attempt may succeed (server replied 451 4.3.0 smtptest: temporary failure, try again later) true
	// second: <nil>
	// noreply@example.com [alice@example.net] "Grüße" "Hello, Alice.\n" app
}
