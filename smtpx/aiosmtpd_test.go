package smtpx_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/smtpx"
)

// aiosmtpd is the independent SMTP server of testdata/aiosmtpd_server.py,
// run by the test on loopback.
type aiosmtpd struct {
	port   int
	pool   *x509.CertPool
	outdir string
}

// aiosmtpdMessage is what the server recorded of one message; the
// decoded fields come from Python's email package.
type aiosmtpdMessage struct {
	MailFrom string      `json:"mail_from"`
	RcptTos  []string    `json:"rcpt_tos"`
	TLS      bool        `json:"tls"`
	Login    string      `json:"login"`
	Raw      []byte      `json:"raw"`
	Headers  [][2]string `json:"headers"`
	ReplyTo  [][2]string `json:"reply_to"`
	Text     string      `json:"text"`
	Defects  []string    `json:"defects"`
}

func (m aiosmtpdMessage) header(name string) string {
	for _, h := range m.Headers {
		if strings.EqualFold(h[0], name) {
			return h[1]
		}
	}
	return ""
}

// skipOrFail skips a test whose outside server is missing, and fails it
// under CI (CI=true), where .ci/run installs the server.
func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: .ci/run should have installed it)", msg)
	}
	t.Skip(msg)
}

// aiosmtpdPython finds a Python 3 that can import aiosmtpd: the one on
// PATH, or Debian's, which python3-aiosmtpd installs into.
func aiosmtpdPython(t *testing.T) string {
	t.Helper()
	for _, candidate := range []string{"python3", "/usr/bin/python3"} {
		path, err := exec.LookPath(candidate)
		if err != nil {
			continue
		}
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		err = exec.CommandContext(ctx, path, "-c", "import aiosmtpd").Run()
		cancel()
		if err == nil {
			return path
		}
	}
	skipOrFail(t, "aiosmtpd is not installed: apt-get install python3-aiosmtpd to run this test against an independent SMTP server")
	return ""
}

// startAiosmtpd starts the server with a fresh certificate for 127.0.0.1
// and stops it when the test ends.
func startAiosmtpd(t *testing.T, username, password string) aiosmtpd {
	t.Helper()
	python := aiosmtpdPython(t)
	dir := t.TempDir()
	certFile, keyFile, pool := writeCertificate(t, dir)
	outdir := filepath.Join(dir, "messages")
	require.NoError(t, os.Mkdir(outdir, 0o700))

	cmd := exec.Command(python, filepath.Join("testdata", "aiosmtpd_server.py"), certFile, keyFile, username, password, outdir)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr lockedBuffer // written by the process while the test reads it
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = stdin.Close() // the server exits when its stdin closes
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("aiosmtpd's stderr:\n%s", stderr.String())
		}
	})

	ports := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ports <- strings.TrimSpace(line)
	}()
	select {
	case line := <-ports:
		port, err := strconv.Atoi(line)
		require.NoError(t, err, "aiosmtpd did not start: %q\n%s", line, stderr.String())
		return aiosmtpd{port: port, pool: pool, outdir: outdir}
	case <-time.After(30 * time.Second):
		t.Fatalf("aiosmtpd did not start within 30s:\n%s", stderr.String())
	}
	return aiosmtpd{}
}

// writeCertificate writes a self-signed certificate for 127.0.0.1 and its
// key as PEM files, and returns them with a pool that trusts it.
func writeCertificate(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "aiosmtpd test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600))
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// messages reads what the server recorded, in order of arrival.
func (s aiosmtpd) messages(t *testing.T) []aiosmtpdMessage {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(s.outdir, "*.json"))
	require.NoError(t, err)
	out := make([]aiosmtpdMessage, len(files))
	for i, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(data, &out[i]), f)
	}
	return out
}

