package notify

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/siteadmin/integrations"
)

// Data is the typed content of one notification kind: Invitation,
// PasswordReset, SystemError, ExpiryWarning, TwoFactorCode, TestEmail or
// TestSMS. Its
// exported fields are what the kind's templates see as ".".
type Data interface {
	// Kind returns the kind the data renders as.
	Kind() Kind
	// Validate reports every missing or malformed field at once, as an
	// errors.Join of *FieldError.
	Validate() error
}

// Invitation asks a new user to join an organization. Send it with
// Notifier.Invite; its accept URL is usually personal, so send one
// invitation per call.
type Invitation struct {
	// Inviter is the display name of the user who sent the invitation,
	// such as "Alice Smith". Optional.
	Inviter string
	// Organization is the name of the organization the user is invited
	// to. Required.
	Organization string
	// Team is the team the user will join, if any. Optional.
	Team string
	// AcceptURL is the absolute http or https link that accepts the
	// invitation. Required.
	AcceptURL string
	// ExpiresAt is when the invitation stops working. Zero means the
	// message does not mention an expiry.
	ExpiresAt time.Time
}

// PasswordReset carries the link a user follows to choose a new password.
// Send it with Notifier.ResetPassword.
type PasswordReset struct {
	// User is the display name or login of the account. Optional.
	User string
	// ResetURL is the absolute http or https link that resets the
	// password. Required.
	ResetURL string
	// ExpiresAt is when the link stops working. Zero means the message
	// does not mention an expiry.
	ExpiresAt time.Time
	// RequestedFrom is where the request came from, such as an IP
	// address, shown so a user can tell a reset they did not ask for.
	// Optional.
	RequestedFrom string
}

// SystemError tells site admins that something failed. Send it with
// Notifier.SystemError, usually to every site admin at once.
type SystemError struct {
	// Component is the part of the system that failed, such as
	// "SAML single sign-on" or "team sync". Required.
	Component string
	// Summary is a one-line description of the failure. Required.
	Summary string
	// Details is optional longer text, such as an error message or a
	// list of affected users. It keeps its line breaks in the body.
	Details string
	// OccurredAt is when the failure happened. Zero means the message
	// does not mention a time.
	OccurredAt time.Time
	// URL is an optional absolute http or https link to the admin page
	// where the failure can be looked at.
	URL string
}

// ExpiryWarning tells site admins, ahead of time, that something the site
// needs expires (a SAML certificate, an IdP's metadata), or that it has:
// what, when, and what to do. It belongs with SystemError: send it with
// Notifier.ExpiryWarning, usually to every site admin, from the
// callback of an alerter such as saml.Alerter.
type ExpiryWarning struct {
	// Component is the part of the system that depends on the item, such
	// as "SAML single sign-on". Required.
	Component string
	// Item names what expires, as it reads after "depends on", such as
	// `the IdP signing certificate "idp.example.com" (serial 1234)`.
	// Required.
	Item string
	// ExpiresAt is when it expires. Required.
	ExpiresAt time.Time
	// DaysLeft is the whole days from the warning to ExpiresAt, rounded
	// down: 0 on the last day, negative once expired (saml.Alert.DaysLeft
	// computes it). The message says "in N days", "in less than a day",
	// or "expired".
	DaysLeft int
	// Action says what to do, in one or a few sentences. Required.
	Action string
	// URL is an optional absolute http or https link to the admin page
	// where the item is configured.
	URL string
}

// TwoFactorCode carries a one-time code for two-factor login, sent by
// SMS with Notifier.SendTwoFactorCode. The code is a integrations.Secret: it never
// appears in a log line or an error, and printing the struct shows
// "[redacted]".
type TwoFactorCode struct {
	// Code is the one-time code. Required.
	Code integrations.Secret
	// ExpiresIn is how long the code stays valid. Zero means the message
	// does not mention an expiry.
	ExpiresIn time.Duration
}

// LogValue keeps the code out of logs, even from a JSON handler (which
// would otherwise encode the struct with encoding/json, and the integrations.Secret
// as itself).
func (d TwoFactorCode) LogValue() slog.Value {
	return slog.GroupValue(slog.String("Code", d.Code.String()), slog.Duration("ExpiresIn", d.ExpiresIn))
}

