package smtpx_test

import (
	"bytes"
	"context"
	"net/mail"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/smtpx"
	"github.com/siteadmin/integrations/smtpx/smtptest"
)

// assertWellFormed checks RFC 5322's line limits and that no header line
// other than the known fields starts a field.
func assertWellFormed(t *testing.T, m smtptest.Message, allowed ...string) {
	t.Helper()
	require.NoError(t, m.ParseError)
	head, _, _ := bytes.Cut(m.Raw, []byte("\r\n\r\n"))
	for _, line := range strings.Split(string(m.Raw), "\r\n") {
		assert.LessOrEqual(t, len(line), 998, "line too long: %.60q", line)
	}
	known := map[string]bool{"Date": true, "From": true, "To": true, "Subject": true, "Message-Id": true,
		"Mime-Version": true, "Content-Type": true, "Content-Transfer-Encoding": true}
	for _, name := range allowed {
		known[name] = true
	}
	for name := range m.Header {
		assert.True(t, known[name], "unexpected header field %q in\n%s", name, head)
	}
	assert.Empty(t, m.Header["Bcc"])
	assert.Empty(t, m.Header["Cc"])
	assert.NotContains(t, string(head), "\r\nBcc:")
}

func TestHeaderInjection(t *testing.T) {
	t.Parallel()
	srv := newServer(t, smtptest.Config{})
	m := newMailer(t, configFor(srv))
	for _, tc := range []struct {
		name    string
		subject string
		headers map[string]string
		allowed []string
	}{
		{"CRLF in subject", "Hello\r\nBcc: evil@attacker.test", nil, nil},
		{"LF in subject", "Hello\nBcc: evil@attacker.test\n\nbody", nil, nil},
		{"CR in subject", "Hello\rBcc: evil@attacker.test", nil, nil},
		{"encoded-word lookalike", "=?utf-8?q?Bcc:_evil@attacker.test?=", nil, nil},
		{"NUL and controls", "a\x00b\x1bc\x7fd", nil, nil},
		{"CRLF in extra header value", "ok", map[string]string{"X-Campaign": "spring\r\nBcc: evil@attacker.test"}, []string{"X-Campaign"}},
		{"folded-looking extra header", "ok", map[string]string{"X-Note": "a\r\n b\r\nBcc: c"}, []string{"X-Note"}},
		{"non-ASCII name in Reply-To", "ok", map[string]string{"Reply-To": "Zoë Ångström <zoe@example.org>"}, []string{"Reply-To"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.Reset()
			msg := email("bob@example.net")
			msg.Subject, msg.Headers = tc.subject, tc.headers
			require.NoError(t, m.SendEmail(context.Background(), msg))
			require.Len(t, srv.Messages(), 1)
			got := srv.Messages()[0]
			assertWellFormed(t, got, tc.allowed...)
			assert.Equal(t, strings.ToValidUTF8(tc.subject, "\uFFFD"), got.Subject)
			assert.Equal(t, []string{"bob@example.net"}, got.To)
			for name, value := range tc.headers {
				if name == "Reply-To" {
					addrs, err := got.Header.AddressList("Reply-To")
					require.NoError(t, err)
					assert.Equal(t, []*mail.Address{{Name: "Zoë Ångström", Address: "zoe@example.org"}}, addrs)
					continue
				}
				assert.Equal(t, value, got.HeaderValue(name))
			}
		})
	}
}

// headerLines returns the header of raw as lines, CRLF removed.
func headerLines(raw []byte) []string {
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	return strings.Split(string(head), "\r\n")
}

