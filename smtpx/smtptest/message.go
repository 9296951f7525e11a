package smtptest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
)

// Message is one message the server accepted, as it arrived and parsed.
type Message struct {
	// From is the envelope sender (MAIL FROM), To the envelope
	// recipients (RCPT TO), in order.
	From string
	To   []string
	// UTF8 reports whether the client asked for SMTPUTF8 in MAIL FROM.
	UTF8 bool
	// TLSVersion is the connection's TLS version (tls.VersionTLS13, ...),
	// zero when the message came over a plain connection.
	TLSVersion uint16
	// AuthUser is the username the client authenticated as, if any.
	AuthUser string

	// Raw is the message exactly as received, CRLF line endings and all.
	Raw []byte
	// Header is the parsed header; values are as on the wire (encoded
	// words not decoded). Subject is the decoded Subject.
	Header  mail.Header
	Subject string
	// Text and HTML are the decoded text/plain and text/html bodies
	// (transfer encoding undone, CRLF line endings turned into "\n"),
	// found at the top level or in any multipart part; empty when absent.
	Text string
	HTML string
	// ParseError is why the message could not be parsed, if it could not;
	// the envelope and Raw are still set.
	ParseError error
}

// HeaderValue returns the first value of the named header field with
// encoded words (RFC 2047) decoded; "" when absent.
func (m Message) HeaderValue(name string) string {
	v := m.Header.Get(name)
	dec := new(mime.WordDecoder)
	if d, err := dec.DecodeHeader(v); err == nil {
		return d
	}
	return v
}

func parseMessage(raw []byte) Message {
	m := Message{Raw: raw}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		m.ParseError = fmt.Errorf("smtptest: header: %w", err)
		return m
	}
	m.Header = msg.Header
	m.Subject = m.HeaderValue("Subject")
	if err := m.readPart(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body); err != nil {
		m.ParseError = err
	}
	return m
}

func (m *Message) readPart(contentType, encoding string, body io.Reader) error {
	if contentType == "" {
		contentType = "text/plain; charset=us-ascii"
	}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fmt.Errorf("smtptest: Content-Type %q: %w", contentType, err)
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		r := multipart.NewReader(body, params["boundary"])
		for {
			p, err := r.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("smtptest: %s: %w", mediaType, err)
			}
			err = m.readPart(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p)
			if err != nil {
				return err
			}
		}
	}
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, &skipWhitespace{r: body})
	}
	data, err := io.ReadAll(body)
	if err != nil {
		return fmt.Errorf("smtptest: %s body: %w", mediaType, err)
	}
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	switch mediaType {
	case "text/plain":
		m.Text += text
	case "text/html":
		m.HTML += text
	}
	return nil
}

// skipWhitespace drops the line breaks of a base64 body.
type skipWhitespace struct{ r io.Reader }

func (s *skipWhitespace) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	out := p[:0]
	for _, b := range p[:n] {
		if b != '\r' && b != '\n' && b != ' ' && b != '\t' {
			out = append(out, b)
		}
	}
	return len(out), err
}
