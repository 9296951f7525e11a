package smtpx

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// quitTimeout bounds the polite QUIT when a connection is let go.
const quitTimeout = 2 * time.Second

// conn is one SMTP connection, ready for MAIL once dialed.
type conn struct {
	dc            *deadlineConn
	client        *smtp.Client
	tlsVersion    uint16 // 0 when not encrypted
	authenticated bool   // AUTH succeeded
	release       func() bool
	timer         *time.Timer // closes the connection when idle too long; guarded by Mailer.mu
}

// dial connects, sets up TLS and authenticates, recording each step in
// rep when it is not nil. On success ctx is bound to the connection
// until c.release is called.
func (m *Mailer) dial(ctx context.Context, rep *TestReport) (*conn, error) {
	s := m.cfg.Settings
	addr := net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	dctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	raw, err := m.cfg.Dial(dctx, "tcp", addr)
	cancel()
	if err != nil {
		if ctxEnded(ctx) {
			return nil, contextError(ctx, "connect", err)
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, &Error{Code: CodeTimeout, Command: "connect", Err: err, temporary: true,
				Problem: fmt.Sprintf("connecting to %s timed out; check Host and Port, and that a firewall does not drop the traffic", addr)}
		}
		return nil, &Error{Code: CodeDial, Command: "connect", Err: err, temporary: true,
			Problem: fmt.Sprintf("cannot connect to %s (%s); check Host and Port, and that the server accepts connections from here", addr, oneLine(err))}
	}
	// Greeting, TLS, EHLO and AUTH share one Timeout: go-smtp's greeting
	// and STARTTLS run before its CommandTimeout can be set.
	hctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()
	c := &conn{dc: &deadlineConn{Conn: raw}}
	release := c.dc.bind(hctx)
	err = m.handshake(hctx, c, addr, rep)
	if !release() && err == nil {
		err = contextError(hctx, "EHLO", nil)
	}
	if err != nil {
		var e *Error
		switch {
		case ctxEnded(ctx) && (!errors.As(err, &e) || (e.Code != CodeTimeout && e.Code != CodeCanceled)):
			err = contextError(ctx, "connect", err)
		case !ctxEnded(ctx) && ctxEnded(hctx) && errors.As(err, &e) && e.Code == CodeTimeout:
			e.Problem = fmt.Sprintf("the server did not answer during %s within %s; check that Host and Port point at an SMTP server and that tls matches the port (starttls on 587, tls on 465)", e.Command, m.cfg.Timeout)
		}
		_ = c.dc.Close()
		return nil, err
	}
	c.release = c.dc.bind(ctx)
	return c, nil
}

func (m *Mailer) handshake(ctx context.Context, c *conn, addr string, rep *TestReport) error {
	s := m.cfg.Settings
	mode := s.tlsMode()
	var err error
	switch mode {
	case TLSImplicit:
		tc := tls.Client(c.dc, m.tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			return m.tlsError(ctx, err)
		}
		rep.step(StepConnect, true, "connected to "+addr)
		c.client = m.newClient(tc)
		if err := c.client.Hello(m.cfg.LocalName); err != nil {
			return failure(ctx, "EHLO", err, "the server refused the connection or its greeting")
		}
	case TLSStartTLS:
		// go-smtp greets, says EHLO and sends STARTTLS in one call; the
		// handshake itself runs with the next command.
		c.client, err = smtp.NewClientStartTLS(c.dc, m.tlsConfig)
		if err != nil {
			if strings.Contains(err.Error(), "doesn't support STARTTLS") {
				rep.step(StepConnect, true, "connected to "+addr)
				return &Error{Code: CodeTLS, Command: "STARTTLS", Err: err,
					Problem: fmt.Sprintf("the server at %s does not offer STARTTLS; set tls to \"tls\" if it expects TLS from the start (usually port 465), or to \"none\" only on a trusted network", addr)}
			}
			return failure(ctx, "STARTTLS", err, "the server refused the connection or STARTTLS")
		}
		rep.step(StepConnect, true, "connected to "+addr)
		c.client.CommandTimeout, c.client.SubmissionTimeout = m.cfg.Timeout, m.cfg.Timeout
		if err := c.client.Hello(m.cfg.LocalName); err != nil {
			if st, ok := c.client.TLSConnectionState(); ok && !st.HandshakeComplete {
				return m.tlsError(ctx, err)
			}
			return failure(ctx, "EHLO", err, "the server refused EHLO after STARTTLS")
		}
	case TLSNone:
		c.client = m.newClient(c.dc)
		if err := c.client.Hello(m.cfg.LocalName); err != nil {
			return failure(ctx, "EHLO", err, "the server refused the connection or its greeting")
		}
		rep.step(StepConnect, true, "connected to "+addr)
	}
	if st, ok := c.client.TLSConnectionState(); ok {
		c.tlsVersion = st.Version
		how := "STARTTLS"
		if mode == TLSImplicit {
			how = "implicit TLS"
		}
		rep.step(StepTLS, true, tls.VersionName(st.Version)+" ("+how+")")
		if rep != nil {
			rep.TLSVersion = tls.VersionName(st.Version)
		}
	} else {
		rep.step(StepTLS, true, "not encrypted: tls is none")
	}
	return m.authenticate(ctx, c, rep)
}

