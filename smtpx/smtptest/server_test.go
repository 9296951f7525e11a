package smtptest_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/smtpx/smtptest"
)

func start(t *testing.T, cfg smtptest.Config) *smtptest.Server {
	t.Helper()
	srv := smtptest.NewServer(cfg)
	t.Cleanup(srv.Close)
	return srv
}

// dial connects a go-smtp client as cfg's TLS mode expects.
func dial(t *testing.T, srv *smtptest.Server) *smtp.Client {
	t.Helper()
	tlsConfig := &tls.Config{RootCAs: srv.CertPool(), ServerName: "localhost"}
	var c *smtp.Client
	var err error
	switch srv.TLS() {
	case smtptest.StartTLS:
		c, err = smtp.DialStartTLS(srv.Addr(), tlsConfig)
	case smtptest.ImplicitTLS:
		c, err = smtp.DialTLS(srv.Addr(), tlsConfig)
	default:
		c, err = smtp.Dial(srv.Addr())
	}
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func send(c *smtp.Client, from, to, body string) error {
	return c.SendMail(from, []string{to}, strings.NewReader(body))
}

func smtpCode(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

const multipartMessage = "From: a@example.com\r\n" +
	"To: b@example.net\r\n" +
	"Subject: =?utf-8?b?R3LDvMOfZQ==?= and more\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/alternative; boundary=\"XYZ\"\r\n" +
	"\r\n" +
	"--XYZ\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"Gr=C3=BC=C3=9Fe, a long soft=\r\n" +
	"-broken line\r\n" +
	"--XYZ\r\n" +
	"Content-Type: text/html; charset=utf-8\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"PHA+aGk8L3A+\r\n" +
	"--XYZ--\r\n"

func TestCapturesParsedMessages(t *testing.T) {
	t.Parallel()
	for _, mode := range []smtptest.TLSMode{smtptest.StartTLS, smtptest.ImplicitTLS, smtptest.NoTLS} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			srv := start(t, smtptest.Config{TLS: mode})
			c := dial(t, srv)
			require.NoError(t, send(c, "a@example.com", "b@example.net", multipartMessage))

			msgs := srv.Messages()
			require.Len(t, msgs, 1)
			m := msgs[0]
			require.NoError(t, m.ParseError)
			assert.Equal(t, "a@example.com", m.From)
			assert.Equal(t, []string{"b@example.net"}, m.To)
			assert.Equal(t, "Grüße and more", m.Subject)
			assert.Equal(t, "Grüße, a long soft-broken line", m.Text)
			assert.Equal(t, "<p>hi</p>", m.HTML)
			assert.Equal(t, multipartMessage, string(m.Raw))
			assert.Equal(t, "b@example.net", m.Header.Get("To"))
			if mode == smtptest.NoTLS {
				assert.Zero(t, m.TLSVersion)
			} else {
				assert.NotZero(t, m.TLSVersion)
			}
			assert.Equal(t, 1, srv.Connections())

			srv.Reset()
			assert.Empty(t, srv.Messages())
		})
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	srv := start(t, smtptest.Config{Username: "u", Password: "p"})

	c := dial(t, srv)
	ok, mechs := c.Extension("AUTH")
	require.True(t, ok)
	assert.Equal(t, "PLAIN LOGIN", mechs)
	assert.Equal(t, 530, smtpCode(send(c, "a@example.com", "b@example.net", "Subject: x\r\n\r\nx\r\n")), "MAIL needs AUTH")

	c = dial(t, srv)
	assert.Equal(t, 535, smtpCode(c.Auth(sasl.NewPlainClient("", "u", "wrong"))))

	c = dial(t, srv)
	require.NoError(t, c.Auth(sasl.NewPlainClient("", "u", "p")))
	require.NoError(t, send(c, "a@example.com", "b@example.net", "Subject: x\r\n\r\nx\r\n"))

	c = dial(t, srv)
	require.NoError(t, c.Auth(sasl.NewLoginClient("u", "p")), "go-sasl's LOGIN sends the username up front")
	require.NoError(t, send(c, "a@example.com", "b@example.net", "Subject: x\r\n\r\nx\r\n"))

	msgs := srv.Messages()
	require.Len(t, msgs, 2)
	assert.Equal(t, "u", msgs[0].AuthUser)
}

