package twilio

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"

	"github.com/siteadmin/integrations"
)

// hexToken looks like a real auth token: 32 hex digits.
const hexToken = "9f3a0c71e5b24d68a1c7f0e2d3b4a596"

// leaks returns the first run of minSecretRun bytes of secret found in s.
func leaks(s, secret string) string {
	for i := 0; i+minSecretRun <= len(secret); i++ {
		if run := secret[i : i+minSecretRun]; strings.Contains(s, run) {
			return run
		}
	}
	return ""
}

func TestExcerptRedactsBeforeItCuts(t *testing.T) {
	t.Parallel()
	r := newRedactor(testSID, integrations.Secret(hexToken))
	basic := r.secrets[1]
	tests := []struct {
		name string
		text string
		max  int
	}{
		// Issue 14, item 1: the cut used to fall inside the token, and
		// the search for the whole token then missed its first part.
		{"token across the cut", strings.Repeat("x", 185) + " " + hexToken, 200},
		{"token across the cut of a message", strings.Repeat("m", 990) + hexToken, 1000},
		{"token across the cut of more_info", strings.Repeat("u", 290) + hexToken, 300},
		{"basic credentials across the cut", strings.Repeat("y", 170) + " Basic " + basic, 200},
		{"token cut by the server", "echo: token=" + hexToken[:14], 200},
		{"end of the token first", hexToken[20:] + " and then some text", 200},
		{"token inside a word", "abc" + hexToken + "def", 200},
		{"twice", hexToken + " " + hexToken, 200},
	}
	for _, tt := range tests {
		got := r.excerpt(tt.text, tt.max)
		assert.Empty(t, leaks(got, hexToken), "%s: %q", tt.name, got)
		assert.Empty(t, leaks(got, basic), "%s: %q", tt.name, got)
		assert.LessOrEqual(t, len(got), tt.max, tt.name)
		assert.Contains(t, got, "[reda", tt.name)
	}
	assert.Equal(t, "error 20003 for AC0123 see https://www.twilio.com/docs/errors/20003",
		r.excerpt("error 20003 for AC0123 see https://www.twilio.com/docs/errors/20003", 300),
		"short runs that happen to match are ordinary text")
	assert.Equal(t, "no secret, "+hexToken, redactor{}.excerpt("no secret,\n"+hexToken, 300))
}

func FuzzExcerpt(f *testing.F) {
	f.Add(strings.Repeat("x", 185)+" "+hexToken, 200)
	f.Add("token="+hexToken[:9], 20)
	f.Add("é\x00"+hexToken[3:], 7)
	r := newRedactor(testSID, integrations.Secret(hexToken))
	f.Fuzz(func(t *testing.T, text string, max int) {
		if max < 0 || max > 2000 {
			return
		}
		got := r.excerpt(text, max)
		if run := leaks(got, hexToken); run != "" {
			t.Fatalf("excerpt(%q, %d) = %q holds %q of the token", text, max, got, run)
		}
		if len(got) > max || !utf8.ValidString(got) {
			t.Fatalf("excerpt(%q, %d) = %q: too long or not UTF-8", text, max, got)
		}
	})
}
