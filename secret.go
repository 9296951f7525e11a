package integrations

import (
	"encoding/json"
	"fmt"
	"log/slog"
)

// Secret holds a password, token or API key from the admin's settings.
// It prints as "[redacted]" through fmt (any verb, %+v and %#v included)
// and slog, so a settings value can be logged whole, yet it round-trips
// JSON unchanged for the host's encrypted storage. Call Reveal only where
// the secret is sent to its server.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret itself.
func (s Secret) Reveal() string { return string(s) }

// IsZero reports whether no secret is set.
func (s Secret) IsZero() bool { return s == "" }

// String returns "[redacted]", or "" when no secret is set, so a page can
// show whether one is configured without showing it.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString keeps %#v from printing the secret.
func (s Secret) GoString() string { return `integrations.Secret("` + s.String() + `")` }

// Format prints String for every verb, so that %d, %x or %v of a struct
// holding a Secret never show it (fmt would otherwise format the underlying
// string for verbs that do not call String).
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, s.GoString())
		return
	}
	fmt.Fprint(f, s.String())
}

// LogValue keeps slog from printing the secret.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON writes the secret itself: JSON is the storage format, not a
// display format.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(string(s)) }

// MarshalText is deliberately absent: encoding.TextMarshaler would make
// fmt and loggers that prefer it print the secret.
