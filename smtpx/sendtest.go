package smtpx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/siteadmin/integrations/notify"
)

// StepName names a step of SendTest.
type StepName string

// The steps of SendTest, in order.
const (
	StepSettings StepName = "settings" // the settings and recipient are valid
	StepConnect  StepName = "connect"  // TCP connection and greeting
	StepTLS      StepName = "tls"      // STARTTLS or implicit TLS, and the certificate
	StepAuth     StepName = "auth"     // AUTH PLAIN or LOGIN
	StepSend     StepName = "send"     // MAIL, RCPT and DATA
)

// Step is what happened at one step of SendTest.
type Step struct {
	Name StepName `json:"name"`
	OK   bool     `json:"ok"`
	// Detail is a sentence for the admin: what was done, or what failed
	// and how to fix it.
	Detail string `json:"detail"`
}

// TestReport is what SendTest did, for the admin page to show.
type TestReport struct {
	// Steps are the steps reached, in order; the last one failed if
	// SendTest returned an error.
	Steps []Step `json:"steps"`
	// Address is the "host:port" tried.
	Address string `json:"address"`
	// TLSVersion is the negotiated version, such as "TLS 1.3"; empty when
	// the connection was not encrypted.
	TLSVersion string `json:"tls-version,omitempty"`
	// Authenticated reports whether AUTH succeeded.
	Authenticated bool `json:"authenticated"`
	// Accepted reports whether the server accepted the message; Reply is
	// its reply, such as "250 2.0.0 OK: queued as 4F2A".
	Accepted bool   `json:"accepted"`
	Reply    string `json:"reply,omitempty"`
	// MessageID is the test message's Message-ID, with angle brackets.
	MessageID string `json:"message-id,omitempty"`
}

// step appends a step; a nil report records nothing.
func (r *TestReport) step(name StepName, ok bool, detail string) {
	if r != nil {
		r.Steps = append(r.Steps, Step{Name: name, OK: ok, Detail: detail})
	}
}

// SendTest is the admin page's "Send test email to": it checks
// cfg.Settings (as if enabled) and the address to, connects with a new
// connection, sets up TLS, authenticates and sends a short test message,
// reporting each step. It returns the report in every case, and an
// *Error when a step failed; a settings error wraps *FieldError values,
// "to" among them when the address is the problem.
func SendTest(ctx context.Context, cfg Config, to string) (*TestReport, error) {
	cfg.Settings.Enabled = true
	rep := &TestReport{Address: net.JoinHostPort(cfg.Settings.Host, strconv.Itoa(cfg.Settings.Port))}
	err := cfg.Validate()
	if p := addressProblem(to); p != "" {
		err = errors.Join(err, &FieldError{Field: "to", Problem: p})
	}
	if err != nil {
		se := settingsError(err)
		rep.step(StepSettings, false, se.Problem)
		return rep, se
	}
	rep.step(StepSettings, true, "settings are valid")

	cfg.IdleTimeout = -1
	m, err := NewMailer(cfg)
	if err != nil {
		return rep, err
	}
	defer m.Close()
	var key [12]byte
	_, _ = rand.Read(key[:])
	s := cfg.Settings
	msg := notify.Email{
		Kind:    notify.KindTestEmail,
		To:      to,
		Subject: "Test email: your SMTP settings work",
		Text: fmt.Sprintf("This is a test email. It was sent through %s with TLS %s and authentication %s, so these SMTP settings can send mail.\n",
			rep.Address, s.tlsMode(), s.authMode()),
		Key: "smtpx-test-" + hex.EncodeToString(key[:]),
	}
	res, err := m.send(ctx, msg, rep)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			rep.step(stepOf(e), false, e.Error())
		}
		return rep, err
	}
	rep.Accepted, rep.Reply, rep.MessageID = true, res.reply, res.id
	return rep, nil
}

// stepOf names the step at which e happened.
func stepOf(e *Error) StepName {
	switch {
	case e.Code == CodeSettings || e.Code == CodeMessage:
		return StepSettings
	case e.Code == CodeTLS || e.Command == "STARTTLS" || e.Command == "TLS handshake":
		return StepTLS
	case e.Code == CodeAuth || e.Command == "AUTH":
		return StepAuth
	case e.Command == "MAIL" || e.Command == "RCPT" || e.Command == "DATA":
		return StepSend
	}
	return StepConnect
}