// TestAgainstAiosmtpd sends a batch with long and non-ASCII headers to a
// real, independent SMTP server over STARTTLS with AUTH, and checks that
// no line it received passes 998 octets (aiosmtpd itself answers "500
// Line too long" to one) and that Python's email package decodes every
// header and body to what was sent (issue 14).
func TestAgainstAiosmtpd(t *testing.T) {
	t.Parallel()
	const user, password = "app@example.com", "aiosmtpd-Pa55-7c1e"
	srv := startAiosmtpd(t, user, password)

	longName := strings.Repeat("x", 1200)
	words := strings.TrimSpace(strings.Repeat("Support Team ", 120))
	type sent struct {
		subject string
		replyTo []*mail.Address
		note    string
		text    string
		html    string
	}
	batch := []sent{
		{subject: strings.Repeat("Grüße aus Köln, ", 20), replyTo: []*mail.Address{{Name: longName, Address: "help@example.org"}}, text: "one\n"},
		{subject: strings.TrimSpace(strings.Repeat("a plain subject with many words ", 20)), replyTo: []*mail.Address{{Name: words, Address: "a@example.org"}, {Name: "Bob", Address: "b@example.org"}}, text: "two\n"},
		{subject: "Hello\r\nBcc: evil@attacker.test", note: "Привет, мир! " + strings.Repeat("ё", 400), replyTo: []*mail.Address{{Name: strings.Repeat("Zoë Ångström ", 40) + "👋", Address: "zoe@example.org"}}, text: "three\n"},
		{subject: strings.Repeat("w", 900), note: strings.Repeat("n", 900), text: "four\n"},
		{subject: "=?utf-8?q?looks_encoded?= and a tab\there", replyTo: []*mail.Address{{Name: `Doe, "Jane" \ (Support)`, Address: "jane@example.org"}}, text: "five\n", html: "<p>five</p>"},
		{subject: "😀 " + strings.Repeat("絵文字 ", 60), replyTo: []*mail.Address{{Name: "=?utf-8?q?not_decoded?=", Address: "q@example.org"}, {Address: "plain@example.org"}}, text: strings.Repeat("long body line ", 200) + "\n"},
	}

	for _, auth := range []smtpx.Auth{smtpx.AuthPlain, smtpx.AuthLogin} {
		m := newMailer(t, smtpx.Config{
			Settings: smtpx.Settings{
				Enabled: true, Sender: "noreply@example.com", Host: "127.0.0.1", Port: srv.port,
				TLS: smtpx.TLSStartTLS, Authentication: auth, Username: user, Password: password,
			},
			RootCAs: srv.pool,
		})
		for i, s := range batch {
			msg := notify.Email{Kind: notify.KindSystemError, To: "admin@example.net", Subject: s.subject, Text: s.text, HTML: s.html,
				Key: fmt.Sprintf("batch-%s-%d", auth, i), Headers: map[string]string{}}
			if len(s.replyTo) > 0 {
				list := make([]string, len(s.replyTo))
				for j, a := range s.replyTo {
					list[j] = a.String()
				}
				msg.Headers["Reply-To"] = strings.Join(list, ", ")
			}
			if s.note != "" {
				msg.Headers["X-Note"] = s.note
			}
			require.NoError(t, m.SendEmail(t.Context(), msg), "%s message %d", auth, i)
		}
	}

	got := srv.messages(t)
	require.Len(t, got, 2*len(batch))
	for i, r := range got {
		s := batch[i%len(batch)]
		name := fmt.Sprintf("message %d", i)
		assert.True(t, r.TLS, name)
		assert.Equal(t, user, r.Login, name)
		assert.Equal(t, "noreply@example.com", r.MailFrom, name)
		assert.Equal(t, []string{"admin@example.net"}, r.RcptTos, name)
		for n, line := range strings.Split(string(r.Raw), "\r\n") {
			assert.LessOrEqual(t, len(line), 998, "%s, line %d: %.60q", name, n+1, line)
		}
		assert.Empty(t, r.Defects, name)
		assert.Equal(t, s.subject, r.header("Subject"), name)
		assert.Equal(t, s.note, r.header("X-Note"), name)
		replyTo := [][2]string{}
		for _, a := range s.replyTo {
			replyTo = append(replyTo, [2]string{a.Name, a.Address})
		}
		assert.Equal(t, replyTo, r.ReplyTo, name)
		assert.Equal(t, s.text, strings.ReplaceAll(r.Text, "\r\n", "\n"), name)
	}
}

// lockedBuffer is a bytes.Buffer that a child process writes while the
// test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