// A long Reply-To display name made a header line over 998 octets, which
// a real server refuses ("500 Line too long"); display names are now
// quoted or encoded so that they fold (issue 14, item 2).
func TestReplyToFolds(t *testing.T) {
	t.Parallel()
	srv := newServer(t, smtptest.Config{})
	m := newMailer(t, configFor(srv))
	long := strings.Repeat("x", 1200)
	words := strings.TrimSpace(strings.Repeat("Support Team ", 120))
	tests := []struct {
		name  string
		addrs []*mail.Address
	}{
		{"one long word", []*mail.Address{{Name: long, Address: "help@example.org"}}},
		{"many words", []*mail.Address{{Name: words, Address: "help@example.org"}}},
		{"non-ASCII", []*mail.Address{{Name: strings.Repeat("Zoë Ångström ", 80) + "👋", Address: "zoe@example.org"}}},
		{"specials", []*mail.Address{{Name: `Doe, "Jane" \ (Support) ` + strings.Repeat("q", 100), Address: "jane@example.org"}}},
		{"encoded-word lookalike", []*mail.Address{{Name: "=?utf-8?q?Bcc:_evil@attacker.test?=", Address: "a@example.org"}}},
		{"several", []*mail.Address{{Name: long, Address: "a@example.org"}, {Name: "Bob", Address: "b@example.org"}, {Address: "c@example.org"}, {Name: words, Address: "d@example.org"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.Reset()
			list := make([]string, len(tt.addrs))
			for i, a := range tt.addrs {
				list[i] = a.String()
			}
			msg := email("bob@example.net")
			msg.Headers = map[string]string{"Reply-To": strings.Join(list, ", ")}
			require.NoError(t, m.SendEmail(context.Background(), msg))
			require.Len(t, srv.Messages(), 1)
			got := srv.Messages()[0]
			assertWellFormed(t, got, "Reply-To")
			addrs, err := got.Header.AddressList("Reply-To")
			require.NoError(t, err)
			assert.Equal(t, tt.addrs, addrs)
			inReplyTo := false
			for _, line := range headerLines(got.Raw) {
				if strings.HasPrefix(line, "Reply-To:") {
					inReplyTo = true
				} else if line != "" && line[0] != ' ' {
					inReplyTo = false
				}
				if inReplyTo {
					assert.LessOrEqual(t, len(line), 76, "a Reply-To line: %.80q", line)
				}
			}
		})
	}
}

// Every encoded Subject started with an 81-octet line, past RFC 2047's 76
// for a line holding an encoded word (issue 14, item 3).
func TestEncodedWordLinesWithin76(t *testing.T) {
	t.Parallel()
	srv := newServer(t, smtptest.Config{})
	m := newMailer(t, configFor(srv))
	for _, subject := range []string{"Grüße", strings.Repeat("Привет, мир! ", 30), "a\r\nb", strings.Repeat("é", 45)} {
		srv.Reset()
		msg := email("bob@example.net")
		msg.Subject = subject
		replyTo := &mail.Address{Name: subject, Address: "r@example.org"}
		msg.Headers = map[string]string{"X-Note": subject, "Reply-To": replyTo.String()}
		require.NoError(t, m.SendEmail(context.Background(), msg))
		got := srv.Messages()[0]
		assertWellFormed(t, got, "X-Note", "Reply-To")
		assert.Equal(t, subject, got.Subject)
		assert.Equal(t, subject, got.HeaderValue("X-Note"))
		addrs, err := got.Header.AddressList("Reply-To")
		require.NoError(t, err)
		assert.Equal(t, []*mail.Address{replyTo}, addrs)
		for _, line := range headerLines(got.Raw) {
			if strings.Contains(line, "=?") {
				assert.LessOrEqual(t, len(line), 76, "%q", line)
			}
			if strings.HasPrefix(line, "Subject:") || strings.HasPrefix(line, "X-Note:") {
				// Not "Subject:" CRLF " =?...": Python's email keeps the
				// space before a folded value.
				assert.Regexp(t, `^[A-Za-z-]+: =\?utf-8\?b\?`, line)
			}
		}
	}
}

func TestRefusedMessages(t *testing.T) {
	t.Parallel()
	srv := newServer(t, smtptest.Config{})
	m := newMailer(t, configFor(srv))
	for _, tc := range []struct {
		name    string
		edit    func(*notify.Email)
		problem string
	}{
		{"CRLF in recipient", func(e *notify.Email) { e.To = "bob@example.net\r\nBcc: evil@attacker.test" }, "line breaks"},
		{"display name in recipient", func(e *notify.Email) { e.To = "Bob <bob@example.net>" }, "bare address"},
		{"two recipients", func(e *notify.Email) { e.To = "bob@example.net, eve@example.net" }, "spaces"},
		{"not an address", func(e *notify.Email) { e.To = "bob" }, "not a valid email address"},
		{"overlong address", func(e *notify.Email) { e.To = strings.Repeat("a", 250) + "@example.net" }, "at most 254"},
		{"CRLF in header name", func(e *notify.Email) { e.Headers = map[string]string{"X-A\r\nBcc": "x"} }, "printable ASCII"},
		{"colon in header name", func(e *notify.Email) { e.Headers = map[string]string{"Bcc: evil@x\r\nX-A": "x"} }, "printable ASCII"},
		{"reserved header", func(e *notify.Email) { e.Headers = map[string]string{"bcc": "evil@attacker.test"} }, "cannot be set"},
		{"From override", func(e *notify.Email) { e.Headers = map[string]string{"From": "ceo@example.com"} }, "cannot be set"},
		{"CRLF in Reply-To name", func(e *notify.Email) {
			e.Headers = map[string]string{"Reply-To": "\"Eve\r\nBcc: x@y\" <eve@example.net>"}
		}, "Reply-To"},
		{"no body", func(e *notify.Email) { e.Text, e.HTML = "", "" }, "neither a text nor an HTML body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := email("bob@example.net")
			tc.edit(&msg)
			err := m.SendEmail(context.Background(), msg)
			var e *smtpx.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, smtpx.CodeMessage, e.Code)
			assert.ErrorIs(t, err, smtpx.ErrMessage)
			assert.False(t, e.Temporary())
			assert.Contains(t, err.Error(), tc.problem)
			assert.NotContains(t, err.Error(), "\n", "an error is one line")
		})
	}
	assert.Empty(t, srv.Messages())
}

