package smtpx

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/siteadmin/integrations/notify"
)

const (
	// maxAddressLen is RFC 5321's limit on a path (section 4.5.3.1.3).
	maxAddressLen = 254
	// foldAt is the longest header line written when a space allows it:
	// RFC 2047's limit for a line that holds an encoded word (section 2),
	// within RFC 5322's recommended 78 (section 2.1.1).
	foldAt = 76
	// maxLine is RFC 5322's hard limit on a line, CRLF excluded (section
	// 2.1.1); buildMessage refuses to send a message that passes it.
	maxLine = 998
	// maxWord is the longest run of non-space characters written into a
	// header as is; longer runs are encoded so that the line stays within
	// RFC 5322's hard limit of 998 octets.
	maxWord = 900
	// maxHeaderName bounds an extra header's name, keeping its first line
	// within the limit too.
	maxHeaderName = 76
	// encodedChunk is how many bytes of text one encoded word carries: 45
	// bytes are 60 base64 characters, and "=?utf-8?b?" + 60 + "?=" is 72,
	// within RFC 2047's 75.
	encodedChunk = 45
)

// envelope is a message ready for the wire.
type envelope struct {
	from, to string
	utf8     bool   // an address needs SMTPUTF8
	id       string // the Message-ID, with angle brackets
	data     []byte // the message, CRLF line endings, not dot-stuffed
}

// addressProblem says why s is not a bare address (local@domain, nothing
// else), or returns "".
func addressProblem(s string) string {
	switch {
	case s == "":
		return "is required: an address such as noreply@example.com"
	case strings.ContainsAny(s, "\r\n"):
		return "must not contain line breaks"
	case strings.ContainsAny(s, "<>"):
		return "must be a bare address such as noreply@example.com, without angle brackets or a display name"
	case len(s) > maxAddressLen:
		return fmt.Sprintf("is %d octets long; an address may have at most %d", len(s), maxAddressLen)
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] == 0x7f {
			return "must be a bare address such as noreply@example.com, without spaces, a display name or control characters"
		}
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return fmt.Sprintf("is not a valid email address (%s); use a bare address such as noreply@example.com", strings.TrimPrefix(err.Error(), "mail: "))
	}
	if a.Name != "" || a.Address != s {
		return "must be a bare address such as noreply@example.com, without a display name, comment or quotes"
	}
	return ""
}

// buildMessage checks msg and renders it, From sender, dated now.
func buildMessage(sender string, msg notify.Email, now time.Time) (*envelope, error) {
	if p := addressProblem(msg.To); p != "" {
		return nil, messageError(fmt.Sprintf("recipient %q %s", msg.To, p))
	}
	if msg.Text == "" && msg.HTML == "" {
		return nil, messageError("the message has neither a text nor an HTML body")
	}
	env := &envelope{
		from: sender,
		to:   msg.To,
		utf8: !isASCII(sender) || !isASCII(msg.To),
		id:   "<" + messageID(msg.Key, sender) + ">",
	}
	var b bytes.Buffer
	b.Grow(512 + len(msg.Text)*11/10 + len(msg.HTML)*11/10)
	writeField(&b, "Date", now.Format(time.RFC1123Z))
	writeField(&b, "From", sender)
	writeField(&b, "To", msg.To)
	writeField(&b, "Subject", encodeText("Subject", msg.Subject))
	writeField(&b, "Message-ID", env.id)
	writeField(&b, "MIME-Version", "1.0")
	utf8Header, err := writeExtraHeaders(&b, msg.Headers)
	if err != nil {
		return nil, err
	}
	env.utf8 = env.utf8 || utf8Header
	writeBody(&b, msg.Text, msg.HTML)
	env.data = b.Bytes()
	if err := checkLines(env.data); err != nil {
		return nil, err
	}
	return env, nil
}

// checkLines makes sure no line of data passes maxLine. The rest of this
// file keeps to it; should it ever fail to, the message is refused here as
// smtpx's fault, rather than sent for the server to refuse ("500 Line too
// long") and reported as the server's.
func checkLines(data []byte) error {
	for n := 1; len(data) > 0; n++ {
		line, rest, _ := bytes.Cut(data, []byte("\r\n"))
		if len(line) > maxLine {
			name, _, _ := bytes.Cut(line, []byte(":"))
			return messageError(fmt.Sprintf("smtpx built line %d, of field %.40q, with %d octets, over RFC 5322's limit of %d; this is a bug in smtpx, please report it", n, name, len(line), maxLine))
		}
		data = rest
	}
	return nil
}

