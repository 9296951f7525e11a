package twilio

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestValidateE164(t *testing.T) {
	t.Parallel()
	tests := []struct {
		number  string
		problem string // a part of the error, "" for valid
	}{
		{"+14155550100", ""},
		{"+12", ""},
		{"+123456789012345", ""},
		{"+447911123456", ""},
		{"", "is required"},
		{"14155550100", `must start with "+"`},
		{"+1 415 555 0100", "only digits"},
		{"+1-415-555-0100", "only digits"},
		{"+1(415)5550100", "only digits"},
		{"+1", "2 to 15 digits"},
		{"+", "2 to 15 digits"},
		{"+1234567890123456", "2 to 15 digits"},
		{"+04155550100", `must not start with "+0"`},
		{"++14155550100", "only digits"},
		{"+١٢٣٤٥٦٧", "only digits"},     // Arabic-Indic digits
		{"+１４１５５５５０１００", "only digits"}, // full-width digits
		{"+14155550100\r\nBcc: x", "only digits"},
		{"+14155550100\x00", "only digits"},
		{"whatsapp:+14155550100", `must start with "+"`},
		{" +14155550100", `must start with "+"`},
		{"+" + strings.Repeat("9", 1000), "2 to 15 digits"},
	}
	for _, tt := range tests {
		err := ValidateE164(tt.number)
		if tt.problem == "" {
			assert.NoError(t, err, "%q", tt.number)
			continue
		}
		if assert.Error(t, err, "%q", tt.number) {
			assert.Contains(t, err.Error(), tt.problem, "%q", tt.number)
			assert.NotContains(t, err.Error(), "\r", "control characters are quoted")
			assert.Less(t, len(err.Error()), 200, "long input is cut")
		}
	}
}

func FuzzValidateE164(f *testing.F) {
	for _, s := range []string{"+14155550100", "", "+", "+0", "+1", "+123456789012345", "+1234567890123456", "1", "+1 2", "+\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidateE164(s)
		valid := len(s) >= 3 && len(s) <= 16 && s[0] == '+' && s[1] != '0' &&
			strings.Trim(s[1:], "0123456789") == ""
		if valid != (err == nil) {
			t.Fatalf("ValidateE164(%q) = %v, want valid=%v", s, err, valid)
		}
		if err != nil && strings.ContainsAny(err.Error(), "\r\n\x00") {
			t.Fatalf("error holds a control character: %q", err.Error())
		}
	})
}
