package smtptest

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"io"
	"strings"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

type backend struct{ s *Server }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	sess := &session{s: b.s, conn: c}
	if state, ok := c.TLSConnectionState(); ok {
		sess.tlsVersion = state.Version
	}
	return sess, nil
}

// session is one client's conversation. go-smtp calls its methods from
// the connection's goroutine, except Logout, which Server.Close may call
// from another; the fields Logout does not touch need no lock.
type session struct {
	s          *Server
	conn       *smtp.Conn
	tlsVersion uint16
	authUser   string

	from string
	utf8 bool
	to   []string
}

var errAuthRequired = &smtp.SMTPError{
	Code:         530,
	EnhancedCode: smtp.EnhancedCode{5, 7, 0},
	Message:      "Authentication required",
}

func (ss *session) AuthMechanisms() []string {
	if ss.s.cfg.Username == "" {
		return nil
	}
	return ss.s.cfg.Mechanisms
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	offered := false
	for _, m := range ss.AuthMechanisms() {
		offered = offered || strings.EqualFold(m, mech)
	}
	if !offered {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	if err := ss.s.inject(AUTH, ss.conn); err != nil {
		return nil, err
	}
	switch strings.ToUpper(mech) {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, username, password string) error {
			if identity != "" && identity != username {
				return smtp.ErrAuthFailed
			}
			return ss.check(username, password)
		}), nil
	case sasl.Login:
		return &loginServer{prompts: ss.s.cfg.LoginPrompts, check: ss.check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (ss *session) check(username, password string) error {
	cfg := ss.s.cfg
	userOK := subtle.ConstantTimeCompare([]byte(username), []byte(cfg.Username))
	passOK := subtle.ConstantTimeCompare([]byte(password), []byte(cfg.Password))
	if userOK&passOK != 1 {
		return smtp.ErrAuthFailed
	}
	ss.authUser = username
	return nil
}

func (ss *session) Mail(from string, opts *smtp.MailOptions) error {
	if ss.s.cfg.Username != "" && ss.authUser == "" {
		return errAuthRequired
	}
	if err := ss.s.inject(MAIL, ss.conn); err != nil {
		return err
	}
	ss.from = from
	ss.utf8 = opts != nil && opts.UTF8
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := ss.s.inject(RCPT, ss.conn); err != nil {
		return err
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	f, delay := ss.s.next(DATA)
	if f != nil && f.fault == Drop {
		// Take part of the message, then hang up: the client is left
		// mid-DATA with no reply.
		_, _ = io.CopyN(io.Discard, r, 64)
		return ss.s.drop(ss.conn)
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := ss.s.answer(DATA, f, delay, ss.conn); err != nil {
		return err
	}
	m := parseMessage(raw)
	m.From = ss.from
	m.To = append([]string(nil), ss.to...)
	m.UTF8 = ss.utf8
	m.TLSVersion = ss.tlsVersion
	m.AuthUser = ss.authUser
	ss.s.record(m)
	return nil
}

func (ss *session) Reset() {
	ss.from, ss.utf8, ss.to = "", false, nil
}

func (ss *session) Logout() error { return nil }

// loginServer is the server side of the LOGIN mechanism
// (draft-murchison-sasl-login), with configurable prompts.
type loginServer struct {
	prompts  [2]string
	check    func(username, password string) error
	username []byte
	step     int
}

func (l *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch l.step {
	case 0:
		l.step++
		if response == nil {
			return []byte(l.prompts[0]), false, nil
		}
		// An initial response is the username.
		l.username = bytes.Clone(response)
		l.step++
		return []byte(l.prompts[1]), false, nil
	case 1:
		l.username = bytes.Clone(response)
		l.step++
		return []byte(l.prompts[1]), false, nil
	case 2:
		l.step++
		return nil, true, l.check(string(l.username), string(response))
	}
	return nil, true, errors.New("smtptest: unexpected LOGIN response")
}
