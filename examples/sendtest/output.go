package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/siteadmin/integrations/smtpx"
	"github.com/siteadmin/integrations/twilio"
)

// Exit statuses.
const (
	exitSent    = 0
	exitFailed  = 1
	exitInvalid = 2 // invalid settings or usage
)

// codeSettings is the error code of invalid settings or usage, the only
// one whose error carries "fields".
const codeSettings = "settings"

// result is the one JSON line both subcommands print:
//
//	{"ok":true,"id":ID,"attempts":N}
//	{"ok":false,"error":{"code":C,"message":M,"temporary":B},"attempts":N}
//
// with "fields":{NAME:PROBLEM} inside "error" when C is "settings".
type result struct {
	OK       bool         `json:"ok"`
	ID       string       `json:"id,omitempty"`
	Error    *resultError `json:"error,omitempty"`
	Attempts int          `json:"attempts"`
}

type resultError struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Temporary bool   `json:"temporary"`
	// Fields is set with Code "settings" only: the Settings JSON field
	// (or "to" for the recipient, a flag's name, or "usage") -> problem.
	// The keys are the contract; the problems, like Message, name
	// sendtest's flags and environment variables (see vocabulary).
	Fields map[string]string `json:"fields,omitempty"`
}

// usageError is the error for a command line that cannot be read (an
// unknown flag, a bad value, an extra argument, no subcommand).
func usageError(problem string) *resultError {
	return &resultError{Code: codeSettings, Message: problem, Fields: map[string]string{"usage": problem}}
}

// fieldProblems collects the *smtpx.FieldError and *twilio.FieldError
// problems in err (the transports join them), keyed by field.
func fieldProblems(err error) map[string]string {
	fields := map[string]string{}
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case nil:
			return
		case *smtpx.FieldError:
			fields[e.Field] = e.Problem
			return
		case *twilio.FieldError:
			fields[e.Field] = e.Problem
			return
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				walk(inner)
			}
			return
		}
		walk(errors.Unwrap(err))
	}
	walk(err)
	return fields
}

// printResult writes res to stdout as one JSON line and returns status.
// HTML escaping is off, so a Message-ID's angle brackets and a message's
// "&" read as they are.
func printResult(stdout io.Writer, status int, res result) int {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(res); err != nil {
		// Cannot happen: the result holds strings, numbers and bools only.
		b.Reset()
		b.WriteString(`{"ok":false,"error":{"code":"settings","message":"cannot encode the result","temporary":false,"fields":{"usage":"cannot encode the result"}},"attempts":0}` + "\n")
	}
	fmt.Fprint(stdout, b.String())
	return status
}

// parseFlags parses a subcommand's flags. When they are not usable it has
// printed the result (a settings error, or nothing for -h) and done is true,
// with the exit status in code.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) (code int, done bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, true
		}
		return printResult(stdout, exitInvalid, result{Error: usageError(err.Error())}), true
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return printResult(stdout, exitInvalid, result{Error: usageError("unexpected arguments: " + strings.Join(fs.Args(), " "))}), true
	}
	return 0, false
}
