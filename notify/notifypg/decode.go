package notifypg

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"

	"github.com/siteadmin/integrations"
	"github.com/siteadmin/integrations/notify"
)

// decodeMessage decodes a stored message into m. Claim decodes every
// message it leases, and encoding/json's reflection was most of a drain's
// CPU time, so the JSON Enqueue writes (one object of known keys with
// string values) is read by a small scanner; anything else, or anything it
// is unsure of, goes to json.Unmarshal, whose result is the definition
// (FuzzDecodeMessage holds the two to the same answer).
func decodeMessage(raw []byte, m *notify.Message) error {
	var d decoder
	return d.decode(raw, m)
}

// decode is decodeMessage with d's buffer, for a decoder that reads many
// messages.
func (d *decoder) decode(raw []byte, m *notify.Message) error {
	d.b, d.i = raw, 0
	if d.message(m) && d.end() {
		return nil
	}
	*m = notify.Message{}
	return json.Unmarshal(raw, m)
}

// decoder reads JSON from b; every method reports false when the input
// is not what the fast path reads, and the caller falls back.
type decoder struct {
	b   []byte
	i   int
	buf []byte // for unescaping
}

func (d *decoder) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// byte consumes c after optional white space.
func (d *decoder) byte(c byte) bool {
	d.space()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

func (d *decoder) end() bool {
	d.space()
	return d.i == len(d.b)
}

// null consumes a null literal.
func (d *decoder) null() bool {
	d.space()
	if len(d.b)-d.i >= 4 && string(d.b[d.i:d.i+4]) == "null" {
		d.i += 4
		return true
	}
	return false
}

// raw reads a string and returns its bytes, unescaped, valid UTF-8. The
// result may alias d.b or d.buf: copy it before the next call.
func (d *decoder) raw() ([]byte, bool) {
	if !d.byte('"') {
		return nil, false
	}
	start := d.i
	for d.i < len(d.b) {
		switch c := d.b[d.i]; {
		case c == '"':
			s := d.b[start:d.i]
			d.i++
			return s, utf8.Valid(s) // encoding/json would write U+FFFD
		case c == '\\':
			return d.escaped(start)
		case c < 0x20:
			return nil, false
		default:
			d.i++
		}
	}
	return nil, false
}

// escaped finishes a string with escapes that began at start. \u escapes
// (and their surrogate pairs) are left to the fallback.
func (d *decoder) escaped(start int) ([]byte, bool) {
	d.buf = append(d.buf[:0], d.b[start:d.i]...)
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			return d.buf, utf8.Valid(d.buf)
		case c < 0x20:
			return nil, false
		case c != '\\':
			d.buf = append(d.buf, c)
			d.i++
			continue
		}
		if d.i+1 >= len(d.b) {
			return nil, false
		}
		switch e := d.b[d.i+1]; e {
		case '"', '\\', '/':
			d.buf = append(d.buf, e)
		case 'n':
			d.buf = append(d.buf, '\n')
		case 't':
			d.buf = append(d.buf, '\t')
		case 'r':
			d.buf = append(d.buf, '\r')
		case 'b':
			d.buf = append(d.buf, '\b')
		case 'f':
			d.buf = append(d.buf, '\f')
		default:
			return nil, false
		}
		d.i += 2
	}
	return nil, false
}

// str reads a string value.
func (d *decoder) str() (string, bool) {
	s, ok := d.raw()
	return string(s), ok
}

// into reads a string into v; null leaves v as it is, as encoding/json does.
func (d *decoder) into(v *string) bool {
	if d.null() {
		return true
	}
	s, ok := d.str()
	*v = s
	return ok
}

// object reads the start of an object: null (no object), or '{'.
func (d *decoder) object() (isNull, ok bool) {
	if d.null() {
		return true, true
	}
	return false, d.byte('{')
}

// keys walks the keys of an object whose '{' was read. A key given twice
// falls back, since encoding/json then merges into what the first one
// decoded; so do objects of more keys than the fast path knows.
type keys struct {
	started bool
	seen    [8]string
	n       int
}

// next returns the next key, with its ':' read, or done at the '}'.
func (k *keys) next(d *decoder) (key []byte, done, ok bool) {
	if d.byte('}') {
		return nil, true, true
	}
	if k.started && !d.byte(',') {
		return nil, false, false
	}
	k.started = true
	key, ok = d.raw()
	if !ok || !d.byte(':') || k.n == len(k.seen) {
		return nil, false, false
	}
	for _, s := range k.seen[:k.n] {
		if string(key) == s {
			return nil, false, false
		}
	}
	for _, name := range knownKeys {
		if string(key) == name { // kept as the constant: no copy of key
			k.seen[k.n] = name
			k.n++
			return key, false, true
		}
	}
	return nil, false, false
}

