package twilio

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	testSID   = "AC0123456789abcdef0123456789abcdef"
	testToken = "tok3n-never-printed-0123456789ab"
	testKey   = "SK0123456789ABCDEF0123456789ABCDEF"
	testMG    = "MG0123456789abcdef0123456789abcdef"
)

func validSettings() Settings {
	return Settings{Enabled: true, AccountSID: testSID, AuthToken: testToken, FromNumber: "+15005550006"}
}

// fieldProblems maps each field of a Validate error to its problem.
func fieldProblems(t *testing.T, err error) map[string]string {
	t.Helper()
	out := map[string]string{}
	if err == nil {
		return out
	}
	joined, ok := err.(interface{ Unwrap() []error })
	require.True(t, ok, "Validate returns an errors.Join")
	for _, e := range joined.Unwrap() {
		var fe *FieldError
		require.ErrorAs(t, e, &fe)
		out[fe.Field] = fe.Problem
	}
	return out
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*Settings)
		want   map[string]string // field: a part of the problem
	}{
		{"valid with token", func(*Settings) {}, nil},
		{"valid with API key and no token", func(s *Settings) { s.AuthToken, s.APIKeySID, s.APIKeySecret = "", testKey, "k" }, nil},
		{"valid with messaging service and no from", func(s *Settings) { s.FromNumber, s.MessagingServiceSID = "", testMG }, nil},
		{"valid with both senders", func(s *Settings) { s.MessagingServiceSID = testMG }, nil},
		{"valid base URL", func(s *Settings) { s.BaseURL = "http://127.0.0.1:8080/prefix/" }, nil},
		{"disabled is checked the same", func(s *Settings) { s.Enabled = false }, nil},
		{"everything missing", func(s *Settings) { *s = Settings{} }, map[string]string{
			"account-sid": "is required", "auth-token": "is required", "from-number": "Messaging Service"}},
		{"account SID prefix", func(s *Settings) { s.AccountSID = "AB" + testSID[2:] }, map[string]string{"account-sid": `"AC" followed by 32 hexadecimal digits`}},
		{"account SID short", func(s *Settings) { s.AccountSID = testSID[:33] }, map[string]string{"account-sid": "32 hexadecimal"}},
		{"account SID not hex", func(s *Settings) { s.AccountSID = testSID[:33] + "g" }, map[string]string{"account-sid": "32 hexadecimal"}},
		{"account SID with spaces", func(s *Settings) { s.AccountSID = " " + testSID }, map[string]string{"account-sid": `" AC0123`}},
		{"account SID with CRLF", func(s *Settings) { s.AccountSID = testSID[:32] + "\r\n" }, map[string]string{"account-sid": `\r\n`}},
		{"messaging service prefix", func(s *Settings) { s.MessagingServiceSID = "MS" + testMG[2:] }, map[string]string{"messaging-service-sid": `"MG"`}},
		{"from not E.164", func(s *Settings) { s.FromNumber = "415-555-0100" }, map[string]string{"from-number": `must start with "+"`}},
		{"from wrong even with service", func(s *Settings) { s.FromNumber, s.MessagingServiceSID = "+0", testMG }, map[string]string{"from-number": "2 to 15 digits"}},
		{"API key without secret", func(s *Settings) { s.APIKeySID = testKey }, map[string]string{"api-key-secret": "is required"}},
		{"API secret without key", func(s *Settings) { s.AuthToken, s.APIKeySecret = "", "k" }, map[string]string{"api-key-sid": "is required"}},
		{"API key malformed", func(s *Settings) { s.APIKeySID, s.APIKeySecret = testSID, "k" }, map[string]string{"api-key-sid": `"SK"`}},
		{"base URL scheme", func(s *Settings) { s.BaseURL = "ftp://api.twilio.com" }, map[string]string{"base-url": "https://"}},
		{"base URL relative", func(s *Settings) { s.BaseURL = "api.twilio.com" }, map[string]string{"base-url": "absolute"}},
		{"base URL with credentials", func(s *Settings) { s.BaseURL = "https://AC:secret@api.twilio.com" }, map[string]string{"base-url": "credentials"}},
		{"base URL with query", func(s *Settings) { s.BaseURL = "https://api.twilio.com/?x=1" }, map[string]string{"base-url": "query"}},
		{"base URL unparsable", func(s *Settings) { s.BaseURL = "http://[::1" }, map[string]string{"base-url": "absolute"}},
		{"hostile long value is cut", func(s *Settings) { s.AccountSID = strings.Repeat("A", 5000) }, map[string]string{"account-sid": `"...`}},
	}
	for _, tt := range tests {
		s := validSettings()
		tt.change(&s)
		err := s.Validate()
		got := fieldProblems(t, err)
		require.Len(t, got, len(tt.want), "%s: %v", tt.name, err)
		for field, part := range tt.want {
			assert.Contains(t, got[field], part, "%s: %s", tt.name, field)
		}
		if err != nil {
			assert.ErrorIs(t, err, ErrSettings, tt.name)
			assert.Less(t, len(err.Error()), 1000, tt.name)
			assert.NotContains(t, err.Error(), testToken, tt.name)
		}
	}
}

