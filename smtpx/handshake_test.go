package smtpx_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/smtpx"
)

// handshakeServer listens on loopback and hands each connection, after
// the SMTP dialogue up to "220 Ready to start TLS" when starttls is set,
// to during: what a server does to the client's TLS handshake.
func handshakeServer(t *testing.T, starttls bool, during func(net.Conn)) (host string, port int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				if starttls && !startTLSDialogue(c) {
					return
				}
				during(c)
			}()
		}
	}()
	addr := ln.Addr().(*net.TCPAddr)
	return addr.IP.String(), addr.Port
}

// startTLSDialogue greets, answers EHLO offering STARTTLS, and accepts
// STARTTLS; it reports false if the client went elsewhere.
func startTLSDialogue(c net.Conn) bool {
	r := bufio.NewReader(c)
	_, _ = c.Write([]byte("220 mail.example.com ESMTP\r\n"))
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return false
		}
		switch cmd := strings.ToUpper(strings.TrimSpace(line)); {
		case strings.HasPrefix(cmd, "EHLO"):
			_, _ = c.Write([]byte("250-mail.example.com\r\n250-AUTH PLAIN\r\n250 STARTTLS\r\n"))
		case cmd == "STARTTLS":
			_, _ = c.Write([]byte("220 2.0.0 Ready to start TLS\r\n"))
			return true
		default:
			_, _ = c.Write([]byte("502 5.5.2 not here\r\n"))
		}
	}
}

// readHello reads what the client sent first (its ClientHello).
func readHello(c net.Conn) { _, _ = c.Read(make([]byte, 64<<10)) }

// reset closes c with a TCP RST, as a server that gives up does.
func reset(c net.Conn) {
	_ = c.(*net.TCPConn).SetLinger(0)
	_ = c.Close()
}

// A connection lost during the TLS handshake (an overloaded server closing
// or resetting it) is a network failure, temporary like one on any other
// step; only TLS itself failing (an alert, a certificate, a non-TLS answer)
// is CodeTLS, which no retry cures.
func TestTLSHandshakeInterrupted(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		mode      smtpx.TLSMode
		during    func(net.Conn)
		code      smtpx.Code
		temporary bool
		problem   string
	}{
		{"implicit: closed at once", smtpx.TLSImplicit, func(c net.Conn) { _ = c.Close() },
			smtpx.CodeTemporary, true, "connection was lost during TLS handshake"},
		{"implicit: closed after the ClientHello", smtpx.TLSImplicit, func(c net.Conn) { readHello(c); _ = c.Close() },
			smtpx.CodeTemporary, true, "connection was lost during TLS handshake"},
		{"implicit: reset", smtpx.TLSImplicit, func(c net.Conn) { readHello(c); reset(c) },
			smtpx.CodeTemporary, true, "connection was lost during TLS handshake"},
		{"starttls: closed after 220", smtpx.TLSStartTLS, func(c net.Conn) { _ = c.Close() },
			smtpx.CodeTemporary, true, "connection was lost during TLS handshake"},
		{"starttls: closed after the ClientHello", smtpx.TLSStartTLS, func(c net.Conn) { readHello(c); _ = c.Close() },
			smtpx.CodeTemporary, true, "connection was lost during TLS handshake"},
		{"starttls: reset", smtpx.TLSStartTLS, func(c net.Conn) { readHello(c); reset(c) },
			smtpx.CodeTemporary, true, "connection was lost during TLS handshake"},
		{"implicit: not TLS", smtpx.TLSImplicit, func(c net.Conn) { _, _ = c.Write([]byte("220 mail.example.com ESMTP\r\n")); readHello(c) },
			smtpx.CodeTLS, false, "TLS handshake failed"},
		{"implicit: alert", smtpx.TLSImplicit, func(c net.Conn) { serverAlert(c) },
			smtpx.CodeTLS, false, "TLS handshake failed"},
		{"starttls: alert", smtpx.TLSStartTLS, func(c net.Conn) { serverAlert(c) },
			smtpx.CodeTLS, false, "TLS handshake failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			host, port := handshakeServer(t, tc.mode == smtpx.TLSStartTLS, tc.during)
			m := newMailer(t, smtpx.Config{
				Settings: smtpx.Settings{
					Enabled:        true,
					Sender:         "noreply@example.com",
					Host:           host,
					Port:           port,
					Authentication: smtpx.AuthNone,
					TLS:            tc.mode,
				},
				Timeout: 5 * time.Second,
			})
			err := m.SendEmail(context.Background(), email("bob@example.net"))
			var e *smtpx.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tc.code, e.Code, err.Error())
			assert.Equal(t, tc.temporary, e.Temporary(), err.Error())
			assert.Equal(t, "TLS handshake", e.Command, err.Error())
			assert.Contains(t, err.Error(), tc.problem)
		})
	}
}

// serverAlert answers the ClientHello with a TLS alert: the server
// speaks no TLS version the client accepts.
func serverAlert(c net.Conn) {
	_ = tls.Server(c, &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10}).Handshake()
}
