package notify

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxSubjectLength is the longest subject line, in characters, that the
// Notifier produces; a longer rendered subject is cut and ends with "…".
const MaxSubjectLength = 200

// MaxRenderedSize is the most bytes one template may write for one
// message (a subject, a body). More is an error that names the template:
// a loop in an override, or data far too large for a notification.
const MaxRenderedSize = 1 << 20

// ErrTooLong is returned, wrapped, for an SMS whose rendered body is
// longer than MaxSMSLength characters, or a template that writes more
// than MaxRenderedSize bytes. Nothing is sent.
var ErrTooLong = errors.New("notify: message too long")

func (t *templates) renderEmail(d Data) (subject, text, html string, err error) {
	et, ok := t.email[d.Kind()]
	if !ok {
		return "", "", "", fmt.Errorf("notify: kind %s is not an email kind", d.Kind())
	}
	if subject, err = execute(et.subject, d); err != nil {
		return "", "", "", err
	}
	subject = truncate(foldLine(subject), MaxSubjectLength)
	if subject == "" {
		return "", "", "", fmt.Errorf("notify: the %s subject template rendered an empty subject: make it print text", d.Kind())
	}
	if text, err = execute(et.text, d); err != nil {
		return "", "", "", err
	}
	if html, err = execute(et.html, d); err != nil {
		return "", "", "", err
	}
	return subject, strings.TrimSpace(text) + "\n", html, nil
}

func (t *templates) renderSMS(d Data) (string, error) {
	tt, ok := t.sms[d.Kind()]
	if !ok {
		return "", fmt.Errorf("notify: kind %s is not an SMS kind", d.Kind())
	}
	body, err := execute(tt, d)
	if err != nil {
		return "", err
	}
	body = strings.TrimSpace(body)
	if n := utf8.RuneCountInString(body); n > MaxSMSLength {
		return "", fmt.Errorf("%w: the %s SMS is %d characters, the limit is %d: shorten the data or the template", ErrTooLong, d.Kind(), n, MaxSMSLength)
	}
	if body == "" {
		return "", fmt.Errorf("notify: the %s SMS template rendered an empty body: make it print text", d.Kind())
	}
	return body, nil
}

// template is what text/template and html/template templates share.
type template interface {
	Name() string
	Execute(w io.Writer, data any) error
}

// execute renders t into a string of at most MaxRenderedSize bytes.
func execute(t template, d Data) (string, error) {
	var w cappedWriter
	if err := t.Execute(&w, d); err != nil {
		if errors.Is(err, errCapped) {
			return "", fmt.Errorf("%w: template %s wrote more than %d bytes: shorten the data or fix the template", ErrTooLong, t.Name(), MaxRenderedSize)
		}
		return "", err
	}
	return w.b.String(), nil
}

var errCapped = errors.New("output limit reached")

type cappedWriter struct{ b strings.Builder }

func (w *cappedWriter) Write(p []byte) (int, error) {
	if w.b.Len()+len(p) > MaxRenderedSize {
		return 0, errCapped
	}
	return w.b.Write(p)
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