// messageID derives the Message-ID's content (without brackets) from the
// idempotency key, so every attempt to deliver one message carries the
// same ID. A key that is a valid dot-atom is used as is; any other key
// is hashed, which keeps distinct keys distinct.
func messageID(key, sender string) string {
	domain := sender[strings.LastIndexByte(sender, '@')+1:]
	if !isDotAtom(domain) {
		domain = "localhost"
	}
	switch {
	case key == "":
		var r [16]byte
		_, _ = rand.Read(r[:])
		key = hex.EncodeToString(r[:])
	case len(key) > 128 || !isDotAtom(key):
		sum := sha256.Sum256([]byte(key))
		key = hex.EncodeToString(sum[:])
	}
	return key + "@" + domain
}

// isDotAtom reports whether s is an RFC 5322 dot-atom-text of ASCII.
func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.':
		case strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// reservedHeader reports whether smtpx writes the named field itself, so
// that notify.Email.Headers may not set it.
func reservedHeader(name string) bool {
	switch textproto.CanonicalMIMEHeaderKey(name) {
	case "Date", "From", "Sender", "To", "Cc", "Bcc", "Subject", "Message-Id",
		"Mime-Version", "Content-Type", "Content-Transfer-Encoding", "Return-Path":
		return true
	}
	return false
}

// headerNameProblem says why name cannot be a header field name (RFC 5322
// section 3.6.8), or returns "".
func headerNameProblem(name string) string {
	switch {
	case name == "":
		return "is empty"
	case len(name) > maxHeaderName:
		return fmt.Sprintf("is longer than %d characters", maxHeaderName)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 33 || c > 126 || c == ':' {
			return "must be printable ASCII without spaces, colons or line breaks"
		}
	}
	if reservedHeader(name) {
		return "is written by smtpx from the message and settings and cannot be set"
	}
	return ""
}

// writeExtraHeaders writes headers sorted by name, and reports whether
// any holds a raw UTF-8 address (which needs SMTPUTF8).
func writeExtraHeaders(b *bytes.Buffer, headers map[string]string) (bool, error) {
	names := make([]string, 0, len(headers))
	for name := range headers {
		names = append(names, name)
	}
	sort.Strings(names)
	needUTF8 := false
	for _, name := range names {
		if p := headerNameProblem(name); p != "" {
			return false, messageError(fmt.Sprintf("header name %q %s", name, p))
		}
		value := headers[name]
		if textproto.CanonicalMIMEHeaderKey(name) == "Reply-To" {
			list, err := formatAddressList(value)
			if err != nil {
				return false, messageError(fmt.Sprintf("header Reply-To %q is not a valid address list: %v", value, err))
			}
			needUTF8 = needUTF8 || !isASCII(list)
			writeField(b, name, list)
			continue
		}
		writeField(b, name, encodeText(name, value))
	}
	return needUTF8, nil
}

// formatAddressList re-renders an address list, each display name
// quoted or encoded so that writeField can fold it (see formatAddress).
func formatAddressList(v string) (string, error) {
	addrs, err := mail.ParseAddressList(v)
	if err != nil {
		return "", err
	}
	parts := make([]string, len(addrs))
	for i, a := range addrs {
		if p := addressProblem(a.Address); p != "" {
			return "", fmt.Errorf("address %q %s", a.Address, p)
		}
		parts[i] = formatAddress(a)
	}
	return strings.Join(parts, ", "), nil
}

// formatAddress renders a as "name <address>". A display name of plain
// words that each fit on a folded line stays readable, as a quoted
// string (where folding is allowed, RFC 5322 section 3.2.4); any other
// (non-ASCII, control characters, a word too long to fold) becomes RFC
// 2047 encoded words, which fold between them. Only the address itself,
// at most maxAddressLen octets, may then pass foldAt.
func formatAddress(a *mail.Address) string {
	angle := (&mail.Address{Address: a.Address}).String()
	if a.Name == "" {
		return angle
	}
	if isPlainText(a.Name) {
		quoted := (&mail.Address{Name: a.Name, Address: a.Address}).String()
		name := strings.TrimSuffix(quoted, " "+angle)
		if longestWord(name) < foldAt {
			return quoted
		}
	}
	return encodeWords(a.Name, 0) + " " + angle
}

