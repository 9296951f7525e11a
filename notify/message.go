package notify

import (
	"context"
	"errors"
	"log/slog"
	"unicode/utf8"
)

// Kind names what a notification is for. Templates, retries and logs are
// keyed by it.
type Kind string

// The notification kinds the SDK renders and sends.
const (
	KindInvitation    Kind = "invitation"      // a new user is invited to an organization
	KindPasswordReset Kind = "password_reset"  // a user asked to reset their password
	KindSystemError   Kind = "system_error"    // site admins learn that something failed
	KindExpiryWarning Kind = "expiry_warning"  // site admins learn that something expires soon, or has
	KindTwoFactorCode Kind = "two_factor_code" // a one-time code for two-factor login (SMS)
	KindTestEmail     Kind = "test_email"      // the admin's "Send test email to" button
	KindTestSMS       Kind = "test_sms"        // the admin's "Send Test SMS" button
)

// Email is one rendered email for one recipient, ready for a Mailer.
type Email struct {
	// Kind is the notification kind the email was rendered for.
	Kind Kind
	// To is the recipient's bare address, such as "alice@example.com".
	To string
	// Subject is the subject line, unencoded; transports encode it.
	Subject string
	// Text is the plain-text body. At least one of Text and HTML is set.
	Text string
	// HTML is the HTML body, already escaped by its template.
	HTML string
	// Headers are extra header fields. Transports refuse or encode any
	// value that holds CR or LF, so a value can never start a new header.
	Headers map[string]string
	// Key is a stable idempotency key: every attempt to deliver this
	// message carries the same key (SMTP sends it as the Message-ID) so a
	// receiver can drop duplicates.
	Key string
}

// SMS is one rendered text message for one phone number.
type SMS struct {
	// Kind is the notification kind the message was rendered for.
	Kind Kind
	// To is the recipient's number in E.164 form, such as "+14155550100".
	To string
	// Body is the message text, at most MaxSMSLength characters.
	Body string
	// Key is a stable idempotency key shared by every delivery attempt.
	Key string
}

// MaxSMSLength is the longest SMS body, in characters, that Twilio accepts
// (it splits longer texts into at most ten segments).
const MaxSMSLength = 1600

// Mailer delivers one email. Implementations must honour ctx's deadline
// and cancellation, and return an error with a Temporary() bool method
// reporting true when a later attempt may succeed (a 4xx reply, a network
// failure) and false when it cannot (a 5xx reply, bad settings).
type Mailer interface {
	SendEmail(ctx context.Context, msg Email) error
}

// SMSSender delivers one SMS, with the same error contract as Mailer.
type SMSSender interface {
	SendSMS(ctx context.Context, msg SMS) error
}

// MailerFunc adapts a function to the Mailer interface.
type MailerFunc func(ctx context.Context, msg Email) error

// SendEmail calls f(ctx, msg).
func (f MailerFunc) SendEmail(ctx context.Context, msg Email) error { return f(ctx, msg) }

// SMSSenderFunc adapts a function to the SMSSender interface.
type SMSSenderFunc func(ctx context.Context, msg SMS) error

// SendSMS calls f(ctx, msg).
func (f SMSSenderFunc) SendSMS(ctx context.Context, msg SMS) error { return f(ctx, msg) }

// IsTemporary reports whether err, or any error it wraps, has a
// Temporary() bool method that returns true. Errors without one are
// permanent: retrying them would only repeat the failure.
func IsTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// LogValue logs the email's kind, recipient, key and subject, never its
// body, which may hold a reset link.
func (e Email) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("kind", string(e.Kind)), slog.String("to", e.To),
		slog.String("key", e.Key), slog.String("subject", e.Subject))
}

// LogValue logs the SMS's kind, recipient, key and length, never its
// body, which may hold a two-factor code.
func (s SMS) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("kind", string(s.Kind)), slog.String("to", s.To),
		slog.String("key", s.Key), slog.Int("length", utf8.RuneCountInString(s.Body)))
}
