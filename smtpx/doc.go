// Package smtpx sends the host's mail over SMTP with the admin's
// settings. A *Mailer is a notify.Mailer: safe by default (STARTTLS
// required unless the admin chooses otherwise, no password over an
// unencrypted connection unless the host opts in, CR and LF can never
// start a header) and exact about what went wrong.
//
//	m, err := smtpx.NewMailer(smtpx.Config{Settings: settings}) // settings: the admin's SMTP page
//	if err != nil {
//		return err // *smtpx.Error, Code "settings", wrapping every *smtpx.FieldError
//	}
//	defer m.Close()
//	err = m.SendEmail(ctx, notify.Email{To: "alice@example.com", Subject: "Hi", Text: "Hello", Key: "invite-42"})
//	if notify.IsTemporary(err) {
//		// a 4xx reply, a lost connection or a timeout: retry later
//	}
//
// Settings mirror the admin page (and its JSON); Settings.Validate
// reports every field problem at once. Config adds the host's choices:
// root CAs, server name, AllowInsecureAuth, timeouts, a logger. SendTest
// is the page's "Send test email to" button and reports each step
// (connected, TLS version, authenticated, accepted with the server's
// reply).
//
// Messages are built from notify.Email: From is the settings' sender
// (also the envelope sender); Date, MIME-Version and a Message-ID derived
// from the idempotency key, so every attempt of one message carries the
// same ID; UTF-8 bodies in quoted-printable, multipart/alternative when
// there are both text and HTML; RFC 2047 encoded words for non-ASCII or
// hostile header text; SMTPUTF8 when an address needs it.
//
// A Mailer keeps its connection open between messages, so a batch goes
// over one connection, and closes it after Config.IdleTimeout. Every
// failure is an *Error with a stable Code (settings, message, dial, tls,
// auth, rejected, temporary, timeout, canceled), the server's reply and
// enhanced status code, and a Problem saying what to fix; the sentinels
// ErrAuth, ErrRejected and the rest match with errors.Is.
//
// Delivery is at least once, as with twilio: a lost connection and a
// timeout are Temporary, so a notify.Notifier or Deliverer sends the
// message again. Where that resend can reach the recipient twice: when
// the connection is lost, or the deadline passes, after the message's
// final "." but before the server's reply, the server may already have
// queued it. The second copy carries the same Message-ID, which some
// mail systems use to drop it.
//
// For tests, package smtptest runs a real SMTP server in-process.
package smtpx