func (m *Mailer) newClient(nc net.Conn) *smtp.Client {
	c := smtp.NewClient(nc)
	c.CommandTimeout, c.SubmissionTimeout = m.cfg.Timeout, m.cfg.Timeout
	return c
}

func (m *Mailer) tlsError(ctx context.Context, err error) error {
	if ctxEnded(ctx) {
		return contextError(ctx, "TLS handshake", err)
	}
	if !tlsProtocolError(err) && networkError(err) {
		// A reset or a closed connection mid-handshake says nothing about
		// the TLS settings (an overloaded server does it): temporary, as
		// on any other step.
		return failure(ctx, "TLS handshake", err, "")
	}
	name := strconv.Quote(m.tlsConfig.ServerName)
	fix := "check that the server speaks TLS on this port (tls on 465, starttls on 587) and that its certificate is valid for " + name
	var hostErr x509.HostnameError
	var authErr x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &hostErr):
		fix = "the server's certificate is not valid for " + name + "; set Host (or Config.ServerName) to a name the certificate carries"
	case errors.As(err, &authErr):
		fix = "the server's certificate is signed by an authority this machine does not trust; if the CA is private, give it in Config.RootCAs"
	case errors.As(err, &invalid):
		fix = "the server's certificate is invalid (" + invalid.Error() + "); renew it on the server"
	}
	return &Error{Code: CodeTLS, Command: "TLS handshake", Err: err,
		Problem: fmt.Sprintf("TLS handshake failed (%s); %s", oneLine(err), fix)}
}

// tlsProtocolError reports whether err is TLS itself failing: a
// certificate that does not verify, an alert from either side, or an
// answer that is not TLS at all. Settings must change to cure these.
func tlsProtocolError(err error) bool {
	var (
		verify  *tls.CertificateVerificationError
		alert   tls.AlertError
		record  tls.RecordHeaderError
		host    x509.HostnameError
		unknown x509.UnknownAuthorityError
		invalid x509.CertificateInvalidError
		op      *net.OpError
	)
	switch {
	case errors.As(err, &verify), errors.As(err, &alert), errors.As(err, &record),
		errors.As(err, &host), errors.As(err, &unknown), errors.As(err, &invalid):
		return true
	case errors.As(err, &op) && (op.Op == "remote error" || op.Op == "local error"):
		// crypto/tls reports an alert the server sent, or one it sent
		// itself, as a *net.OpError with these Ops.
		return true
	}
	return false
}

// networkError reports whether err comes from the connection rather
// than from TLS: end of stream, a reset, a timeout, a closed socket.
func networkError(err error) bool {
	var ne net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.As(err, &ne)
}

