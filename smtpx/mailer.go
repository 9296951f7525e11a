package smtpx

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/siteadmin/integrations/notify"
)

// Config is everything a Mailer needs: the admin's Settings and the
// host's choices. Zero values mean the documented defaults.
type Config struct {
	// Settings are the admin's SMTP settings.
	Settings Settings
	// RootCAs are the CAs trusted for the server's certificate; nil means
	// the system's.
	RootCAs *x509.CertPool
	// ServerName is the name the server's certificate must carry; empty
	// means Settings.Host.
	ServerName string
	// AllowInsecureAuth permits AUTH (and so the password) over a
	// connection with tls none. Set it only for a server on a trusted
	// network; by default such settings are refused.
	AllowInsecureAuth bool
	// Timeout bounds connecting and each SMTP command, and the context's
	// deadline bounds them too; zero means 30 seconds.
	Timeout time.Duration
	// IdleTimeout is how long a connection stays open after a message,
	// waiting for the next one; zero means 15 seconds, and a negative
	// value closes the connection after every message.
	IdleTimeout time.Duration
	// MaxConns caps the connections open at once; more concurrent sends
	// wait for one. Zero means 2.
	MaxConns int
	// LocalName is the name given in EHLO; empty means "localhost". (On a
	// STARTTLS connection the EHLO before STARTTLS always says
	// "localhost"; go-smtp sends it.)
	LocalName string
	// Dial opens the TCP connection; nil means a net.Dialer.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
	// Now is the clock for the Date header; nil means time.Now.
	Now func() time.Time
	// Logger receives a line per connection and per message (never the
	// password nor the message body); nil means silent.
	Logger *slog.Logger
}

// Validate returns every problem with the settings and their combination
// with the host's choices, as an errors.Join of *FieldError, or nil.
func (c Config) Validate() error {
	errs := []error{c.Settings.Validate()}
	s := c.Settings
	if s.Enabled && s.TLS == TLSNone && s.authMode() != AuthNone && !c.AllowInsecureAuth {
		errs = append(errs, &FieldError{Field: "tls",
			Problem: "is none, so the password would cross the network unencrypted; use starttls or tls (or, on a trusted network only, the host's AllowInsecureAuth)"})
	}
	if strings.ContainsAny(c.LocalName, " \t\r\n") {
		errs = append(errs, &FieldError{Field: "local-name", Problem: "must be a host name without spaces or line breaks"})
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 15 * time.Second
	}
	if c.MaxConns <= 0 {
		c.MaxConns = 2
	}
	if c.LocalName == "" {
		c.LocalName = "localhost"
	}
	if c.Dial == nil {
		c.Dial = (&net.Dialer{}).DialContext
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Mailer is a notify.Mailer that sends over SMTP. It keeps connections
// open between messages (see Config.IdleTimeout), so a batch goes over
// one connection, and is safe for concurrent use. Close it when done.
type Mailer struct {
	cfg       *Config // a pointer, so that even a copy of a Mailer never prints the password
	tlsConfig *tls.Config
	scrub     *strings.Replacer // takes the password out of the server's replies; nil without one

	mu     sync.Mutex
	idle   []*conn       // connections waiting for a message, newest last
	open   int           // idle and busy connections
	wake   chan struct{} // closed when a connection is returned or closed
	closed bool
}

var _ notify.Mailer = (*Mailer)(nil)

// NewMailer checks cfg and returns a Mailer. It does not connect: the
// first message does. Invalid settings give an *Error with Code
// CodeSettings wrapping every *FieldError.
func NewMailer(cfg Config) (*Mailer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, settingsError(err)
	}
	cfg = cfg.withDefaults()
	name := cfg.ServerName
	if name == "" {
		name = cfg.Settings.Host
	}
	return &Mailer{
		cfg:       &cfg,
		tlsConfig: &tls.Config{ServerName: name, RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12},
		scrub:     passwordScrubber(cfg.Settings),
		wake:      make(chan struct{}),
	}, nil
}

// SendEmail sends msg From the settings' sender (also the envelope
// sender) to msg.To. Its Message-ID comes from msg.Key, so every attempt
// to send one message carries the same ID. ctx bounds connecting and
// every command. Errors are *Error, with Temporary() saying whether to
// retry.
func (m *Mailer) SendEmail(ctx context.Context, msg notify.Email) error {
	_, err := m.send(ctx, msg, nil)
	return err
}

// sent is what the server said to a delivered message.
type sent struct {
	id, reply string
}

func (m *Mailer) send(ctx context.Context, msg notify.Email, rep *TestReport) (*sent, error) {
	if !m.cfg.Settings.Enabled {
		return nil, &Error{Code: CodeSettings, Err: ErrDisabled, Problem: ErrDisabled.Error() + "; enable it to send"}
	}
	env, err := buildMessage(m.cfg.Settings.Sender, msg, m.cfg.Now())
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		c, reused, err := m.get(ctx, rep)
		if err != nil {
			err = scrub(m.scrub, err)
			m.logFailure(ctx, env, err)
			return nil, err
		}
		reply, err := m.deliver(ctx, c, env)
		err = scrub(m.scrub, err)
		if err == nil {
			if m.scrub != nil {
				reply = m.scrub.Replace(reply)
			}
			m.put(c)
			m.log(ctx, slog.LevelDebug, "smtpx: sent", "message-id", env.id, "to", env.to, "reply", reply, "reused", reused)
			rep.step(StepSend, true, "accepted: "+reply)
			return &sent{id: env.id, reply: reply}, nil
		}
		m.discard(c, err)
		if reused && attempt == 0 && stale(err) {
			// A server may close a connection that sat idle; nothing of
			// this message was accepted yet, so start afresh.
			continue
		}
		m.logFailure(ctx, env, err)
		return nil, err
	}
}

