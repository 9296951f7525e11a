package smtptest

import (
	"fmt"
	"time"

	"github.com/emersion/go-smtp"
)

// Command names the SMTP command a fault answers.
type Command string

// The commands a fault can answer.
const (
	AUTH Command = "AUTH" // the AUTH command, answered before any credentials
	MAIL Command = "MAIL" // the envelope sender
	RCPT Command = "RCPT" // a recipient
	DATA Command = "DATA" // the message; the reply after the final dot
)

// Fault is a canned way for the server to misbehave.
type Fault int

// The faults FailNext and FailNextAt inject.
const (
	// Temporary replies 451 4.3.0, which a client should retry later.
	Temporary Fault = iota + 1
	// Permanent replies 535 5.7.8 to AUTH, 550 5.7.1 to MAIL, 550 5.1.1
	// to RCPT and 554 5.6.0 to DATA, which a client must not retry.
	Permanent
	// Drop closes the connection without a reply; at DATA it does so
	// after reading only the start of the message.
	Drop
	// Stall never replies, until Close; use it to test a client's
	// deadlines.
	Stall
)

// String returns the fault's name.
func (f Fault) String() string {
	switch f {
	case Temporary:
		return "Temporary"
	case Permanent:
		return "Permanent"
	case Drop:
		return "Drop"
	case Stall:
		return "Stall"
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

// reply is one pending injected answer: a canned fault or, when fault is
// zero, a custom SMTP reply.
type reply struct {
	fault Fault
	err   *smtp.SMTPError
}

// FailNext makes the server answer the next n messages with f at DATA,
// that is after reading the whole message (or, for Drop, part of it). A
// failed message is not recorded.
func (s *Server) FailNext(n int, f Fault) { s.FailNextAt(DATA, n, f) }

// FailNextAt makes the server answer the next n uses of cmd with f.
// Faults queue up: FailNextAt(RCPT, 2, Temporary) then FailNextAt(RCPT,
// 1, Permanent) fails three recipients in that order.
func (s *Server) FailNextAt(cmd Command, n int, f Fault) {
	s.queue(cmd, n, reply{fault: f})
}

// ReplyNext makes the server answer the next n uses of cmd with the
// given reply code (400 to 599), enhanced status code (such as
// "4.7.0"; empty for none) and text, such as ReplyNext(MAIL, 1, 421,
// "4.4.2", "closing idle connection").
func (s *Server) ReplyNext(cmd Command, n, code int, enhanced, text string) {
	e := &smtp.SMTPError{Code: code, EnhancedCode: smtp.NoEnhancedCode, Message: text}
	if enhanced != "" {
		var ec smtp.EnhancedCode
		if _, err := fmt.Sscanf(enhanced, "%d.%d.%d", &ec[0], &ec[1], &ec[2]); err == nil {
			e.EnhancedCode = ec
		}
	}
	s.queue(cmd, n, reply{err: e})
}

func (s *Server) queue(cmd Command, n int, r reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 0; i < n; i++ {
		s.faults[cmd] = append(s.faults[cmd], r)
	}
}

// SetDelay makes the server wait d before answering every MAIL, RCPT
// and DATA from now on: a slow server. Zero restores prompt answers;
// Close cuts a delay short.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// next pops the pending reply for cmd, if any, and returns the current
// delay.
func (s *Server) next(cmd Command) (*reply, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.faults[cmd]
	if len(q) == 0 {
		return nil, s.delay
	}
	r := q[0]
	s.faults[cmd] = q[1:]
	return &r, s.delay
}

// inject applies the delay and pending reply for cmd, returning the
// error go-smtp should send (nil: carry on).
func (s *Server) inject(cmd Command, c *smtp.Conn) error {
	r, delay := s.next(cmd)
	return s.answer(cmd, r, delay, c)
}

func (s *Server) answer(cmd Command, r *reply, delay time.Duration, c *smtp.Conn) error {
	if !s.enter() {
		return s.drop(c)
	}
	defer s.busy.Done()
	if delay > 0 {
		s.sleep(delay)
	}
	if r == nil {
		return nil
	}
	if r.err != nil {
		return r.err
	}
	switch r.fault {
	case Temporary:
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "smtptest: temporary failure, try again later"}
	case Drop:
		return s.drop(c)
	case Stall:
		s.sleep(-1)
		return s.drop(c)
	}
	switch cmd {
	case AUTH:
		return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "smtptest: authentication credentials invalid"}
	case MAIL:
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "smtptest: sender not allowed"}
	case RCPT:
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "smtptest: no such user"}
	}
	return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "smtptest: message rejected"}
}

// drop closes the client's connection; the error it returns only
// reaches a socket that is already closed.
func (s *Server) drop(c *smtp.Conn) error {
	_ = c.Conn().Close()
	return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 4, 0}, Message: "smtptest: connection dropped"}
}
