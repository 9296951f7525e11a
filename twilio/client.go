package twilio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/siteadmin/integrations"
	"github.com/siteadmin/integrations/notify"
)

// Defaults for the zero values of Config.
const (
	DefaultMaxAttempts = 4                      // requests per message, retries included
	DefaultMinBackoff  = 500 * time.Millisecond // the first wait before a retry
	DefaultMaxBackoff  = 30 * time.Second       // the longest single wait
	DefaultTimeout     = 30 * time.Second       // per request, of the default HTTP client
)

// maxResponse bounds how much of an answer the client reads.
const maxResponse = 1 << 20

// Config holds the client's options. The zero value of every field means
// its documented default.
type Config struct {
	// HTTPClient sends the requests. Default: a client with DefaultTimeout
	// that does not follow redirects (Twilio's API never redirects).
	HTTPClient *http.Client
	// Logger receives one line per attempt and outcome (never the body,
	// the token or more of the number than its last four digits).
	// Default: silent.
	Logger *slog.Logger
	// StatusCallback is a URL Twilio calls as the message's delivery status
	// changes; sent as the StatusCallback field when set, with the
	// message's key added as CallbackKeyParam (see StatusHandler).
	// Default: none.
	StatusCallback string
	// MaxAttempts bounds the requests per message, the first included.
	// Default: DefaultMaxAttempts; 1 disables retries. A notify.Notifier
	// or Deliverer that retries a Temporary error calls SendSMS again, so
	// a message can cost up to its Retry.MaxAttempts times this many
	// requests.
	MaxAttempts int
	// MinBackoff is the wait before the first retry; each retry doubles it,
	// and a random jitter takes off up to half. Default: DefaultMinBackoff.
	MinBackoff time.Duration
	// MaxBackoff caps one wait. A Retry-After longer than this, or longer
	// than the context has left, ends the retries at once with the rate
	// limit error (whose RetryAfter method says when to come back).
	// Default: DefaultMaxBackoff.
	MaxBackoff time.Duration
	// AtMostOnce never repeats a request that Twilio may have acted on: a
	// 5xx answer, a timeout, or a connection lost after the request went
	// out. Such a failure is then final (Temporary reports false), so a
	// message is never sent twice, and some are lost instead.
	//
	// Default false: like smtpx, the client delivers at least once. Those
	// failures are retried within MaxAttempts, and reported Temporary
	// after the last attempt so that a notify.Notifier or Deliverer tries
	// again later. Twilio's Messages API takes no idempotency key, so
	// when Twilio had in fact accepted the message before failing, each
	// such retry sends the recipient another copy.
	AtMostOnce bool
	// Sleep waits d or until ctx ends, returning ctx's error in that case;
	// tests replace it. Default: a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock for Retry-After dates. Default: time.Now.
	Now func() time.Time
}

// Client sends SMS through Twilio's Messages API with one account's
// settings. It implements notify.SMSSender, is safe for concurrent use,
// and never prints or logs its credentials. Create it with New.
type Client struct {
	settings  Settings
	cfg       Config
	endpoint  string
	username  string
	password  integrations.Secret
	redact    redactor
	userAgent string
}