// longestWord returns the length of the longest run of s without a space.
func longestWord(s string) int {
	longest := 0
	for _, w := range strings.Split(s, " ") {
		longest = max(longest, len(w))
	}
	return longest
}

// encodeText makes v safe as the unstructured value of the field name
// (RFC 5322 section 3.2.5). Plain words of printable ASCII separated by
// single spaces are kept as is; anything else (CR and LF included, and
// spacing that folding or parsers would change) becomes RFC 2047 encoded
// words, so it can never start a new header line and decodes to v
// exactly. The first encoded word is made short enough to share the
// name's line within foldAt: folding before it instead would put a space
// before the value, which some parsers (Python's email) keep.
func encodeText(name, v string) string {
	if isPlainText(v) {
		return v
	}
	return encodeWords(v, foldAt-len(name)-len(": "))
}

func isPlainText(v string) bool {
	if v == "" {
		return true
	}
	if strings.Contains(v, "=?") || strings.Contains(v, "  ") || v[0] == ' ' || v[len(v)-1] == ' ' {
		return false // read as an encoded word, or spacing that unfolding would change
	}
	run := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < ' ' || c > '~' {
			return false
		}
		if c == ' ' {
			run = 0
		} else if run++; run > maxWord {
			return false
		}
	}
	return true
}

// encodeWords encodes v as UTF-8 "B" encoded words (RFC 2047 section 4.1)
// separated by spaces, which decoders drop between encoded words. Each
// word carries whole characters; invalid UTF-8 becomes U+FFFD. The first
// word is at most first octets long when that leaves room for a
// character; 0 means no limit but RFC 2047's.
func encodeWords(v string, first int) string {
	v = strings.ToValidUTF8(v, "\uFFFD")
	var b strings.Builder
	b.Grow(len(v)*4/3 + (len(v)/encodedChunk+1)*13)
	for len(v) > 0 {
		chunk := encodedChunk
		if room := (first - len("=?utf-8?b??=")) / 4 * 3; b.Len() == 0 && room >= utf8.UTFMax {
			chunk = min(chunk, room)
		}
		n := len(v)
		if n > chunk {
			n = chunk
			for n > 0 && !utf8.RuneStart(v[n]) {
				n--
			}
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("=?utf-8?b?")
		b.WriteString(base64.StdEncoding.EncodeToString([]byte(v[:n])))
		b.WriteString("?=")
		v = v[n:]
	}
	return b.String()
}

// writeField writes "name: value" CRLF, folding at spaces so that lines
// stay within foldAt octets where a space allows it; before the first
// word only when that makes the word fit ("Reply-To:" CRLF
// " =?utf-8?b?...?="), since a parser may keep the space before a folded
// value. The caller guarantees value has no CR, LF or word longer than
// maxWord.
func writeField(b *bytes.Buffer, name, value string) {
	b.WriteString(name)
	b.WriteString(":")
	first := len(name) + 1
	line := first
	for {
		word, rest, more := strings.Cut(value, " ")
		if word != "" && line+1+len(word) > foldAt && (line > first || 1+len(word) <= foldAt) {
			b.WriteString("\r\n")
			line = 0
		}
		b.WriteByte(' ')
		b.WriteString(word)
		line += 1 + len(word)
		if !more {
			break
		}
		value = rest
	}
	b.WriteString("\r\n")
}

// writeBody writes the Content-Type and the body: one quoted-printable
// UTF-8 part, or multipart/alternative with text first when both exist.
func writeBody(b *bytes.Buffer, text, html string) {
	if text == "" || html == "" {
		mediaType, body := "text/plain", text
		if text == "" {
			mediaType, body = "text/html", html
		}
		writeField(b, "Content-Type", mediaType+"; charset=utf-8")
		writeField(b, "Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		writeQuotedPrintable(b, body)
		return
	}
	mw := multipart.NewWriter(b)
	writeField(b, "Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()}))
	b.WriteString("\r\n")
	for _, part := range [2]struct{ mediaType, body string }{{"text/plain", text}, {"text/html", html}} {
		w, _ := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.mediaType + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		writeQuotedPrintable(w, part.body)
	}
	_ = mw.Close()
}

// writeQuotedPrintable encodes body as quoted-printable: lines of at most
// 76 octets with CRLF endings, whatever the input's line endings.
func writeQuotedPrintable(w io.Writer, body string) {
	qp := quotedprintable.NewWriter(w)
	_, _ = io.WriteString(qp, strings.ToValidUTF8(body, "\uFFFD"))
	_ = qp.Close()
}