func TestNoAuthBeforeTLS(t *testing.T) {
	t.Parallel()
	srv := start(t, smtptest.Config{Username: "u", Password: "p"})
	c, err := smtp.Dial(srv.Addr())
	require.NoError(t, err)
	defer c.Close()
	ok, _ := c.Extension("STARTTLS")
	assert.True(t, ok)
	ok, _ = c.Extension("AUTH")
	assert.False(t, ok, "AUTH is offered only over TLS")

	insecure := start(t, smtptest.Config{TLS: smtptest.NoTLS, Username: "u", Password: "p", AllowInsecureAuth: true})
	c = dial(t, insecure)
	ok, _ = c.Extension("AUTH")
	assert.True(t, ok)
	ok, _ = c.Extension("STARTTLS")
	assert.False(t, ok)
}

// recordingLogin answers LOGIN challenges in order and keeps them.
type recordingLogin struct {
	answers    []string
	challenges []string
}

func (r *recordingLogin) Start() (string, []byte, error) { return "LOGIN", nil, nil }
func (r *recordingLogin) Next(ch []byte) ([]byte, error) {
	r.challenges = append(r.challenges, string(ch))
	a := r.answers[0]
	r.answers = r.answers[1:]
	return []byte(a), nil
}

func TestLoginPrompts(t *testing.T) {
	t.Parallel()
	for _, prompts := range [][2]string{{}, {"", ""}, {"USER NAME", "PASS WORD"}} {
		srv := start(t, smtptest.Config{Username: "u", Password: "p", Mechanisms: []string{"LOGIN"}, LoginPrompts: prompts})
		c := dial(t, srv)
		l := &recordingLogin{answers: []string{"u", "p"}}
		require.NoError(t, c.Auth(l))
		want := prompts
		if want == [2]string{} {
			want = [2]string{"Username:", "Password:"}
		}
		assert.Equal(t, want[:], l.challenges)
	}
}

func TestFaultsQueueInOrder(t *testing.T) {
	t.Parallel()
	srv := start(t, smtptest.Config{})
	srv.FailNextAt(smtptest.RCPT, 2, smtptest.Temporary)
	srv.FailNextAt(smtptest.RCPT, 1, smtptest.Permanent)
	srv.FailNextAt(smtptest.MAIL, 1, smtptest.Permanent)
	srv.ReplyNext(smtptest.DATA, 1, 452, "4.3.1", "disk full")
	srv.FailNext(1, smtptest.Permanent)
	c := dial(t, srv)

	var codes []int
	for i := 0; i < 6; i++ {
		codes = append(codes, smtpCode(send(c, "a@example.com", "b@example.net", "Subject: x\r\n\r\nx\r\n")))
		_ = c.Reset()
	}
	// MAIL fails first; then RCPT three times; then DATA twice.
	assert.Equal(t, []int{550, 451, 451, 550, 452, 554}, codes)
	assert.Empty(t, srv.Messages())
	require.NoError(t, send(c, "a@example.com", "b@example.net", "Subject: x\r\n\r\nx\r\n"))
	assert.Len(t, srv.Messages(), 1)
}

func TestAuthFaults(t *testing.T) {
	t.Parallel()
	srv := start(t, smtptest.Config{Username: "u", Password: "p"})
	srv.ReplyNext(smtptest.AUTH, 1, 534, "5.7.9", "Authentication mechanism is too weak")
	srv.FailNextAt(smtptest.AUTH, 1, smtptest.Permanent)
	srv.FailNextAt(smtptest.AUTH, 1, smtptest.Temporary)
	for _, want := range []int{534, 535, 451} {
		c := dial(t, srv)
		assert.Equal(t, want, smtpCode(c.Auth(sasl.NewPlainClient("", "u", "p"))))
	}
	c := dial(t, srv)
	require.NoError(t, c.Auth(sasl.NewPlainClient("", "u", "p")), "the faults are used up")
}

