package smtpx

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-smtp"
)

// Code is the stable name of a kind of failure, for programs (and the
// sendtest command's JSON) to switch on.
type Code string

// The failure codes of an *Error.
const (
	CodeSettings  Code = "settings"  // the settings are invalid, or sending is disabled
	CodeMessage   Code = "message"   // the message cannot be sent as given (bad address or header)
	CodeDial      Code = "dial"      // the server could not be reached
	CodeTLS       Code = "tls"       // TLS could not be set up (no STARTTLS, untrusted certificate, ...)
	CodeAuth      Code = "auth"      // authentication was refused or is impossible
	CodeRejected  Code = "rejected"  // the server refused the sender, a recipient or the message (5xx)
	CodeTemporary Code = "temporary" // a 4xx reply, or the connection was lost mid-conversation
	CodeTimeout   Code = "timeout"   // the server did not answer before the deadline
	CodeCanceled  Code = "canceled"  // the caller's context was canceled
)

// Sentinels for errors.Is: every *Error matches the one for its Code.
var (
	ErrSettings  = errors.New("smtpx: invalid settings")
	ErrMessage   = errors.New("smtpx: invalid message")
	ErrDial      = errors.New("smtpx: cannot connect")
	ErrTLS       = errors.New("smtpx: TLS failed")
	ErrAuth      = errors.New("smtpx: authentication failed")
	ErrRejected  = errors.New("smtpx: rejected by the server")
	ErrTemporary = errors.New("smtpx: temporary failure")
	ErrTimeout   = errors.New("smtpx: timed out")
	ErrCanceled  = errors.New("smtpx: canceled")

	// ErrDisabled is wrapped by the error SendEmail returns when the
	// settings have Enabled false.
	ErrDisabled = errors.New("email sending is disabled in the SMTP settings")
	// ErrClosed is wrapped by the error SendEmail returns after Close.
	ErrClosed = errors.New("the mailer is closed")
)

// Error is every error smtpx returns from sending. It never holds the
// password.
type Error struct {
	// Code is the kind of failure.
	Code Code
	// Command is the step that failed: "connect", "STARTTLS", "EHLO",
	// "AUTH", "MAIL", "RCPT" or "DATA"; empty for settings and message
	// problems.
	Command string
	// Reply is the server's reply code (such as 550), zero when the
	// server gave none. EnhancedCode is its RFC 3463 status (such as
	// "5.1.1"), empty when absent. ServerText is the reply's text.
	Reply        int
	EnhancedCode string
	ServerText   string
	// Problem says what went wrong and what to change, for an admin.
	Problem string
	// Err is the underlying error, if any.
	Err error

	temporary bool
}

// Error returns "smtpx: CODE: PROBLEM", followed by the server's reply
// when there was one. A Mailer has already taken the password out of the
// reply (see passwordScrubber), in case the server echoed the AUTH line.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("smtpx: ")
	b.WriteString(string(e.Code))
	b.WriteString(": ")
	b.WriteString(printable(e.Problem))
	if e.Reply != 0 {
		fmt.Fprintf(&b, " (server replied %d", e.Reply)
		if e.EnhancedCode != "" {
			b.WriteString(" " + e.EnhancedCode)
		}
		if e.ServerText != "" {
			b.WriteString(" " + strings.ReplaceAll(printable(e.ServerText), "\n", " / "))
		}
		b.WriteString(")")
	}
	return b.String()
}

// printable replaces what a terminal, a log viewer or an admin page could
// take for a command (control characters, an ESC sequence's ESC, Unicode
// format characters such as bidi overrides, invalid UTF-8) by a space,
// one for a run together with the spaces around it. Line feeds stay:
// ServerText keeps a multi-line reply's lines apart. A server's words
// pass through it on their way into an error, as twilio's do.
func printable(s string) string {
	if !strings.ContainsFunc(s, unsafeRune) {
		return s
	}
	var b strings.Builder
	spaces, unsafe := 0, false // the run of spaces and unsafe runes not yet written
	flush := func() {
		if unsafe {
			spaces = 1
		}
		b.WriteString(strings.Repeat(" ", spaces))
		spaces, unsafe = 0, false
	}
	for _, r := range s {
		switch {
		case unsafeRune(r):
			unsafe = true
		case r == ' ':
			spaces++
		default:
			flush()
			b.WriteRune(r)
		}
	}
	flush()
	return b.String()
}

func unsafeRune(r rune) bool {
	return r != '\n' && (r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r))
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is the sentinel for e's Code.
func (e *Error) Is(target error) bool { return target == sentinel(e.Code) }

// Temporary reports whether a later attempt may succeed: true for 4xx
// replies, network failures, timeouts and cancellation; false for 5xx
// replies, bad settings and bad messages.
func (e *Error) Temporary() bool { return e.temporary }

func sentinel(c Code) error {
	switch c {
	case CodeSettings:
		return ErrSettings
	case CodeMessage:
		return ErrMessage
	case CodeDial:
		return ErrDial
	case CodeTLS:
		return ErrTLS
	case CodeAuth:
		return ErrAuth
	case CodeRejected:
		return ErrRejected
	case CodeTemporary:
		return ErrTemporary
	case CodeTimeout:
		return ErrTimeout
	case CodeCanceled:
		return ErrCanceled
	}
	return nil
}

func settingsError(err error) *Error {
	return &Error{Code: CodeSettings, Problem: oneLine(err), Err: err}
}