// authenticate runs AUTH as the settings ask.
func (m *Mailer) authenticate(ctx context.Context, c *conn, rep *TestReport) error {
	s := m.cfg.Settings
	mode := s.authMode()
	if mode == AuthNone {
		rep.step(StepAuth, true, "skipped: authentication is none")
		return nil
	}
	if c.tlsVersion == 0 && !m.cfg.AllowInsecureAuth {
		// Config validation already refuses this; never send a password
		// in the clear even if that changes.
		return &Error{Code: CodeAuth, Command: "AUTH", Problem: "refusing to send the password over an unencrypted connection"}
	}
	mech, client := sasl.Plain, sasl.NewPlainClient("", s.Username, s.Password.Reveal())
	if mode == AuthLogin {
		mech, client = sasl.Login, &loginClient{username: s.Username, password: s.Password.Reveal()}
	}
	ok, offered := c.client.Extension("AUTH")
	if !ok {
		return &Error{Code: CodeAuth, Command: "AUTH",
			Problem: "the server does not offer authentication on this connection; set authentication to none, or use TLS if it offers AUTH only over TLS"}
	}
	if !c.client.SupportsAuth(mech) {
		return &Error{Code: CodeAuth, Command: "AUTH",
			Problem: fmt.Sprintf("the server does not offer AUTH %s (it offers %s); choose another authentication", mech, printable(offered))}
	}
	if err := c.client.Auth(client); err != nil {
		var se *smtp.SMTPError
		switch {
		case ctxEnded(ctx):
			return contextError(ctx, "AUTH", err)
		case errors.As(err, &se):
			e := (&Error{Code: CodeAuth, Command: "AUTH", Err: err}).withReply(se)
			e.Problem = authRefusal(se.Code, s.Username, mech, c.tlsVersion != 0)
			return e
		case errors.Is(err, sasl.ErrUnexpectedServerChallenge), errors.Is(err, errLoginChallenge):
			return &Error{Code: CodeAuth, Command: "AUTH", Err: err,
				Problem: fmt.Sprintf("the server's AUTH %s exchange was not understood (%v); try the other authentication mechanism", mech, err)}
		}
		var ne net.Error
		if errors.As(err, &ne) || errors.Is(err, net.ErrClosed) {
			return failure(ctx, "AUTH", err, "")
		}
		return &Error{Code: CodeAuth, Command: "AUTH", Err: err,
			Problem: fmt.Sprintf("AUTH %s failed (%s); try the other authentication mechanism", mech, oneLine(err))}
	}
	c.authenticated = true
	rep.step(StepAuth, true, fmt.Sprintf("authenticated as %q with %s", s.Username, mech))
	if rep != nil {
		rep.Authenticated = true
	}
	return nil
}

// authRefusal says what a reply to AUTH means, by its code (RFC 4954
// section 6, RFC 3207 for 530).
func authRefusal(code int, username, mech string, encrypted bool) string {
	switch {
	case code/100 == 4:
		return fmt.Sprintf("the server could not check username %q right now (AUTH %s); a later attempt may succeed", username, mech)
	case code == 535:
		return fmt.Sprintf("the server refused username %q with this password over AUTH %s; check username and password", username, mech)
	case code == 534:
		return fmt.Sprintf("the server refused AUTH %s as too weak, whatever the password; choose the other authentication mechanism, or ask the server's admin which one it accepts", mech)
	case (code == 538 || code == 530) && !encrypted:
		return fmt.Sprintf("the server accepts AUTH %s only over an encrypted connection; set tls to starttls (or tls, usually on port 465)", mech)
	case code == 504:
		return fmt.Sprintf("the server does not accept AUTH %s although it offered it; choose the other authentication mechanism", mech)
	}
	return fmt.Sprintf("the server refused AUTH %s for username %q; its reply says why", mech, username)
}

