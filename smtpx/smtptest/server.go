// Package smtptest runs a real SMTP server in-process on loopback, for
// tests of code that sends mail. It is built on go-smtp's server, speaks
// STARTTLS or implicit TLS with a certificate from its own throwaway CA,
// offers AUTH PLAIN and LOGIN with the credentials it is given, and keeps
// every message it accepts, parsed (envelope, headers, text and HTML):
//
//	srv := smtptest.NewServer(smtptest.Config{Username: "app", Password: "s3cret"})
//	defer srv.Close()
//	// point the code under test at srv.Host(), srv.Port(), trusting srv.CertPool()
//	msgs := srv.Messages()
//
// Faults are plain methods: FailNext(n, smtptest.Temporary) makes the
// next n messages get a 451 after DATA, FailNextAt(smtptest.RCPT, 1,
// smtptest.Permanent) refuses a recipient, Drop closes the connection in
// the middle of DATA, Stall never answers, SetDelay answers slowly, and
// CloseConnections drops every open connection as an idle server would.
//
// Start with NewServer and Config; captured messages are Message values.
package smtptest

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// TLSMode says how the server offers TLS.
type TLSMode string

// The TLS modes of a Server.
const (
	// StartTLS offers the STARTTLS command on a plain connection (the default).
	StartTLS TLSMode = "starttls"
	// ImplicitTLS speaks TLS from the first byte, as on port 465.
	ImplicitTLS TLSMode = "tls"
	// NoTLS offers no TLS at all.
	NoTLS TLSMode = "none"
)

// Config describes a Server. The zero value is a STARTTLS server that
// needs no authentication and accepts every message.
type Config struct {
	// TLS is how TLS is offered; empty means StartTLS.
	TLS TLSMode
	// Username and Password, when Username is set, are the only
	// credentials AUTH accepts, and MAIL is refused (530) until the client
	// has authenticated. Empty: no AUTH is offered or needed.
	Username string
	Password string
	// Mechanisms are the AUTH mechanisms offered, from "PLAIN" and
	// "LOGIN"; nil means both.
	Mechanisms []string
	// LoginPrompts are the two LOGIN challenges, before base64 encoding;
	// the zero value means "Username:" and "Password:". Set them to test
	// clients against servers that phrase the prompts differently or
	// send them empty.
	LoginPrompts [2]string
	// AllowInsecureAuth offers AUTH on a connection that is not (yet)
	// encrypted. By default AUTH is offered only over TLS.
	AllowInsecureAuth bool
	// DisableSMTPUTF8 stops the server from offering SMTPUTF8 (RFC 6531),
	// which it offers by default.
	DisableSMTPUTF8 bool
	// ReadTimeout closes a connection on which the client has sent
	// nothing for this long, with a 421 reply. Zero means no limit.
	ReadTimeout time.Duration
}

// Server is a running SMTP server on a loopback port. Its methods are
// safe for concurrent use.
type Server struct {
	cfg      Config
	ca       *authority
	smtp     *smtp.Server
	listener net.Listener
	served   chan struct{}
	closed   chan struct{}
	closing  sync.Once
	busy     sync.WaitGroup // session work that may block (delays, stalls)

	mu       sync.Mutex
	messages []Message
	conns    map[net.Conn]struct{}
	accepted int
	faults   map[Command][]reply
	delay    time.Duration
	stopping bool // Close has begun: no new busy work
}

// NewServer starts a server on 127.0.0.1 on a free port. Like
// httptest.NewServer it panics if it cannot listen, since a test cannot
// go on without it. Call Close when done.
func NewServer(cfg Config) *Server {
	s, err := start(cfg)
	if err != nil {
		panic("smtptest: " + err.Error())
	}
	return s
}

