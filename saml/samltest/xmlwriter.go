package samltest

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// xmlWriter builds XML text. It escapes every value and remembers the first
// value that XML cannot carry.
type xmlWriter struct {
	b   strings.Builder
	err error
}

func (w *xmlWriter) raw(s string) { w.b.WriteString(s) }

// text writes s as element content.
func (w *xmlWriter) text(s string) { w.check(s); writeEscaped(&w.b, s, false) }

// attr writes ` name="value"`, or nothing when value is Omit.
func (w *xmlWriter) attr(name, value string) {
	if value == Omit {
		return
	}
	w.check(value)
	w.b.WriteString(" " + name + `="`)
	writeEscaped(&w.b, value, true)
	w.b.WriteByte('"')
}

// optAttr is attr that also leaves out an empty value.
func (w *xmlWriter) optAttr(name, value string) {
	if value != "" {
		w.attr(name, value)
	}
}

// timeAttr writes a time attribute, or nothing for OmitTime.
func (w *xmlWriter) timeAttr(name string, t time.Time) {
	if !t.Equal(OmitTime()) {
		w.attr(name, formatTime(t))
	}
}

// element writes <tag attrs>text</tag>, or nothing when text is Omit.
func (w *xmlWriter) element(tag, attrs, text string) {
	if text == Omit {
		return
	}
	w.raw("<" + tag + attrs + ">")
	w.text(text)
	w.raw("</" + tag + ">")
}

func (w *xmlWriter) check(s string) {
	if w.err != nil {
		return
	}
	if !utf8.ValidString(s) {
		w.err = fmt.Errorf("samltest: value %q is not valid UTF-8", s)
		return
	}
	for _, r := range s {
		if !isXMLChar(r) {
			w.err = fmt.Errorf("samltest: value %q holds %U, which XML 1.0 cannot carry", s, r)
			return
		}
	}
}

func isXMLChar(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' ||
		(r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}

// writeEscaped writes s escaped for element content, or for a double-quoted
// attribute value when attr is set (where tab, CR and LF become character
// references, so that attribute normalization keeps them).
func writeEscaped(b *strings.Builder, s string, attr bool) {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '"':
			if !attr {
				continue
			}
			esc = "&quot;"
		case '\r':
			esc = "&#xD;"
		case '\n':
			if !attr {
				continue
			}
			esc = "&#xA;"
		case '\t':
			if !attr {
				continue
			}
			esc = "&#x9;"
		default:
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(esc)
		last = i + 1
	}
	b.WriteString(s[last:])
}

// formatTime writes t in UTC as SAML's xs:dateTime: whole seconds when t
// has no fraction, else milliseconds (the fraction is truncated).
func formatTime(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond() == 0 {
		return t.Format("2006-01-02T15:04:05Z")
	}
	return t.Format("2006-01-02T15:04:05.000Z")
}

// encrypted writes inner's XML encrypted with e, wrapped in tag.
func (w *xmlWriter) encrypted(tag string, e *Encryption, inner *xmlWriter) {
	if inner.err != nil {
		w.err = inner.err
		return
	}
	enc, err := e.encrypt([]byte(inner.b.String()))
	if err != nil {
		w.err = err
		return
	}
	w.raw("<" + tag + ">" + enc + "</" + tag + ">")
}
