package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"time"

	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/twilio"
)

const smsUsage = `usage: sendtest sms -account-sid AC... (-from +1... | -messaging-service-sid MG...) -to +1...
                    [-base-url URL] [-api-key-sid SK...] [-timeout 30s]

Sends a test SMS through Twilio with the given settings, as the admin
page's "Send Test SMS" button does, and prints one JSON line:

  {"ok":true,"id":"SM...","attempts":N}
  {"ok":false,"error":{"code":C,"message":M,"temporary":B},"attempts":N}

The auth token comes from TWILIO_AUTH_TOKEN (or, with -api-key-sid, the
key's secret from TWILIO_API_KEY_SECRET). Error codes: settings, auth,
invalid_to, unverified, opted_out, rate_limited, api, network, timeout.
Exit status: 0 sent, 1 not sent, 2 invalid settings or usage.

`

// smsResult is the line runSMS prints.
type smsResult struct {
	OK       bool      `json:"ok"`
	ID       string    `json:"id,omitempty"`
	Error    *smsError `json:"error,omitempty"`
	Attempts int       `json:"attempts"`
}

type smsError struct {
	Code      string            `json:"code"`
	Message   string            `json:"message"`
	Temporary bool              `json:"temporary"`
	Fields    map[string]string `json:"fields,omitempty"` // settings: twilio.Settings JSON field (or "to") -> problem
}

// runSMS is the "sms" subcommand: it reads the flags in args and the
// secrets through getenv, sends a test SMS with twilio.SendTest, prints
// one JSON line to stdout (usage goes to stderr), and returns the exit
// status: 0 sent, 1 not sent, 2 invalid settings or usage.
func runSMS(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("sms", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, smsUsage)
		fs.PrintDefaults()
	}
	accountSID := fs.String("account-sid", "", "the Account SID, AC and 32 hex digits (required)")
	from := fs.String("from", "", "the From Number in E.164 form, such as +14155550100 (or -messaging-service-sid)")
	to := fs.String("to", "", "the recipient in E.164 form (required)")
	baseURL := fs.String("base-url", "", "the API's base URL (default "+twilio.DefaultBaseURL+")")
	service := fs.String("messaging-service-sid", "", "a Messaging Service SID, MG and 32 hex digits, sent instead of -from")
	apiKey := fs.String("api-key-sid", "", "an API key SID, SK and 32 hex digits; its secret from TWILIO_API_KEY_SECRET")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return printSMS(stdout, 2, smsResult{Error: &smsError{Code: "settings", Message: err.Error()}})
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return printSMS(stdout, 2, smsResult{Error: &smsError{Code: "settings", Message: "unexpected arguments: " + strings.Join(fs.Args(), " ")}})
	}
	if *timeout <= 0 {
		return printSMS(stdout, 2, smsResult{Error: &smsError{Code: "settings", Message: "-timeout must be positive", Fields: map[string]string{"timeout": "must be positive"}}})
	}

	settings := twilio.Settings{
		Enabled:             true,
		AccountSID:          *accountSID,
		AuthToken:           notify.Secret(getenv("TWILIO_AUTH_TOKEN")),
		FromNumber:          *from,
		MessagingServiceSID: *service,
		APIKeySID:           *apiKey,
		BaseURL:             *baseURL,
	}
	if *apiKey != "" {
		settings.APIKeySecret = notify.Secret(getenv("TWILIO_API_KEY_SECRET"))
	}

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	rec, err := twilio.SendTest(ctx, settings, *to)
	if err == nil {
		return printSMS(stdout, 0, smsResult{OK: true, ID: rec.SID, Attempts: rec.Attempts})
	}
	res, status := describeSMSError(err)
	return printSMS(stdout, status, res)
}

// describeSMSError turns SendTest's error into the JSON result and the
// exit status.
func describeSMSError(err error) (smsResult, int) {
	if fields := smsFields(err); len(fields) > 0 {
		code := "settings"
		if _, onlyTo := fields["to"]; onlyTo && len(fields) == 1 {
			code = "invalid_to"
		}
		return smsResult{Error: &smsError{Code: code, Message: smsFieldMessage(fields), Fields: fields}}, 2
	}
	res := smsResult{Error: &smsError{Message: err.Error(), Temporary: notify.IsTemporary(err)}}
	var te *twilio.Error
	var ne *twilio.NetworkError
	if errors.As(err, &te) {
		res.Attempts = te.Attempts // Twilio's code is in the message
	}
	if errors.As(err, &ne) {
		res.Attempts = ne.Attempts
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded) || ne != nil && ne.Timeout():
		res.Error.Code = "timeout"
	case errors.Is(err, twilio.ErrAuth):
		res.Error.Code = "auth"
	case errors.Is(err, twilio.ErrInvalidTo):
		res.Error.Code = "invalid_to"
	case errors.Is(err, twilio.ErrUnverified):
		res.Error.Code = "unverified"
	case errors.Is(err, twilio.ErrOptedOut):
		res.Error.Code = "opted_out"
	case errors.Is(err, twilio.ErrRateLimited):
		res.Error.Code = "rate_limited"
	case te != nil:
		res.Error.Code = "api"
	default:
		res.Error.Code = "network"
	}
	return res, 1
}

// smsFields collects the *twilio.FieldError problems in err (SendTest
// joins them), keyed by the twilio.Settings JSON field ("to" for the recipient).
func smsFields(err error) map[string]string {
	fields := map[string]string{}
	var walk func(error)
	walk = func(err error) {
		if joined, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range joined.Unwrap() {
				walk(e)
			}
			return
		}
		var fe *twilio.FieldError
		if errors.As(err, &fe) {
			fields[fe.Field] = fe.Problem
		}
	}
	walk(err)
	return fields
}

func smsFieldMessage(fields map[string]string) string {
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, name := range names {
		parts[i] = name + ": " + fields[name]
	}
	return "invalid settings: " + strings.Join(parts, "; ")
}

// printSMS writes res as one JSON line and returns status.
func printSMS(stdout io.Writer, status int, res smsResult) int {
	line, err := json.Marshal(res)
	if err != nil { // cannot happen: the result holds only strings, numbers and bools
		line = []byte(`{"ok":false,"error":{"code":"api","message":"cannot encode the result","temporary":false},"attempts":0}`)
	}
	fmt.Fprintf(stdout, "%s\n", line)
	return status
}