func TestDropMidData(t *testing.T) {
	t.Parallel()
	srv := start(t, smtptest.Config{})
	srv.FailNext(1, smtptest.Drop)
	c := dial(t, srv)
	err := send(c, "a@example.com", "b@example.net", "Subject: x\r\n\r\n"+strings.Repeat("line of text\r\n", 10000))
	require.Error(t, err)
	assert.Zero(t, smtpCode(err), "no reply: the connection is gone")
	assert.Empty(t, srv.Messages())
}

func TestStallEndsAtClose(t *testing.T) {
	t.Parallel()
	srv := smtptest.NewServer(smtptest.Config{})
	srv.FailNextAt(smtptest.MAIL, 1, smtptest.Stall)
	c := dial(t, srv)
	done := make(chan error, 1)
	go func() { done <- c.Mail("a@example.com", nil) }()
	require.Eventually(t, func() bool { return srv.OpenConnections() == 1 }, 10*time.Second, time.Millisecond)
	srv.Close() // must not wait for the stalled reply
	assert.Error(t, <-done)
	srv.Close() // twice is fine
}

func TestSlowAnswers(t *testing.T) {
	t.Parallel()
	srv := start(t, smtptest.Config{})
	srv.SetDelay(10 * time.Millisecond)
	c := dial(t, srv)
	start := time.Now()
	require.NoError(t, send(c, "a@example.com", "b@example.net", "Subject: x\r\n\r\nx\r\n"))
	// MAIL, RCPT and DATA each waited; a lower bound only, never a timing upper bound.
	assert.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond)
}

func TestCloseConnections(t *testing.T) {
	t.Parallel()
	srv := start(t, smtptest.Config{})
	c := dial(t, srv)
	require.NoError(t, c.Noop())
	require.Equal(t, 1, srv.OpenConnections())
	srv.CloseConnections()
	assert.Error(t, c.Noop())
	c = dial(t, srv)
	require.NoError(t, c.Noop(), "the server still accepts new connections")
	assert.Equal(t, 2, srv.Connections())
}

func TestLineLengthLimit(t *testing.T) {
	t.Parallel()
	srv := start(t, smtptest.Config{})
	c := dial(t, srv)
	err := send(c, "a@example.com", "b@example.net", "Subject: x\r\n\r\n"+strings.Repeat("x", 999)+"\r\n")
	assert.Error(t, err, "RFC 5321 allows 998 octets before CRLF")
	assert.Empty(t, srv.Messages())

	c = dial(t, srv)
	require.NoError(t, send(c, "a@example.com", "b@example.net", "Subject: x\r\n\r\n"+strings.Repeat("x", 998)+"\r\n"))
}

func TestSMTPUTF8(t *testing.T) {
	t.Parallel()
	srv := start(t, smtptest.Config{})
	c := dial(t, srv)
	require.NoError(t, send(c, "zoë@example.com", "b@example.net", "Subject: x\r\n\r\nx\r\n"))
	assert.True(t, srv.Messages()[0].UTF8)

	off := start(t, smtptest.Config{DisableSMTPUTF8: true})
	c = dial(t, off)
	ok, _ := c.Extension("SMTPUTF8")
	assert.False(t, ok)
}

func TestCACertPEM(t *testing.T) {
	t.Parallel()
	srv := start(t, smtptest.Config{TLS: smtptest.ImplicitTLS})
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(srv.CACertPEM()))
	c, err := smtp.DialTLS(srv.Addr(), &tls.Config{RootCAs: pool})
	require.NoError(t, err)
	require.NoError(t, c.Noop())
	_ = c.Close()
}
