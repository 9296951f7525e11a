package smtpx

import (
	"bytes"
	"mime"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/notify"
)

// assertLines checks RFC 5322's 998-octet limit and that only CRLF ends
// a line.
func assertLines(t *testing.T, data []byte) {
	t.Helper()
	for _, line := range bytes.Split(data, []byte("\r\n")) {
		assert.LessOrEqual(t, len(line), 998)
		assert.NotContains(t, string(line), "\r")
		assert.NotContains(t, string(line), "\n")
	}
}

func FuzzHeaderText(f *testing.F) {
	for _, seed := range []string{
		"", "Hello", "Hello\r\nBcc: evil@attacker.test", "a\nb", "a\rb", "=?utf-8?q?x?=", " lead", "trail ", "a  b",
		"tab\there", "Привет, Zoë 👋", "\xff\xfe", strings.Repeat("x", 2000), strings.Repeat("word ", 400),
		strings.Repeat(" ", 1200), "a\x00b",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		var b bytes.Buffer
		writeField(&b, "Subject", encodeText("Subject", v))
		b.WriteString("\r\n")
		assertLines(t, b.Bytes())
		msg, err := mail.ReadMessage(&b)
		require.NoError(t, err, "%q", b.String())
		require.Len(t, msg.Header, 1, "one value became several fields: %q", msg.Header)
		got, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		require.NoError(t, err)
		assert.Equal(t, strings.ToValidUTF8(v, "\uFFFD"), got)
		for _, line := range strings.Split(b.String(), "\r\n") {
			if strings.Contains(line, "=?") {
				assert.LessOrEqual(t, len(line), 76, "RFC 2047's limit for a line with an encoded word: %q", line)
			}
		}
	})
}

// FuzzReplyTo checks that an address list is re-rendered within the line
// limits (76 octets but for a long address, which cannot fold; never over
// 998) and parses back to the same names and addresses.
func FuzzReplyTo(f *testing.F) {
	for _, seed := range []string{
		"Bob <bob@example.net>", "bob@example.net", strings.Repeat("x", 1200) + " <a@b.c>",
		"\"" + strings.Repeat("Support Team ", 100) + "\" <help@example.org>", "Zoë <zoe@example.org>, Ann <ann@example.org>",
		"=?utf-8?q?Z=C3=B6e?= <z@example.org>", `"a \\ \"b\"" <q@example.org>`, "<" + strings.Repeat("l", 240) + "@example.org>",
		"=?utf-8?b?" + strings.Repeat("QUFB", 300) + "?= <a@b.c>", `"Eve\r\nBcc: x" <e@x.y>`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		want, err := mail.ParseAddressList(v)
		if err != nil {
			return
		}
		list, err := formatAddressList(v)
		if err != nil {
			return // an address smtpx refuses
		}
		var b bytes.Buffer
		writeField(&b, "Reply-To", list)
		b.WriteString("\r\n")
		for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\r\n\r\n"), "\r\n") {
			if len(line) > 76 {
				assert.Regexp(t, `^(Reply-To:)? ?<[^ ]+>,?$`, line, "only a lone long address may pass 76 octets")
			}
		}
		msg, err := mail.ReadMessage(&b)
		require.NoError(t, err, "%q", b.String())
		got, err := msg.Header.AddressList("Reply-To")
		require.NoError(t, err, "%q", b.String())
		for _, a := range want {
			a.Name = strings.ToValidUTF8(a.Name, "\uFFFD") // as encodeWords writes it
		}
		assert.Equal(t, want, got)
	})
}

func FuzzAddress(f *testing.F) {
	for _, seed := range []string{
		"bob@example.net", "Bob <bob@example.net>", "<bob@example.net>", "bob@example.net\r\nBcc: x@y",
		"zoë@exämple.net", `"bob smith"@example.net`, "bob@[127.0.0.1]", "bob@example.net (comment)",
		"a@b,c@d", "", "@", "bob", "bob@", strings.Repeat("a", 300) + "@x.y", "a\x00@b.c",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if addressProblem(s) != "" {
			return
		}
		assert.False(t, strings.ContainsAny(s, "\r\n <>,\t\x00"), "%q accepted", s)
		assert.LessOrEqual(t, len(s), maxAddressLen)
		a, err := mail.ParseAddress(s)
		require.NoError(t, err)
		assert.Equal(t, s, a.Address)
		var b bytes.Buffer
		writeField(&b, "To", s)
		b.WriteString("\r\n")
		msg, err := mail.ReadMessage(&b)
		require.NoError(t, err)
		require.Len(t, msg.Header, 1)
		assert.Equal(t, s, msg.Header.Get("To"))
	})
}

