package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/siteadmin/integrations"
	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/twilio"
)

const smsUsage = `usage: sendtest sms -account-sid AC... (-from +1... | -messaging-service-sid MG...) -to +1...
                    [-base-url URL] [-api-key-sid SK...] [-timeout 30s] [-attempts 4] [-retry-wait 500ms]

Sends a test SMS through Twilio with the given settings, as the admin
page's "Send Test SMS" button does, and prints one JSON line:

  {"ok":true,"id":"SM...","attempts":N}
  {"ok":false,"error":{"code":C,"message":M,"temporary":B},"attempts":N}

The auth token comes from TWILIO_AUTH_TOKEN (or, with -api-key-sid, the
key's secret from TWILIO_API_KEY_SECRET). Error codes: settings (with
"fields":{NAME:PROBLEM}), auth, invalid_to, unverified, opted_out,
rate_limited, api, network, timeout (also on Ctrl-C). Temporary failures
are tried again, up to -attempts in all, within -timeout: a rate limit,
a refused connection, and also a 5xx answer, a timeout or a lost
connection, after which Twilio may have sent the SMS already, so the
recipient may get it twice. Exit status: 0 sent, 1 not sent, 2 invalid
settings, an invalid -to, or usage.

`

// runSMS is the "sms" subcommand: it reads the flags in args and the
// secrets through getenv, sends a test SMS with twilio's Client.SendTest
// (again while the failure is temporary, as the client does for the
// admin page's button), prints one JSON line to stdout (usage goes to
// stderr), and returns the exit status: 0 sent, 1 not sent, 2 invalid
// settings or usage.
func runSMS(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
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
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long, attempts included")
	attempts := fs.Int("attempts", twilio.DefaultMaxAttempts, "how many times to try while the failure is temporary")
	retryWait := fs.Duration("retry-wait", twilio.DefaultMinBackoff, "the wait before the second attempt, doubled for each later one, less up to half at random")
	if code, done := parseFlags(fs, args, stdout); done {
		return code
	}
	words := smsVocabulary()
	fields := map[string]string{}
	if *timeout <= 0 {
		fields["timeout"] = "must be positive"
	}
	if *attempts < 1 {
		fields["attempts"] = "must be at least 1"
	}
	if *retryWait <= 0 {
		fields["retry-wait"] = "must be positive"
	}
	if len(fields) > 0 {
		return printResult(stdout, exitInvalid, result{Error: words.settingsError(fields)})
	}

	settings := twilio.Settings{
		Enabled:             true,
		AccountSID:          *accountSID,
		AuthToken:           integrations.Secret(getenv("TWILIO_AUTH_TOKEN")),
		FromNumber:          *from,
		MessagingServiceSID: *service,
		APIKeySID:           *apiKey,
		BaseURL:             *baseURL,
	}
	if *apiKey != "" {
		settings.APIKeySecret = integrations.Secret(getenv("TWILIO_API_KEY_SECRET"))
	}

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	rec, err := sendTestSMS(ctx, settings, twilio.Config{MaxAttempts: *attempts, MinBackoff: *retryWait}, *to)
	if err == nil {
		return printResult(stdout, exitSent, result{OK: true, ID: rec.SID, Attempts: rec.Attempts})
	}
	res, status := describeSMSError(err, words)
	return printResult(stdout, status, res)
}

// sendTestSMS is twilio.SendTest with cfg: every problem with the
// settings and the number at once, then the send.
func sendTestSMS(ctx context.Context, s twilio.Settings, cfg twilio.Config, to string) (twilio.Receipt, error) {
	var toErr error
	if err := twilio.ValidateE164(to); err != nil {
		toErr = &twilio.FieldError{Field: "to", Problem: err.Error()}
	}
	if err := errors.Join(s.Validate(), toErr); err != nil {
		return twilio.Receipt{}, err
	}
	c, err := twilio.New(s, cfg)
	if err != nil {
		return twilio.Receipt{}, err
	}
	return c.SendTest(ctx, to)
}

// describeSMSError turns SendTest's error into the JSON result, its
// message in words's terms, and the exit status.
func describeSMSError(err error, words vocabulary) (result, int) {
	if fields := fieldProblems(err); len(fields) > 0 {
		if problem, onlyTo := fields["to"]; onlyTo && len(fields) == 1 {
			// The recipient alone is wrong: Twilio's own code for it,
			// still exit 2 since nothing was sent, and no "fields"
			// (which come only with "settings").
			return result{Error: &resultError{Code: "invalid_to", Message: "invalid recipient (-to): " + problem}}, exitInvalid
		}
		return result{Error: words.settingsError(fields)}, exitInvalid
	}
	res := result{Error: &resultError{Message: words.say(err.Error()), Temporary: notify.IsTemporary(err)}}
	var te *twilio.Error
	var ne *twilio.NetworkError
	if errors.As(err, &te) {
		res.Attempts = te.Attempts // Twilio's code is in the message
	}
	if errors.As(err, &ne) {
		res.Attempts = ne.Attempts
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || ne != nil && ne.Timeout():
		res.Error.Code = "timeout" // Ctrl-C too, as for email
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
	return res, exitFailed
}