// New checks the settings (see Settings.Validate) and the config, and
// returns a client. It does not contact Twilio; SendTest does.
func New(s Settings, cfg Config) (*Client, error) {
	errs := []error{s.Validate()}
	if cfg.StatusCallback != "" {
		if u, err := url.Parse(cfg.StatusCallback); err != nil || u.Host == "" || u.User != nil || u.Scheme != "https" && u.Scheme != "http" {
			errs = append(errs, fmt.Errorf("twilio: Config.StatusCallback: must be an absolute http or https URL, got %s", quoteInput(cfg.StatusCallback)))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{
			Timeout:       DefaultTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.Sleep == nil {
		cfg.Sleep = notify.SleepContext
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	base := s.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	c := &Client{
		settings:  s,
		cfg:       cfg,
		endpoint:  strings.TrimRight(base, "/") + "/2010-04-01/Accounts/" + s.AccountSID + "/Messages.json",
		username:  s.AccountSID,
		password:  s.AuthToken,
		userAgent: userAgent(),
	}
	if s.APIKeySID != "" {
		c.username, c.password = s.APIKeySID, s.APIKeySecret
	}
	c.redact = newRedactor(c.username, c.password)
	return c, nil
}

const modulePath = "github.com/siteadmin/integrations"

// userAgent names this SDK and its version, as the build recorded it.
func userAgent() string {
	version := "devel"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Path == modulePath && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			version = bi.Main.Version
		}
		for _, d := range bi.Deps {
			if d.Path == modulePath {
				version = d.Version
			}
		}
	}
	return "siteadmin-integrations/" + version + " twilio (" + runtime.Version() + ")"
}

// UserAgent returns the User-Agent the client sends, such as
// "siteadmin-integrations/v1.2.0 twilio (go1.24.4)".
func (c *Client) UserAgent() string { return c.userAgent }

// SendSMS sends msg, retrying as Config says: at most MaxAttempts
// requests, waits of at most MaxBackoff each, and none past ctx's
// deadline. It implements notify.SMSSender. It refuses with ErrDisabled while Settings.Enabled is
// false. Errors: *FieldError for an invalid message, *Error for Twilio's
// answer, *NetworkError for no answer; notify.IsTemporary tells which a
// later attempt may cure.
func (c *Client) SendSMS(ctx context.Context, msg notify.SMS) error {
	_, err := c.Send(ctx, msg)
	return err
}

// Send is SendSMS returning Twilio's receipt for the accepted message.
func (c *Client) Send(ctx context.Context, msg notify.SMS) (Receipt, error) {
	if !c.settings.Enabled {
		return Receipt{}, ErrDisabled
	}
	return c.send(ctx, msg)
}

// ValidateMessage reports every problem that would make Twilio refuse msg,
// as an errors.Join of *FieldError for "to" and "body", or nil: To must be
// E.164, Body not blank, valid UTF-8 and at most notify.MaxSMSLength
// characters.
func ValidateMessage(msg notify.SMS) error {
	var errs []error
	if err := ValidateE164(msg.To); err != nil {
		errs = append(errs, &FieldError{Field: "to", Problem: err.Error()})
	}
	body := func(p string) { errs = append(errs, &FieldError{Field: "body", Problem: p}) }
	switch n := utf8.RuneCountInString(msg.Body); {
	case strings.TrimSpace(msg.Body) == "":
		body("is empty: Twilio needs text to send")
	case !utf8.ValidString(msg.Body):
		body("is not valid UTF-8")
	case n > notify.MaxSMSLength:
		body(fmt.Sprintf("has %d characters; Twilio accepts at most %d", n, notify.MaxSMSLength))
	}
	return errors.Join(errs...)
}

func (c *Client) send(ctx context.Context, msg notify.SMS) (Receipt, error) {
	if err := ValidateMessage(msg); err != nil {
		return Receipt{}, err
	}
	form := c.form(msg)
	attrs := []any{"kind", msg.Kind, "key", msg.Key, "to", maskNumber(msg.To)}
	for attempt := 1; ; attempt++ {
		rec, err := c.post(ctx, form, attempt)
		if err == nil {
			rec.Attempts = attempt
			c.log(ctx, slog.LevelInfo, "twilio: message accepted", append(attrs, "attempt", attempt, "sid", rec.SID, "status", rec.Status, "segments", rec.Segments)...)
			return rec, nil
		}
		wait, retry := c.retryWait(ctx, err, attempt)
		if !retry {
			c.log(ctx, slog.LevelWarn, "twilio: message not sent", append(append(attrs, "attempt", attempt), failureAttrs(err)...)...)
			return Receipt{}, err
		}
		c.log(ctx, slog.LevelInfo, "twilio: retrying", append(append(attrs, "attempt", attempt, "wait", wait), failureAttrs(err)...)...)
		if serr := c.cfg.Sleep(ctx, wait); serr != nil {
			return Receipt{}, fmt.Errorf("twilio: stopped waiting to retry: %w; the last answer was: %w", serr, err)
		}
	}
}

func (c *Client) form(msg notify.SMS) string {
	v := url.Values{}
	v.Set("To", msg.To)
	v.Set("Body", msg.Body)
	if c.settings.MessagingServiceSID != "" {
		v.Set("MessagingServiceSid", c.settings.MessagingServiceSID)
	} else {
		v.Set("From", c.settings.FromNumber)
	}
	if c.cfg.StatusCallback != "" {
		v.Set("StatusCallback", statusCallbackURL(c.cfg.StatusCallback, msg.Key))
	}
	return v.Encode()
}

// post makes one request and reads its answer.
func (c *Client) post(ctx context.Context, form string, attempt int) (Receipt, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, strings.NewReader(form))
	if err != nil {
		return Receipt{}, c.networkError(err, attempt)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	req.SetBasicAuth(c.username, c.password.Reveal())
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return Receipt{}, c.networkError(err, attempt)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return Receipt{}, c.networkError(err, attempt)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse)) // lets the connection be reused
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		rec, err := parseReceipt(body, c.redact)
		if err != nil {
			return Receipt{}, &Error{
				Status:   resp.StatusCode,
				Message:  "HTTP " + strconv.Itoa(resp.StatusCode) + " but " + err.Error() + "; check the base URL (if it is Twilio's, the message was probably sent, so it is not resent)",
				Attempts: attempt,
			}
		}
		return rec, nil
	}
	e := parseError(resp.StatusCode, body, c.redact)
	e.Attempts = attempt
	e.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), c.cfg.Now())
	e.temporary = errors.Is(e, ErrRateLimited) || e.Status >= 500 && !c.cfg.AtMostOnce
	return Receipt{}, e
}