func TestSettingsJSON(t *testing.T) {
	t.Parallel()
	in := Settings{Enabled: true, AccountSID: testSID, AuthToken: testToken, FromNumber: "+15005550006",
		MessagingServiceSID: testMG, APIKeySID: testKey, APIKeySecret: "key-secret", BaseURL: "http://127.0.0.1:1"}
	data, err := json.Marshal(in)
	require.NoError(t, err)
	for _, tag := range []string{"enabled", "account-sid", "auth-token", "from-number", "messaging-service-sid", "api-key-sid", "api-key-secret", "base-url"} {
		assert.Contains(t, string(data), `"`+tag+`":`)
	}
	var out Settings
	require.NoError(t, json.Unmarshal(data, &out))
	assert.Equal(t, in, out, "secrets round-trip for the host's storage")
}

// printedForms renders v every way a host might print or log it. It leaves
// out %p of a non-pointer: fmt prints that bad verb's operand with every
// method disabled, so no string-based secret type can redact itself there.
func printedForms(v any) string {
	var all strings.Builder
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%t", "%10.3f", "%U", "%c", "%08b"} {
		fmt.Fprintf(&all, verb+"\n", v)
		fmt.Fprintf(&all, verb+"\n", []any{v})
		fmt.Fprintf(&all, verb+"\n", struct{ V any }{v})
	}
	fmt.Fprintln(&all, v)
	slog.New(slog.NewJSONHandler(&all, nil)).Info("value", "v", v)
	slog.New(slog.NewTextHandler(&all, nil)).Info("value", "v", v)
	return all.String()
}

func TestSettingsNeverPrintSecrets(t *testing.T) {
	t.Parallel()
	s := validSettings()
	s.APIKeySID, s.APIKeySecret = testKey, "key-secret-0123"
	out := printedForms(s) + printedForms(&s)
	for _, secret := range []string{testToken, "key-secret-0123", fmt.Sprintf("%x", testToken), fmt.Sprintf("%X", testToken)} {
		assert.False(t, strings.Contains(out, secret), "a secret was printed: %s", secret)
	}
	assert.Contains(t, out, testSID, "the rest still prints")
	assert.Contains(t, fmt.Sprintf("%+v", s), "AuthToken:[redacted]")
	assert.True(t, strings.HasPrefix(fmt.Sprintf("%#v", s), "twilio.Settings{"))
	assert.Equal(t, "twilio: auth-token: is required", (&FieldError{Field: "auth-token", Problem: "is required"}).Error())
}

func TestFieldErrorIs(t *testing.T) {
	t.Parallel()
	assert.ErrorIs(t, &FieldError{Field: "to"}, ErrInvalidTo)
	assert.ErrorIs(t, &FieldError{Field: "body"}, ErrInvalidMessage)
	assert.ErrorIs(t, &FieldError{Field: "account-sid"}, ErrSettings)
	assert.False(t, errors.Is(&FieldError{Field: "to"}, ErrSettings))
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "settings", validSettings())
	assert.Contains(t, buf.String(), `"auth-token":"[redacted]"`)
}