// TestEmail is the message behind an admin's "Send test email" button.
// Send it with Notifier.SendTestEmail.
type TestEmail struct {
	// RequestedBy is the display name of the admin who pressed the
	// button. Optional.
	RequestedBy string
}

// TestSMS is the message behind an admin's "Send test SMS" button. Send
// it with Notifier.SendTestSMS.
type TestSMS struct {
	// RequestedBy is the display name of the admin who pressed the
	// button. Optional.
	RequestedBy string
}

// Kind returns KindInvitation.
func (Invitation) Kind() Kind { return KindInvitation }

// Kind returns KindPasswordReset.
func (PasswordReset) Kind() Kind { return KindPasswordReset }

// Kind returns KindSystemError.
func (SystemError) Kind() Kind { return KindSystemError }

// Kind returns KindExpiryWarning.
func (ExpiryWarning) Kind() Kind { return KindExpiryWarning }

// Kind returns KindTwoFactorCode.
func (TwoFactorCode) Kind() Kind { return KindTwoFactorCode }

// Kind returns KindTestEmail.
func (TestEmail) Kind() Kind { return KindTestEmail }

// Kind returns KindTestSMS.
func (TestSMS) Kind() Kind { return KindTestSMS }

// Validate reports a missing Organization and a missing or non-http(s)
// AcceptURL.
func (d Invitation) Validate() error {
	return errors.Join(
		required("Organization", d.Organization),
		webURL("AcceptURL", d.AcceptURL, true),
	)
}

// Validate reports a missing or non-http(s) ResetURL.
func (d PasswordReset) Validate() error {
	return webURL("ResetURL", d.ResetURL, true)
}

// Validate reports a missing Component or Summary and a non-http(s) URL.
func (d SystemError) Validate() error {
	return errors.Join(
		required("Component", d.Component),
		required("Summary", d.Summary),
		webURL("URL", d.URL, false),
	)
}

// Validate reports a missing Component, Item, ExpiresAt or Action and a
// non-http(s) URL.
func (d ExpiryWarning) Validate() error {
	var zero error
	if d.ExpiresAt.IsZero() {
		zero = &FieldError{Field: "ExpiresAt", Problem: "is zero: set when the item expires"}
	}
	return errors.Join(
		required("Component", d.Component),
		required("Item", d.Item),
		zero,
		required("Action", d.Action),
		webURL("URL", d.URL, false),
	)
}

// Validate reports a missing Code, or one that holds anything other than
// letters, digits and dashes.
func (d TwoFactorCode) Validate() error {
	code := d.Code.Reveal()
	if code == "" {
		return &FieldError{Field: "Code", Problem: "is empty: set the one-time code to send"}
	}
	for _, r := range code {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-') {
			return &FieldError{Field: "Code", Problem: "holds a character other than a letter, a digit or '-'"}
		}
	}
	return nil
}

// Validate accepts any TestEmail.
func (TestEmail) Validate() error { return nil }

// Validate accepts any TestSMS.
func (TestSMS) Validate() error { return nil }

// FieldError names one field of a notification's data, or of a
// configuration, and what is wrong with it.
type FieldError struct {
	// Field is the field's name, such as "AcceptURL".
	Field string
	// Problem says what is wrong and how to fix it.
	Problem string
}

// Error returns "<field> <problem>".
func (e *FieldError) Error() string { return e.Field + " " + e.Problem }

func required(field, value string) error {
	if strings.TrimSpace(value) == "" {
		return &FieldError{Field: field, Problem: "is empty: it is required"}
	}
	return nil
}

// webURL accepts only absolute http and https URLs: a javascript: or
// data: link in a notification is an attack, and a relative one cannot
// work from a mail client.
func webURL(field, value string, mandatory bool) error {
	if value == "" {
		if mandatory {
			return &FieldError{Field: field, Problem: "is empty: set the absolute https link the user follows"}
		}
		return nil
	}
	// The value is not quoted back: a reset or accept link holds a token.
	u, err := url.Parse(value)
	switch {
	case err != nil:
		return &FieldError{Field: field, Problem: "is not a URL (control character or bad escape?): set an absolute https link"}
	case u.Scheme != "https" && u.Scheme != "http":
		return &FieldError{Field: field, Problem: fmt.Sprintf("has scheme %q: it must be an absolute http or https URL", u.Scheme)}
	case u.Host == "":
		return &FieldError{Field: field, Problem: "has no host: it must be an absolute http or https URL"}
	}
	return nil
}