func (c *Client) networkError(err error, attempt int) *NetworkError {
	cancelled := errors.Is(err, context.Canceled)
	return &NetworkError{
		URL:       c.endpoint,
		Err:       err,
		Attempts:  attempt,
		temporary: !cancelled && (notSent(err) || !c.cfg.AtMostOnce),
	}
}

// failureAttrs describes a failed attempt for the log without the error's
// text: Twilio's messages quote the full To number ("The 'To' number
// +14155550100 is not a valid phone number"), and Config.Logger promises
// no more of it than the last four digits (which attrs already hold).
func failureAttrs(err error) []any {
	var e *Error
	var ne *NetworkError
	switch {
	case errors.As(err, &e):
		return []any{"http_status", e.Status, "twilio_code", e.Code}
	case errors.As(err, &ne):
		return []any{"failure", "network", "timeout", ne.Timeout(), "canceled", errors.Is(ne, context.Canceled)}
	}
	return []any{"failure", "other"}
}

func (c *Client) log(ctx context.Context, level slog.Level, msg string, args ...any) {
	if c.cfg.Logger != nil {
		c.cfg.Logger.Log(ctx, level, msg, args...)
	}
}

// maskNumber keeps a number's last four digits for logs.
func maskNumber(n string) string {
	if len(n) <= 4 {
		return strings.Repeat("*", len(n))
	}
	return strings.Repeat("*", len(n)-4) + n[len(n)-4:]
}

// String describes the client without its credentials.
func (c *Client) String() string {
	from := c.settings.FromNumber
	if c.settings.MessagingServiceSID != "" {
		from = c.settings.MessagingServiceSID
	}
	return fmt.Sprintf("twilio.Client{account-sid: %s, from: %s, endpoint: %s, auth: %s}", c.settings.AccountSID, from, c.endpoint, c.authKind())
}

func (c *Client) authKind() string {
	if c.settings.APIKeySID != "" {
		return "api-key " + c.settings.APIKeySID
	}
	return "auth-token [redacted]"
}

// Format prints String for every verb, so no verb can reach the token.
func (c *Client) Format(f fmt.State, verb rune) { _, _ = io.WriteString(f, c.String()) }

// LogValue lets slog log the client without its credentials.
func (c *Client) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("account-sid", c.settings.AccountSID),
		slog.String("from-number", c.settings.FromNumber),
		slog.String("messaging-service-sid", c.settings.MessagingServiceSID),
		slog.String("endpoint", c.endpoint),
		slog.String("auth", c.authKind()),
	)
}