func TestMessageContent(t *testing.T) {
	t.Parallel()
	srv := newServer(t, smtptest.Config{})
	m := newMailer(t, configFor(srv))
	longWord := strings.Repeat("x", 5000)
	longLine := strings.TrimSpace(strings.Repeat("All work and no play makes Jack a dull boy. ", 300))
	for _, tc := range []struct {
		name            string
		msg             notify.Email
		contentType     string
		text, html, sub string
	}{
		{"text only", notify.Email{Subject: "Hi", Text: "plain\n"}, "text/plain; charset=utf-8", "plain\n", "", "Hi"},
		{"html only", notify.Email{Subject: "Hi", HTML: "<p>hi</p>"}, "text/html; charset=utf-8", "", "<p>hi</p>\n", "Hi"},
		{"both", notify.Email{Subject: "Hi", Text: "plain", HTML: "<p>rich</p>"}, "multipart/alternative", "plain", "<p>rich</p>", "Hi"},
		{"non-ASCII subject and body", notify.Email{Subject: "Привет, Zoë 👋 — 日本語の件名", Text: "Grüße, 世界 ✓\n"},
			"text/plain; charset=utf-8", "Grüße, 世界 ✓\n", "", "Привет, Zoë 👋 — 日本語の件名"},
		{"long subject without spaces", notify.Email{Subject: longWord, Text: "x"}, "text/plain; charset=utf-8", "x\n", "", longWord},
		{"long subject with spaces", notify.Email{Subject: longLine, Text: "x"}, "text/plain; charset=utf-8", "x\n", "", longLine},
		{"long body line", notify.Email{Subject: "s", Text: longWord + "\n" + longLine}, "text/plain; charset=utf-8", longWord + "\n" + longLine + "\n", "", "s"},
		{"dots at line starts", notify.Email{Subject: "s", Text: ".\n..\n.hidden\n"}, "text/plain; charset=utf-8", ".\n..\n.hidden\n", "", "s"},
		{"bare CR and LF line endings", notify.Email{Subject: "s", Text: "a\nb\r\nc"}, "text/plain; charset=utf-8", "a\nb\nc\n", "", "s"},
		{"invalid UTF-8", notify.Email{Subject: "bad \xff byte", Text: "bad \xfe"}, "text/plain; charset=utf-8", "bad \uFFFD\n", "", "bad \uFFFD byte"},
	} {
		// A single-part body ends with the CRLF that closes DATA.
		t.Run(tc.name, func(t *testing.T) {
			srv.Reset()
			msg := tc.msg
			msg.To, msg.Key = "bob@example.net", "k1"
			require.NoError(t, m.SendEmail(context.Background(), msg))
			require.Len(t, srv.Messages(), 1)
			got := srv.Messages()[0]
			assertWellFormed(t, got)
			assert.True(t, isASCII(got.Raw), "the message is 7-bit clean")
			assert.Contains(t, got.Header.Get("Content-Type"), tc.contentType)
			assert.True(t, tc.sub == got.Subject, "subject %.80q", got.Subject)
			assert.True(t, tc.text == got.Text, "text %.80q", got.Text)
			assert.True(t, tc.html == got.HTML, "html %.80q", got.HTML)
			assert.Equal(t, "noreply@example.com", got.Header.Get("From"))
			assert.Equal(t, "bob@example.net", got.Header.Get("To"))
			assert.Equal(t, "1.0", got.Header.Get("MIME-Version"))
			assert.Equal(t, "Fri, 14 Mar 2025 15:09:26 +0000", got.Header.Get("Date"))
			assert.Equal(t, "<k1@example.com>", got.Header.Get("Message-ID"))
		})
	}
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

func TestMessageIDFromKey(t *testing.T) {
	t.Parallel()
	srv := newServer(t, smtptest.Config{})
	m := newMailer(t, configFor(srv))
	ids := map[string]string{}
	for _, key := range []string{"invite-42", "invite:42", "invite 42", "invite\r\n42", "<x>@y", strings.Repeat("k", 500), "ключ"} {
		for attempt := 0; attempt < 2; attempt++ {
			msg := email("bob@example.net")
			msg.Key = key
			require.NoError(t, m.SendEmail(context.Background(), msg))
		}
		msgs := srv.Messages()
		first, second := msgs[len(msgs)-2].Header.Get("Message-ID"), msgs[len(msgs)-1].Header.Get("Message-ID")
		assert.Equal(t, first, second, "every attempt of key %q carries one Message-ID", key)
		assert.Regexp(t, `^<[A-Za-z0-9!#$%&'*+/=?^_{|}~.-]+@example\.com>$`, first)
		assert.LessOrEqual(t, len(first), 200)
		for other, id := range ids {
			assert.NotEqual(t, id, first, "keys %q and %q share a Message-ID", other, key)
		}
		ids[key] = first
	}
	assert.Equal(t, "<invite-42@example.com>", ids["invite-42"])

	// No key: a fresh ID each time.
	msg := email("bob@example.net")
	msg.Key = ""
	require.NoError(t, m.SendEmail(context.Background(), msg))
	require.NoError(t, m.SendEmail(context.Background(), msg))
	msgs := srv.Messages()
	assert.NotEqual(t, msgs[len(msgs)-1].Header.Get("Message-ID"), msgs[len(msgs)-2].Header.Get("Message-ID"))
}

func TestSMTPUTF8(t *testing.T) {
	t.Parallel()
	t.Run("offered", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, smtptest.Config{})
		m := newMailer(t, configFor(srv))
		require.NoError(t, m.SendEmail(context.Background(), email("zoë@exämple.net")))
		got := srv.Messages()[0]
		assert.True(t, got.UTF8)
		assert.Equal(t, []string{"zoë@exämple.net"}, got.To)
		assert.Equal(t, "zoë@exämple.net", got.Header.Get("To"))

		require.NoError(t, m.SendEmail(context.Background(), email("bob@example.net")))
		assert.False(t, srv.Messages()[1].UTF8, "ASCII addresses do not ask for SMTPUTF8")
	})
	t.Run("not offered", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, smtptest.Config{DisableSMTPUTF8: true})
		m := newMailer(t, configFor(srv))
		err := m.SendEmail(context.Background(), email("zoë@exämple.net"))
		var e *smtpx.Error
		require.ErrorAs(t, err, &e)
		assert.Equal(t, smtpx.CodeRejected, e.Code)
		assert.Contains(t, err.Error(), "SMTPUTF8")
		assert.False(t, e.Temporary())
		require.NoError(t, m.SendEmail(context.Background(), email("bob@example.net")))
	})
}