// stale reports whether err, at the first command on a reused
// connection, means the server had let the connection go.
func stale(err error) bool {
	var e *Error
	if !errors.As(err, &e) || e.Command != "MAIL" {
		return false
	}
	return e.Reply == 421 || (e.Reply == 0 && e.Code == CodeTemporary)
}

// get returns an idle connection (reused true) or dials a new one,
// waiting while MaxConns are busy. ctx is bound to the connection.
func (m *Mailer) get(ctx context.Context, rep *TestReport) (c *conn, reused bool, err error) {
	for {
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return nil, false, &Error{Code: CodeSettings, Err: ErrClosed, Problem: ErrClosed.Error() + "; create a new Mailer"}
		}
		if n := len(m.idle); n > 0 {
			c = m.idle[n-1]
			m.idle = m.idle[:n-1]
			c.timer.Stop()
			m.mu.Unlock()
			c.release = c.dc.bind(ctx)
			return c, true, nil
		}
		if m.open < m.cfg.MaxConns {
			m.open++
			m.mu.Unlock()
			c, err = m.dial(ctx, rep)
			if err != nil {
				m.mu.Lock()
				m.open--
				m.signal()
				m.mu.Unlock()
				return nil, false, err
			}
			m.log(ctx, slog.LevelDebug, "smtpx: connected", "host", m.cfg.Settings.Host, "port", m.cfg.Settings.Port, "tls", tls.VersionName(c.tlsVersion))
			return c, false, nil
		}
		wake := m.wake
		m.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, false, contextError(ctx, "connect", nil)
		}
	}
}

// put returns a healthy connection to the idle list.
func (m *Mailer) put(c *conn) {
	if !c.release() || m.cfg.IdleTimeout < 0 {
		m.drop(c)
		c.quit()
		return
	}
	m.mu.Lock()
	if m.closed {
		m.open--
		m.mu.Unlock()
		c.quit()
		return
	}
	c.timer = time.AfterFunc(m.cfg.IdleTimeout, func() { m.expire(c) })
	m.idle = append(m.idle, c)
	m.signal()
	m.mu.Unlock()
}

// discard lets go of a connection after err: politely after an SMTP
// reply, at once after a network failure or timeout.
func (m *Mailer) discard(c *conn, err error) {
	usable := c.release()
	m.drop(c)
	var e *Error
	if usable && errors.As(err, &e) && e.Reply != 0 {
		c.quit()
		return
	}
	_ = c.client.Close()
}

// drop forgets a busy connection.
func (m *Mailer) drop(*conn) {
	m.mu.Lock()
	m.open--
	m.signal()
	m.mu.Unlock()
}

// expire closes c if it is still idle.
func (m *Mailer) expire(c *conn) {
	m.mu.Lock()
	found := false
	for i, ic := range m.idle {
		if ic == c {
			m.idle = append(m.idle[:i], m.idle[i+1:]...)
			found = true
			break
		}
	}
	if found {
		m.open--
		m.signal()
	}
	m.mu.Unlock()
	if found {
		c.quit()
	}
}

// signal wakes every sender waiting for a connection. Call with m.mu held.
func (m *Mailer) signal() {
	close(m.wake)
	m.wake = make(chan struct{})
}

// Format prints the Mailer as "smtpx.Mailer{host:port from sender}",
// whatever the verb, so that printing one never shows its password.
func (m *Mailer) Format(f fmt.State, _ rune) {
	s := m.cfg.Settings
	fmt.Fprintf(f, "smtpx.Mailer{%s from %s}", net.JoinHostPort(s.Host, strconv.Itoa(s.Port)), s.Sender)
}

// LogValue logs the Mailer's settings, without the password.
func (m *Mailer) LogValue() slog.Value { return m.cfg.Settings.LogValue() }

// Close says QUIT on idle connections and closes them; connections in
// use close when their message is done. SendEmail fails after Close.
func (m *Mailer) Close() error {
	m.mu.Lock()
	idle := m.idle
	m.idle = nil
	m.open -= len(idle)
	m.closed = true
	for _, c := range idle {
		c.timer.Stop()
	}
	m.signal()
	m.mu.Unlock()
	for _, c := range idle {
		c.quit()
	}
	return nil
}

func (m *Mailer) log(ctx context.Context, level slog.Level, msg string, args ...any) {
	if m.cfg.Logger != nil {
		m.cfg.Logger.Log(ctx, level, msg, args...)
	}
}

func (m *Mailer) logFailure(ctx context.Context, env *envelope, err error) {
	m.log(ctx, slog.LevelWarn, "smtpx: send failed", "message-id", env.id, "to", env.to, "error", err.Error(), "temporary", notify.IsTemporary(err))
}
