package notify_test

import (
	"context"
	"errors"
	"fmt"
	"testing/fstest"
	"time"

	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/notify/notifytest"
)

// A Notifier sends at once through its transports. Here the Mailer is
// notifytest's recording one, which fails twice before accepting the
// message; the Notifier retries, with a fake clock so the example does
// not wait.
func ExampleNotifier() {
	ctx := context.Background()
	mailer := &notifytest.Mailer{} // in production: an *smtpx.Mailer
	mailer.FailNext(2, notifytest.Temporary)
	clock := notifytest.NewClock(time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC))

	n, err := notify.New(notify.Config{
		Mailer:   mailer,
		SiteName: "Acme Cloud",
		Now:      clock.Now,   // omit in production
		Sleep:    clock.Sleep, // omit in production
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	err = n.Invite(ctx, notify.Invitation{
		Inviter:      "Alice Smith",
		Organization: "Acme",
		AcceptURL:    "https://app.example.com/invitations/8f3a",
		ExpiresAt:    clock.Now().Add(7 * 24 * time.Hour),
	}, "bob@example.com")
	fmt.Println("error:", err)
	fmt.Println("attempts:", mailer.Attempts())
	sent := mailer.Sent()[0]
	fmt.Println("to:", sent.To)
	fmt.Println("subject:", sent.Subject)
	// Output:
	// error: <nil>
	// attempts: 3
	// to: bob@example.com
	// subject: Alice Smith invited you to join Acme on Acme Cloud
}

// With an Outbox, the Notifier only stores the rendered message; a
// Deliverer sends it, here in one DeliverDue round (in production: go
// d.Run(ctx) in the server or in a worker).
func ExampleNotifier_outbox() {
	ctx := context.Background()
	outbox := notifytest.NewOutbox(nil) // in production: on the host's database
	sms := &notifytest.SMSSender{}      // in production: a *twilio.Client

	n, err := notify.New(notify.Config{Outbox: outbox, SiteName: "Acme Cloud"})
	if err != nil {
		fmt.Println(err)
		return
	}
	err = n.SendTwoFactorCode(ctx, notify.TwoFactorCode{Code: "493817", ExpiresIn: 10 * time.Minute}, "+14155550100")
	fmt.Println("queued:", err == nil, outbox.Count(notifytest.Pending))

	d, err := notify.NewDeliverer(notify.DelivererConfig{Outbox: outbox, SMSSender: sms})
	if err != nil {
		fmt.Println(err)
		return
	}
	claimed, err := d.DeliverDue(ctx)
	fmt.Println("claimed:", claimed, err)
	fmt.Println("delivered:", outbox.Count(notifytest.Delivered))
	fmt.Println("body:", sms.Sent()[0].Body)
	// Output:
	// queued: true 1
	// claimed: 1 <nil>
	// delivered: 1
	// body: 493817 is your Acme Cloud verification code. It expires in 10 minutes. Do not share it.
}

// A Deliverer drains an outbox until its context is cancelled.
func ExampleDeliverer_Run() {
	outbox := notifytest.NewOutbox(nil)
	mailer := &notifytest.Mailer{}
	n, _ := notify.New(notify.Config{Outbox: outbox})
	_ = n.SendTestEmail(context.Background(), notify.TestEmail{RequestedBy: "Carol"}, "carol@example.com")

	d, _ := notify.NewDeliverer(notify.DelivererConfig{Outbox: outbox, Mailer: mailer, Concurrency: 8})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- d.Run(ctx) }()
	_ = outbox.Settle(context.Background()) // in production: run until shutdown
	cancel()
	fmt.Println(<-done, mailer.Sent()[0].Subject)
	// Output: <nil> Test email
}

// Templates are replaced per kind and part from an fs.FS (here an
// in-memory one; in production os.DirFS or an embed.FS). A template that
// does not fit its kind's data fails in New, not when a user waits for
// the message.
func ExampleConfig_templates() {
	sms := &notifytest.SMSSender{}
	n, err := notify.New(notify.Config{
		SMSSender: sms,
		SiteName:  "Acme",
		Templates: fstest.MapFS{"two_factor_code.txt": {Data: []byte("{{site}} code: {{.Code.Reveal}}")}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = n.SendTwoFactorCode(context.Background(), notify.TwoFactorCode{Code: "493817"}, "+14155550100")
	fmt.Println(sms.Sent()[0].Body)

	_, err = notify.New(notify.Config{
		SMSSender: sms,
		Templates: fstest.MapFS{"two_factor_code.txt": {Data: []byte("{{.Cod}}")}},
	})
	fmt.Println(err)
	// Output:
	// Acme code: 493817
	// notify: templates of kind two_factor_code fail on sample data: template: two_factor_code.txt:1:2: executing "two_factor_code.txt" at <.Cod>: can't evaluate field Cod in type notify.TwoFactorCode
}

// A Limiter refuses SMS beyond its limits, against SMS pumping; the
// Notifier applies it to every SMS kind.
func ExampleNewLimiter() {
	limiter, err := notify.NewLimiter(notify.LimiterConfig{
		AllowedCountries: []string{"US", "CA", "GB"}, // your users' countries
		// PerNumber 5/h, PerCountry 100/h, Overall 500/h: zero means default.
		// Counter: a shared one when the host runs several instances.
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	n, _ := notify.New(notify.Config{SMSSender: &notifytest.SMSSender{}, Limiter: limiter})
	ctx := context.Background()
	for range 5 {
		_ = n.SendTwoFactorCode(ctx, notify.TwoFactorCode{Code: "123456", ExpiresIn: 10 * time.Minute}, "+14155550100")
	}
	err = n.SendTwoFactorCode(ctx, notify.TwoFactorCode{Code: "123456", ExpiresIn: 10 * time.Minute}, "+14155550100")
	var le *notify.LimitError
	fmt.Println(errors.As(err, &le), le.Scope, errors.Is(err, notify.ErrSendLimit))

	err = n.SendTwoFactorCode(ctx, notify.TwoFactorCode{Code: "123456", ExpiresIn: 10 * time.Minute}, "+18765550100")
	errors.As(err, &le)
	fmt.Println(le.Region, le.UserMessage())
	// Output:
	// true number true
	// JM Text messages to this country are not available; use a number from another country.
}
