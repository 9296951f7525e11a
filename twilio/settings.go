package twilio

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"

	"github.com/siteadmin/integrations"
)

// DefaultBaseURL is where the client sends requests when Settings.BaseURL
// is empty: Twilio's REST API.
const DefaultBaseURL = "https://api.twilio.com"

// Settings are the admin's Twilio page, as the host stores them. The JSON
// tags are the form's field names; secrets round-trip JSON unchanged (for
// the host's encrypted storage) but never print: fmt with any verb and
// slog show them as "[redacted]".
type Settings struct {
	// Enabled turns SMS sending on. While it is false, Client.SendSMS
	// refuses with ErrDisabled; SendTest still works, so the admin can
	// try the settings before enabling them.
	Enabled bool `json:"enabled"`
	// AccountSID is the account's identifier: "AC" and 32 hex digits,
	// from the Twilio console. Required.
	AccountSID string `json:"account-sid"`
	// AuthToken is the account's auth token. Required unless APIKeySID
	// and APIKeySecret are set.
	AuthToken integrations.Secret `json:"auth-token,omitempty"`
	// FromNumber is the sender, a number of the account in E.164 form
	// such as "+14155550100". Required unless MessagingServiceSID is set.
	FromNumber string `json:"from-number,omitempty"`
	// MessagingServiceSID is an optional Messaging Service ("MG" and 32 hex
	// digits). When set, the client sends it instead of From and Twilio
	// picks the sender from the service's pool.
	MessagingServiceSID string `json:"messaging-service-sid,omitempty"`
	// APIKeySID is an optional API key ("SK" and 32 hex digits). When it
	// and APIKeySecret are set the client authenticates with the key
	// instead of the auth token, which can then stay empty.
	APIKeySID string `json:"api-key-sid,omitempty"`
	// APIKeySecret is the API key's secret.
	APIKeySecret integrations.Secret `json:"api-key-secret,omitempty"`
	// BaseURL replaces DefaultBaseURL, for a test server such as
	// twiliotest or a proxy: an http or https URL without credentials,
	// query or fragment. Plain http sends the token unencrypted; use it
	// only on a network you trust.
	BaseURL string `json:"base-url,omitempty"`
}

// FieldError is one problem with one field of Settings or of a message.
// Field is the JSON name of the settings field ("account-sid", ...) or,
// for a message, "to" or "body".
type FieldError struct {
	Field   string
	Problem string
}

// Error returns "twilio: FIELD: PROBLEM".
func (e *FieldError) Error() string { return "twilio: " + e.Field + ": " + e.Problem }

// Is makes errors.Is(err, ErrInvalidTo) true for a problem with the
// recipient, errors.Is(err, ErrInvalidMessage) for one with the body, and
// errors.Is(err, ErrSettings) for one with the settings.
func (e *FieldError) Is(target error) bool {
	switch e.Field {
	case "to":
		return target == ErrInvalidTo
	case "body":
		return target == ErrInvalidMessage
	default:
		return target == ErrSettings
	}
}

// Validate reports every problem with the settings at once, as an
// errors.Join of *FieldError in the order of the form's fields, or nil.
// It checks the settings as sending would use them, whether or not
// Enabled is set.
func (s Settings) Validate() error {
	var errs []error
	add := func(field, problem string) {
		errs = append(errs, &FieldError{Field: field, Problem: problem})
	}
	if p := sidProblem(s.AccountSID, "AC", "Account SID", true); p != "" {
		add("account-sid", p)
	}
	usesKey := s.APIKeySID != "" || !s.APIKeySecret.IsZero()
	if s.AuthToken.IsZero() && !usesKey {
		add("auth-token", "is required (or an API key SID and secret): copy it from the Twilio console")
	}
	if s.FromNumber != "" || s.MessagingServiceSID == "" {
		if err := ValidateE164(s.FromNumber); err != nil {
			p := err.Error()
			if s.FromNumber == "" {
				p = "is required unless a Messaging Service SID is set: use a number of the account, such as +14155550100"
			}
			add("from-number", p)
		}
	}
	if p := sidProblem(s.MessagingServiceSID, "MG", "Messaging Service SID", false); p != "" {
		add("messaging-service-sid", p)
	}
	if usesKey {
		if p := sidProblem(s.APIKeySID, "SK", "API key SID", true); p != "" {
			add("api-key-sid", p)
		}
		if s.APIKeySecret.IsZero() {
			add("api-key-secret", "is required with an API key SID: it is shown once, when the key is created")
		}
	}
	if p := baseURLProblem(s.BaseURL); p != "" {
		add("base-url", p)
	}
	return errors.Join(errs...)
}

// sidProblem checks a Twilio SID: a two-letter prefix and 32 hex digits.
func sidProblem(sid, prefix, name string, required bool) string {
	if sid == "" {
		if required {
			return "is required: copy the " + name + " from the Twilio console (it starts with " + prefix + ")"
		}
		return ""
	}
	if !validSID(sid, prefix) {
		return fmt.Sprintf("must be %q followed by 32 hexadecimal digits, got %s", prefix, quoteInput(sid))
	}
	return ""
}

func validSID(sid, prefix string) bool {
	if len(sid) != 34 || sid[:2] != prefix {
		return false
	}
	for i := 2; i < len(sid); i++ {
		c := sid[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func baseURLProblem(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "":
		return "must be an absolute URL such as " + DefaultBaseURL + ", got " + quoteInput(raw)
	case u.Scheme != "https" && u.Scheme != "http":
		return "must start with https:// (or http:// for a test server), got " + quoteInput(raw)
	case u.User != nil:
		return "must not hold credentials: set the Account SID and token in their own fields"
	case u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(raw, "?") || strings.HasSuffix(raw, "#"):
		return "must not have a query or fragment, got " + quoteInput(raw)
	}
	return ""
}

// quoteInput quotes a value the admin typed for an error message, cut to a
// readable length; the quoting escapes control characters.
func quoteInput(s string) string {
	const max = 64
	if len(s) > max {
		cut := max
		for cut > 0 && s[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
			cut--
		}
		return fmt.Sprintf("%q...", s[:cut])
	}
	return fmt.Sprintf("%q", s)
}

// LogValue lets slog log the settings whole, secrets redacted.
func (s Settings) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Bool("enabled", s.Enabled),
		slog.String("account-sid", s.AccountSID),
		slog.String("auth-token", s.AuthToken.String()),
		slog.String("from-number", s.FromNumber),
		slog.String("messaging-service-sid", s.MessagingServiceSID),
		slog.String("api-key-sid", s.APIKeySID),
		slog.String("api-key-secret", s.APIKeySecret.String()),
		slog.String("base-url", s.BaseURL),
	)
}

// plainSettings has Settings' fields without its methods, for Format.
type plainSettings Settings

// Format prints the settings like a plain struct with every verb, but with
// the secrets replaced by "[redacted]", so that even %d or %x of a
// settings value cannot reveal them.
func (s Settings) Format(f fmt.State, verb rune) {
	p := plainSettings(s)
	p.AuthToken = integrations.Secret(p.AuthToken.String())
	p.APIKeySecret = integrations.Secret(p.APIKeySecret.String())
	out := fmt.Sprintf(fmt.FormatString(f, verb), p)
	if verb == 'v' && f.Flag('#') {
		out = strings.Replace(out, "twilio.plainSettings", "twilio.Settings", 1)
	}
	_, _ = io.WriteString(f, out)
}
