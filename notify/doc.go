// Package notify renders the notifications a multi-tenant application
// sends (invitations, password resets, system errors, two-factor codes,
// test messages) and delivers them by email and SMS without losing them:
// temporary failures are retried with backoff, every failure is
// reported per recipient, and with an Outbox a message survives a crash
// and is delivered at least once.
//
// # Sending
//
// Build one Notifier with a transport (smtpx for email, twilio for SMS;
// any Mailer or SMSSender will do) and call the method of the kind:
//
//	n, err := notify.New(notify.Config{
//		Mailer:    mailer, // an *smtpx.Mailer
//		SMSSender: sms,    // a *twilio.Client
//		SiteName:  "Acme Cloud",
//		// Templates, Retry, Now, Sleep, Rand, Logger: zero means default.
//	})
//	...
//	err = n.Invite(ctx, notify.Invitation{
//		Inviter:      "Alice Smith",
//		Organization: "Acme",
//		AcceptURL:    "https://app.example.com/invitations/8f3a",
//		ExpiresAt:    time.Now().Add(7 * 24 * time.Hour),
//	}, "bob@example.com")
//
// Each kind has a typed data struct: Invitation, PasswordReset,
// SystemError, ExpiryWarning, TwoFactorCode, TestEmail, TestSMS. New parses and tries
// every template, so a broken override fails at start-up; a send
// validates the data (required fields, http(s) links only) before
// rendering.
//
// Several recipients are sent one by one, each message with its own
// idempotency key that every retry repeats (SMTP sends it as the
// Message-ID). A temporary failure (see IsTemporary) is retried as
// Config.Retry says (RetryPolicy: 5 attempts, 1s doubling to 30s, half
// jitter, 2 minutes at most); a permanent one is not. The error joins
// one *RecipientError per failed recipient.
//
// # Templates
//
// Each email kind has three templates, the subject (text/template), the
// plain-text body (text/template) and the HTML body (html/template, so
// that names are escaped); each SMS kind has one. Replace any of them
// with Config.Templates, an fs.FS holding files named as TemplateNames
// lists:
//
//	invitation.subject.txt   invitation.txt   invitation.html
//	two_factor_code.txt      ...
//
// Templates see the kind's struct as "." and may call oneline, site,
// datetime and duration. A rendered subject is folded onto one line
// (CR, LF and other control characters become spaces), so a hostile
// name cannot inject a header; an SMS longer than MaxSMSLength is
// refused with ErrTooLong before anything is sent.
//
// # Queued delivery
//
// With Config.Outbox set (the host implements Outbox on its database;
// notifytest.Outbox is an in-memory one), the Notifier renders, enqueues
// and returns. A Deliverer, in the same process or a worker, drains the
// outbox:
//
//	d, err := notify.NewDeliverer(notify.DelivererConfig{
//		Outbox: outbox, Mailer: mailer, SMSSender: sms,
//		// Concurrency 4, Lease 2m, Retry 10 attempts: zero means default.
//	})
//	...
//	go d.Run(ctx) // returns when ctx is cancelled, after the sends in flight
//
// A message that fails temporarily is due again after a backoff; after
// the last attempt, or at once on a permanent failure, it becomes a dead
// letter with the reason. A Deliverer that dies between sending and
// acknowledging leaves the message leased; when the lease expires it is
// claimed and sent again with the same key, so a receiver can drop the
// duplicate.
//
// # Send limits against SMS pumping
//
// Bots that make a site text codes to premium ranges it pays for ("SMS
// pumping", toll fraud) are stopped by a Limiter in Config.Limiter. It
// refuses, before anything is sent or queued, SMS to countries not in
// LimiterConfig.AllowedCountries (and always to the non-geographic
// satellite and premium codes unless listed), and beyond 5 an hour per
// number, 100 an hour per country and 500 an hour in all by default. A
// refusal is a permanent *LimitError whose UserMessage the host can show
// ("Too many codes to this number; try again in 12 minutes."); Refusals
// counts them for an admin. CountryOf tells the country of a number from
// the ITU's calling codes, telling the countries of +1 and +7 apart. The
// counts live in a RateCounter that all of the host's instances share:
// MemoryRateCounter for one process, notifypg.RateCounter on PostgreSQL,
// or the host's own database (notifytest.TestRateCounter is the suite it
// must pass).
//
// # Delivery status
//
// A transport that succeeded only handed the message to its provider. An
// Outbox that also implements StatusRecorder keeps what the provider
// reports later (queued, sent, delivered, undelivered or failed, with the
// provider's ID and error code), so an admin can see which two-factor
// codes never arrived. For Twilio, twilio.StatusHandler receives the
// reports and twilio.RecordStatus(outbox) records them; the callback URL
// carries the message's key, so nothing else links Twilio's message to
// the outbox.
//
// # Secrets
//
// A two-factor code is a Secret: it never appears in a log line, in an
// error (a transport error that echoes it is redacted) or in a printed
// value. Logs carry the kind, recipient, key and attempt, never a body.
//
// Look next at Notifier, Config, Outbox, Deliverer, Limiter and the
// notifytest package.
package notify