func messageError(problem string) *Error {
	return &Error{Code: CodeMessage, Problem: problem}
}

// withReply copies an SMTP reply into e and sets Temporary from its
// class.
func (e *Error) withReply(se *smtp.SMTPError) *Error {
	e.Reply = se.Code
	if se.EnhancedCode != (smtp.EnhancedCode{}) && se.EnhancedCode != smtp.NoEnhancedCode {
		e.EnhancedCode = fmt.Sprintf("%d.%d.%d", se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2])
	}
	e.ServerText = printable(se.Message)
	e.temporary = se.Code/100 == 4
	return e
}

// redacted stands for a password the server sent back.
const redacted = "[redacted]"

// passwordScrubber returns a Replacer that takes the password out of
// text the server sent, in every form AUTH sends it: as is, the base64
// of PLAIN's "\x00username\x00password", and LOGIN's base64(password).
// A server that echoes the AUTH line in a reply (some do, in a 535 or a
// later 5xx) would otherwise put them into errors and logs. The base64
// forms are matched without their "=" padding, so a trimmed echo is
// caught too. nil when there is no password.
func passwordScrubber(s Settings) *strings.Replacer {
	pw := s.Password.Reveal()
	if pw == "" {
		return nil
	}
	b64 := func(v string) string { return strings.TrimRight(base64.StdEncoding.EncodeToString([]byte(v)), "=") }
	pairs := []string{
		b64("\x00" + s.Username + "\x00" + pw), redacted,
		b64(pw), redacted,
		pw, redacted,
	}
	if p := printable(pw); p != pw {
		pairs = append(pairs, p, redacted) // as it reads once the reply is made printable
	}
	return strings.NewReplacer(pairs...)
}

// scrub takes the password out of everything in err that holds the
// server's words, and returns err.
func scrub(r *strings.Replacer, err error) error {
	var e *Error
	if r == nil || !errors.As(err, &e) {
		return err
	}
	e.ServerText = r.Replace(e.ServerText)
	e.Problem = r.Replace(e.Problem)
	if e.Err == nil {
		return err
	}
	if text := e.Err.Error(); r.Replace(text) != text {
		if se, ok := e.Err.(*smtp.SMTPError); ok {
			c := *se
			c.Message = r.Replace(se.Message)
			e.Err = &c
		} else {
			e.Err = &scrubbedError{text: r.Replace(text), ctx: contextCause(e.Err)}
		}
	}
	return err
}

// scrubbedError stands in for an error whose text held the password: it
// keeps the scrubbed text and, for errors.Is, whether the context ended,
// but not the original, which errors.As could reach.
type scrubbedError struct {
	text string
	ctx  error // context.Canceled, context.DeadlineExceeded or nil
}

func (e *scrubbedError) Error() string { return e.text }
func (e *scrubbedError) Unwrap() error { return e.ctx }

func contextCause(err error) error {
	for _, c := range []error{context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, c) {
			return c
		}
	}
	return nil
}

// failure turns an error from a step of the conversation into an *Error.
// problem5xx says what a 5xx reply means at this step and what to fix.
func failure(ctx context.Context, command string, err error, problem5xx string) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if ctxEnded(ctx) {
		return contextError(ctx, command, err)
	}
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		e := (&Error{Command: command, Err: err}).withReply(se)
		if se.Code == 530 {
			e.Code = CodeAuth
			e.Problem = "the server requires authentication; set authentication to plain or login, with a username and password"
			return e
		}
		if e.temporary {
			e.Code = CodeTemporary
			e.Problem = fmt.Sprintf("the server temporarily refused %s; a later attempt may succeed", command)
		} else {
			e.Code = CodeRejected
			e.Problem = problem5xx
		}
		return e
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &Error{Code: CodeTimeout, Command: command, Err: err, temporary: true,
			Problem: fmt.Sprintf("the server did not answer %s in time; check that it is up and not overloaded, or raise Config.Timeout", command)}
	}
	return &Error{Code: CodeTemporary, Command: command, Err: err, temporary: true,
		Problem: fmt.Sprintf("the connection was lost during %s (%s); a later attempt may succeed", command, oneLine(err))}
}

// ctxEnded reports whether ctx is canceled or past its deadline. The
// connection's deadline is ctx's, and its i/o timeout may come a moment
// before ctx.Err reports the deadline.
func ctxEnded(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	deadline, ok := ctx.Deadline()
	return ok && !time.Now().Before(deadline)
}

func contextError(ctx context.Context, command string, err error) *Error {
	ctxErr := ctx.Err()
	if ctxErr == nil {
		ctxErr = context.DeadlineExceeded // ctxEnded saw the deadline pass
	}
	if errors.Is(ctxErr, context.DeadlineExceeded) {
		return &Error{Code: CodeTimeout, Command: command, Err: errors.Join(ctxErr, err), temporary: true,
			Problem: fmt.Sprintf("the deadline passed during %s; the server is slow or unreachable", command)}
	}
	return &Error{Code: CodeCanceled, Command: command, Err: errors.Join(ctxErr, err), temporary: true,
		Problem: fmt.Sprintf("canceled during %s", command)}
}

// oneLine flattens an error's text (errors.Join uses newlines), which
// may quote the server, into printable text.
func oneLine(err error) string {
	if err == nil {
		return ""
	}
	return printable(strings.ReplaceAll(err.Error(), "\n", "; "))
}