// knownKeys are the keys of a stored Message, its Email and its SMS.
var knownKeys = [...]string{"email", "sms", "sensitive", "attempts", "lease", "Kind", "To", "Subject", "Text", "HTML", "Headers", "Key", "Body"}

// fields walks the keys of an object whose '{' was read, calling set for
// each with its ':' read; set reads the value and reports whether it
// could.
func (d *decoder) fields(set func(key []byte) bool) bool {
	var k keys
	for {
		key, done, ok := k.next(d)
		switch {
		case !ok:
			return false
		case done:
			return true
		case !set(key):
			return false
		}
	}
}

func (d *decoder) message(m *notify.Message) bool {
	if isNull, ok := d.object(); isNull || !ok {
		return false
	}
	return d.fields(func(key []byte) (ok bool) {
		switch string(key) {
		case "email":
			m.Email, ok = d.email()
		case "sms":
			m.SMS, ok = d.sms()
		case "sensitive":
			ok = d.secrets(&m.Sensitive)
		case "attempts":
			ok = d.int(&m.Attempts)
		case "lease":
			ok = d.into(&m.Lease)
		}
		return ok
	})
}

func (d *decoder) email() (*notify.Email, bool) {
	if isNull, ok := d.object(); isNull || !ok {
		return nil, ok
	}
	e := &notify.Email{}
	ok := d.fields(func(key []byte) bool {
		switch string(key) {
		case "Kind":
			return d.kind(&e.Kind)
		case "To":
			return d.into(&e.To)
		case "Subject":
			return d.into(&e.Subject)
		case "Text":
			return d.into(&e.Text)
		case "HTML":
			return d.into(&e.HTML)
		case "Key":
			return d.into(&e.Key)
		case "Headers":
			var ok bool
			e.Headers, ok = d.headers()
			return ok
		}
		return false
	})
	return e, ok
}

func (d *decoder) sms() (*notify.SMS, bool) {
	if isNull, ok := d.object(); isNull || !ok {
		return nil, ok
	}
	s := &notify.SMS{}
	ok := d.fields(func(key []byte) bool {
		switch string(key) {
		case "Kind":
			return d.kind(&s.Kind)
		case "To":
			return d.into(&s.To)
		case "Body":
			return d.into(&s.Body)
		case "Key":
			return d.into(&s.Key)
		}
		return false
	})
	return s, ok
}

// kind reads a string into a notify.Kind, as into does.
func (d *decoder) kind(k *notify.Kind) bool {
	s := string(*k)
	ok := d.into(&s)
	*k = notify.Kind(s)
	return ok
}

// headers reads Email.Headers: null, or an object of string values with
// distinct names.
func (d *decoder) headers() (map[string]string, bool) {
	if isNull, ok := d.object(); isNull || !ok {
		return nil, ok
	}
	h := map[string]string{}
	for first := true; ; first = false {
		if d.byte('}') {
			return h, true
		}
		if !first && !d.byte(',') {
			return nil, false
		}
		name, ok := d.str()
		if !ok || !d.byte(':') {
			return nil, false
		}
		if _, dup := h[name]; dup {
			return nil, false
		}
		if h[name], ok = d.str(); !ok {
			return nil, false
		}
	}
}

func (d *decoder) secrets(v *[]integrations.Secret) bool {
	if d.null() {
		*v = nil
		return true
	}
	if !d.byte('[') {
		return false
	}
	out := []integrations.Secret{}
	for first := true; ; first = false {
		if d.byte(']') {
			*v = out
			return true
		}
		if !first && !d.byte(',') {
			return false
		}
		s, ok := d.str()
		if !ok {
			return false
		}
		out = append(out, integrations.Secret(s))
	}
}

// int reads a small non-negative integer, such as attempts; anything else
// (a sign, a fraction, an exponent, a leading zero, many digits) falls
// back.
func (d *decoder) int(v *int) bool {
	d.space()
	n, start := 0, d.i
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		if d.i-start == 9 {
			return false
		}
		n = n*10 + int(d.b[d.i]-'0')
		d.i++
	}
	if d.i == start || d.i-start > 1 && d.b[start] == '0' ||
		d.i < len(d.b) && bytes.IndexByte([]byte(".eE"), d.b[d.i]) >= 0 {
		return false
	}
	*v = n
	return true
}
