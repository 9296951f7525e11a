package twilio

import (
	"encoding/base64"
	"strings"

	"github.com/siteadmin/integrations"
)

// minSecretRun is the shortest run of a credential's characters that
// redaction removes wherever it finds one. Shorter runs turn up in
// ordinary text by chance (error codes, SIDs) and carry too little of a
// 32-character token to matter.
const minSecretRun = 6

// redacted stands for a credential, or part of one, in a server's text.
const redacted = "[redacted]"

// redactor takes the client's credentials out of text a server sent
// back, in case a proxy or a fake echoes the request. It works before the
// text is cut to length, so that a cut cannot split a credential and hide
// it from the search, and it also removes a run of one that the server
// had cut itself ("...token=9f3a0c71" at the end of an excerpt). The zero
// value, for a client without a secret, only cuts.
type redactor struct {
	whole   *strings.Replacer
	secrets []string // the secret and its HTTP Basic form
}

func newRedactor(username string, secret integrations.Secret) redactor {
	s := secret.Reveal()
	if s == "" {
		return redactor{}
	}
	basic := base64.StdEncoding.EncodeToString([]byte(username + ":" + s))
	return redactor{
		whole:   strings.NewReplacer(s, redacted, basic, redacted),
		secrets: []string{s, basic},
	}
}

// excerpt returns s without the credentials, made printable and cut to
// at most max bytes (see printable).
func (r redactor) excerpt(s string, max int) string {
	if r.whole == nil {
		return printable(s, max)
	}
	s = printable(r.whole.Replace(s), max)
	for _, secret := range r.secrets {
		s = redactRuns(s, secret)
	}
	return printable(s, max) // "[redacted]" may be longer than what it replaced
}

// redactRuns replaces each run of at least minSecretRun bytes of s that
// also occurs somewhere in secret.
func redactRuns(s, secret string) string {
	var b strings.Builder
	found := false
	for i := 0; i < len(s); {
		if n := longestRunAt(s[i:], secret); n >= minSecretRun {
			b.WriteString(redacted)
			i += n
			found = true
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	if !found {
		return s
	}
	return strings.ToValidUTF8(b.String(), "\uFFFD")
}

// longestRunAt returns the length of the longest prefix of s that occurs
// in secret.
func longestRunAt(s, secret string) int {
	best := 0
	for j := 0; j+best < len(secret); j++ {
		n := 0
		for n < len(s) && j+n < len(secret) && s[n] == secret[j+n] {
			n++
		}
		best = max(best, n)
	}
	return best
}