// authRequired rewrites the problem of a 530 reply ("authentication
// required") during the mail transaction, which failure can only guess:
// after a successful AUTH the cure is not to set up authentication.
func authRequired(e *Error, c *conn, s Settings, from string) *Error {
	if e.Reply != 530 {
		return e
	}
	switch {
	case c.authenticated:
		e.Problem = fmt.Sprintf("the server answered 530 (authentication required) although this connection authenticated as %q; the account may not be allowed to send, or to send as %q: check its rights on the server", s.Username, from)
	case c.tlsVersion == 0 && strings.Contains(strings.ToUpper(e.ServerText), "TLS"):
		e.Code = CodeTLS
		e.Problem = "the server requires an encrypted connection before mail; set tls to starttls (or tls, usually on port 465)"
	}
	return e
}

// deliver runs one mail transaction and returns the server's reply to
// the message.
func (m *Mailer) deliver(ctx context.Context, c *conn, env *envelope) (string, error) {
	var opts *smtp.MailOptions
	if env.utf8 {
		if ok, _ := c.client.Extension("SMTPUTF8"); !ok {
			return "", &Error{Code: CodeRejected, Command: "MAIL",
				Problem: fmt.Sprintf("the message from %q to %q has a non-ASCII address, which needs SMTPUTF8, and the server does not offer it; use ASCII addresses", env.from, env.to)}
		}
		opts = &smtp.MailOptions{UTF8: true}
	}
	s := m.cfg.Settings
	if err := c.client.Mail(env.from, opts); err != nil {
		return "", authRequired(failure(ctx, "MAIL", err, fmt.Sprintf("the server refused sender %q; check that the account may send as this address", env.from)), c, s, env.from)
	}
	if err := c.client.Rcpt(env.to, nil); err != nil {
		return "", authRequired(failure(ctx, "RCPT", err, fmt.Sprintf("the server refused recipient %q", env.to)), c, s, env.from)
	}
	w, err := c.client.Data()
	if err != nil {
		return "", authRequired(failure(ctx, "DATA", err, "the server refused to take the message"), c, s, env.from)
	}
	_ = c.dc.SetDeadline(time.Now().Add(m.cfg.Timeout))
	if _, err := w.Write(env.data); err != nil {
		return "", failure(ctx, "DATA", err, "")
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		return "", failure(ctx, "DATA", err, "the server refused the message")
	}
	return "250 " + strings.ReplaceAll(printable(resp.StatusText), "\n", " / "), nil
}

// quit says QUIT, briefly, and closes the connection.
func (c *conn) quit() {
	_ = c.dc.SetDeadline(time.Now().Add(quitTimeout))
	_ = c.client.Quit()
	_ = c.client.Close()
}

// deadlineConn applies a context's deadline and cancellation to every
// read and write, whatever deadline go-smtp sets for a command: go-smtp
// has no context support, so its per-command deadlines are clamped here.
type deadlineConn struct {
	net.Conn
	mu      sync.Mutex
	limit   time.Time // the bound context's deadline; zero for none
	expired bool      // the bound context ended: fail everything
}

var past = time.Unix(1, 0)

func (d *deadlineConn) clamp(t time.Time) time.Time {
	switch {
	case d.expired:
		return past
	case d.limit.IsZero():
		return t
	case t.IsZero() || d.limit.Before(t):
		return d.limit
	}
	return t
}

func (d *deadlineConn) SetDeadline(t time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.Conn.SetDeadline(d.clamp(t))
}

func (d *deadlineConn) SetReadDeadline(t time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.Conn.SetReadDeadline(d.clamp(t))
}

func (d *deadlineConn) SetWriteDeadline(t time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.Conn.SetWriteDeadline(d.clamp(t))
}

// bind applies ctx to the connection until release is called. release
// reports whether the connection is still usable: false once ctx ended
// while bound, since a command may have been cut off mid-way.
func (d *deadlineConn) bind(ctx context.Context) (release func() bool) {
	d.mu.Lock()
	d.limit, _ = ctx.Deadline()
	_ = d.Conn.SetDeadline(d.clamp(time.Time{}))
	d.mu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		d.expired = true
		_ = d.Conn.SetDeadline(past)
	})
	return func() bool {
		if !stop() {
			return false
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		d.limit = time.Time{}
		if d.expired {
			return false
		}
		_ = d.Conn.SetDeadline(time.Time{})
		return true
	}
}