func start(cfg Config) (*Server, error) {
	if cfg.TLS == "" {
		cfg.TLS = StartTLS
	}
	switch cfg.TLS {
	case StartTLS, ImplicitTLS, NoTLS:
	default:
		return nil, fmt.Errorf("Config.TLS is %q; use StartTLS, ImplicitTLS or NoTLS", cfg.TLS)
	}
	if cfg.Mechanisms == nil {
		cfg.Mechanisms = []string{"PLAIN", "LOGIN"}
	}
	if cfg.LoginPrompts == [2]string{} {
		cfg.LoginPrompts = [2]string{"Username:", "Password:"}
	}
	ca, err := newAuthority()
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on loopback: %w", err)
	}
	s := &Server{
		cfg:    cfg,
		ca:     ca,
		served: make(chan struct{}),
		closed: make(chan struct{}),
		conns:  make(map[net.Conn]struct{}),
		faults: make(map[Command][]reply),
	}
	tlsConfig := &tls.Config{Certificates: []tls.Certificate{ca.leaf}, MinVersion: tls.VersionTLS12}

	srv := smtp.NewServer(backend{s})
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = cfg.AllowInsecureAuth
	srv.EnableSMTPUTF8 = !cfg.DisableSMTPUTF8
	srv.ReadTimeout = cfg.ReadTimeout
	srv.ErrorLog = quietLog{}
	// RFC 5321 section 4.5.3.1.6: a line is at most 998 octets plus CRLF;
	// go-smtp counts the CR, so 1000 rejects anything longer.
	srv.MaxLineLength = 1000
	s.smtp = srv

	var ln net.Listener = &trackingListener{Listener: l, s: s}
	switch cfg.TLS {
	case StartTLS:
		srv.TLSConfig = tlsConfig
	case ImplicitTLS:
		ln = tls.NewListener(ln, tlsConfig)
	}
	s.listener = ln
	go func() {
		defer close(s.served)
		_ = srv.Serve(ln)
	}()
	return s, nil
}

// Addr returns the server's "host:port".
func (s *Server) Addr() string { return s.listener.Addr().String() }

// Host returns the server's IP address, "127.0.0.1".
func (s *Server) Host() string {
	host, _, _ := net.SplitHostPort(s.Addr())
	return host
}

// Port returns the server's TCP port.
func (s *Server) Port() int {
	_, port, _ := net.SplitHostPort(s.Addr())
	n, _ := strconv.Atoi(port)
	return n
}

// TLS returns the server's TLS mode.
func (s *Server) TLS() TLSMode { return s.cfg.TLS }

// CertPool returns a pool holding the CA that signed the server's
// certificate, for a client's RootCAs. The certificate is valid for
// "localhost", 127.0.0.1 and ::1.
func (s *Server) CertPool() *x509.CertPool { return s.ca.pool }

// CACertPEM returns that CA certificate in PEM form, for clients that
// read their roots from a file.
func (s *Server) CACertPEM() []byte { return append([]byte(nil), s.ca.caPEM...) }

// Messages returns a copy of every message accepted so far, oldest
// first. A message is recorded before the server replies 250 to it, so
// it is here as soon as the client's send returns.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Reset forgets the accepted messages and any pending faults and delay.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = nil
	s.faults = make(map[Command][]reply)
	s.delay = 0
}

// Connections returns how many TCP connections the server has accepted,
// so a test can tell whether a client reused its connection.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// OpenConnections returns how many client connections are open now.
func (s *Server) OpenConnections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// CloseConnections drops every open client connection without a word,
// as a server does when it restarts or times out an idle client. The
// server keeps accepting new connections.
func (s *Server) CloseConnections() {
	s.mu.Lock()
	conns := make([]net.Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// Close stops the server: it closes the listener and every connection,
// ends any stalled or delayed reply, and waits for the server's own
// work to finish. It is safe to call more than once.
func (s *Server) Close() {
	s.closing.Do(func() {
		s.mu.Lock()
		s.stopping = true
		s.mu.Unlock()
		close(s.closed)
		_ = s.smtp.Close()
		// Serve may not have registered the listener with go-smtp yet.
		_ = s.listener.Close()
		<-s.served
		s.CloseConnections()
		s.busy.Wait()
	})
}

// enter registers blocking work with busy, unless Close has begun.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return false
	}
	s.busy.Add(1)
	return true
}

// sleep waits for d, or until the server closes; d < 0 waits for the
// server to close.
func (s *Server) sleep(d time.Duration) {
	var timer <-chan time.Time
	if d >= 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-timer:
	case <-s.closed:
	}
}

func (s *Server) record(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = append(s.messages, m)
}

// trackingListener counts and remembers accepted connections so that
// CloseConnections can drop them.
type trackingListener struct {
	net.Listener
	s *Server
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, s: l.s}
	l.s.mu.Lock()
	l.s.accepted++
	l.s.conns[tc] = struct{}{}
	l.s.mu.Unlock()
	return tc, nil
}

type trackedConn struct {
	net.Conn
	s    *Server
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
	})
	return c.Conn.Close()
}

// quietLog drops go-smtp's internal error log: a test server whose
// clients hang up mid-command is working as intended.
type quietLog struct{}

func (quietLog) Printf(string, ...interface{}) {}
func (quietLog) Println(...interface{})        {}

var _ io.Closer = (*trackedConn)(nil)