func FuzzLoginPrompt(f *testing.F) {
	for _, seed := range []string{
		"Username:", "USERNAME:", "username", "User Name", "Password:", "PASSWORD:", "password", "",
		"VXNlcm5hbWU6", "UGFzc3dvcmQ6", "Benutzername:", "Passwort:", "Username and password", "\x00", "Who are you?",
	} {
		f.Add([]byte(seed), 0)
		f.Add([]byte(seed), 1)
	}
	f.Add([]byte("Password:"), 2)
	f.Fuzz(func(t *testing.T, challenge []byte, step int) {
		p, err := loginPrompt(challenge, step)
		if step < 0 || step > 1 {
			if step > 1 {
				assert.ErrorIs(t, err, errLoginChallenge)
			}
			return
		}
		require.NoError(t, err)
		assert.Contains(t, []prompt{promptUsername, promptPassword}, p)
		lower := strings.ToLower(string(challenge))
		switch {
		case strings.Contains(lower, "pass") && !strings.Contains(lower, "user") && !strings.Contains(lower, "name") && !strings.Contains(lower, "login") && !strings.Contains(lower, "account") && !strings.Contains(lower, "benutzer") && !strings.Contains(lower, "utilisateur") && !strings.Contains(lower, "usuario"):
			assert.Equal(t, promptPassword, p, "a password prompt never gets the username")
		case strings.HasPrefix(lower, "username") && !strings.Contains(lower, "pass"):
			assert.Equal(t, promptUsername, p, "a username prompt never gets the password")
		}
	})
}

func FuzzBuildMessage(f *testing.F) {
	f.Add("bob@example.net", "Hello", "text", "<p>html</p>", "X-Tag", "value", "key-1")
	f.Add("bob@example.net", "Hi\r\nBcc: evil@attacker.test", "a\r\n.\r\nb", "", "X-A", "b\r\nBcc: c", "k")
	f.Add("bob@example.net", "Привет", "Grüße", "", "Reply-To", "Zoë <zoe@example.org>", "ключ")
	f.Add("bob@example.net", "s", "t", "", "Reply-To", "\"Eve\r\nBcc: x\" <e@x.y>", "")
	f.Add("zoë@exämple.net", strings.Repeat("x", 3000), strings.Repeat("y", 3000), "", "X-Long", strings.Repeat("z ", 700), "k")
	f.Add("bob@example.net", "s", "", "", "Bcc", "evil@attacker.test", "k")
	f.Add("bob@example.net", "s", "t", "", "Reply-To", strings.Repeat("x", 1200)+" <a@b.c>", "k")
	f.Add("bob@example.net", "s", "t", "", "Reply-To", "\""+strings.Repeat("word ", 300)+"\" <a@b.c>", "k")
	f.Fuzz(func(t *testing.T, to, subject, text, html, hname, hvalue, key string) {
		msg := notify.Email{To: to, Subject: subject, Text: text, HTML: html, Key: key,
			Headers: map[string]string{hname: hvalue}}
		env, err := buildMessage("noreply@example.com", msg, time.Unix(0, 0))
		if err != nil {
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, CodeMessage, e.Code)
			return
		}
		assertLines(t, env.data)
		parsed, err := mail.ReadMessage(bytes.NewReader(env.data))
		require.NoError(t, err)
		want := map[string]bool{"Date": true, "From": true, "To": true, "Subject": true, "Message-Id": true,
			"Mime-Version": true, "Content-Type": true, "Content-Transfer-Encoding": true}
		for name := range parsed.Header {
			if !want[name] {
				assert.Equal(t, strings.ToLower(hname), strings.ToLower(name), "unexpected field %q", name)
			}
		}
		assert.Len(t, parsed.Header["To"], 1)
		assert.Equal(t, to, parsed.Header.Get("To"))
		assert.Equal(t, env.id, parsed.Header.Get("Message-ID"))
	})
}

// checkLines is the last guard: a line that smtpx built too long is
// refused as smtpx's fault, never sent for the server to refuse.
func TestCheckLines(t *testing.T) {
	t.Parallel()
	ok := "Subject: " + strings.Repeat("x", 989) + "\r\n\r\nbody\r\n"
	assert.NoError(t, checkLines([]byte(ok)))
	long := "Subject: hi\r\nReply-To: " + strings.Repeat("x", 989) + "\r\n\r\nbody\r\n"
	err := checkLines([]byte(long))
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, CodeMessage, e.Code)
	assert.False(t, e.Temporary())
	assert.Contains(t, err.Error(), `line 2, of field "Reply-To", with 999 octets`)
	assert.Contains(t, err.Error(), "bug in smtpx")
}
