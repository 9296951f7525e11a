package notify

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxSubjectLength is the longest subject line, in characters, that the
// Notifier produces; a longer rendered subject is cut and ends with "…".
const MaxSubjectLength = 200

// ErrTooLong is returned, wrapped, for an SMS whose rendered body is
// longer than MaxSMSLength characters. Nothing is sent.
var ErrTooLong = errors.New("notify: message too long")

func (t *templates) renderEmail(d Data) (subject, text, html string, err error) {
	et, ok := t.email[d.Kind()]
	if !ok {
		return "", "", "", fmt.Errorf("notify: kind %s is not an email kind", d.Kind())
	}
	var b strings.Builder
	if err := et.subject.Execute(&b, d); err != nil {
		return "", "", "", err
	}
	subject = truncate(foldLine(b.String()), MaxSubjectLength)
	if subject == "" {
		return "", "", "", fmt.Errorf("notify: the %s subject template rendered an empty subject: make it print text", d.Kind())
	}
	b.Reset()
	if err := et.text.Execute(&b, d); err != nil {
		return "", "", "", err
	}
	text = strings.TrimSpace(b.String()) + "\n"
	b.Reset()
	if err := et.html.Execute(&b, d); err != nil {
		return "", "", "", err
	}
	return subject, text, b.String(), nil
}

func (t *templates) renderSMS(d Data) (string, error) {
	tt, ok := t.sms[d.Kind()]
	if !ok {
		return "", fmt.Errorf("notify: kind %s is not an SMS kind", d.Kind())
	}
	var b strings.Builder
	if err := tt.Execute(&b, d); err != nil {
		return "", err
	}
	body := strings.TrimSpace(b.String())
	if n := utf8.RuneCountInString(body); n > MaxSMSLength {
		return "", fmt.Errorf("%w: the %s SMS is %d characters, the limit is %d: shorten the data or the template", ErrTooLong, d.Kind(), n, MaxSMSLength)
	}
	if body == "" {
		return "", fmt.Errorf("notify: the %s SMS template rendered an empty body: make it print text", d.Kind())
	}
	return body, nil
}

// foldLine turns s into one line: every run of control characters, line
// separators and spaces becomes one space, and the ends are trimmed. A
// subject folded so can never start a new header.
func foldLine(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

func truncate(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	runes := []rune(s)
	return strings.TrimSpace(string(runes[:max-1])) + "…"
}
