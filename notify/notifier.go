package notify

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/mail"
	"slices"
	"strconv"
	"time"

	"github.com/siteadmin/integrations"
)

// Config configures a Notifier. Only the transports are required: at
// least one of Mailer, SMSSender and Outbox. Every other zero field means
// its documented default.
type Config struct {
	// Mailer sends email kinds when there is no Outbox, such as an
	// *smtpx.Mailer.
	Mailer Mailer
	// SMSSender sends SMS kinds when there is no Outbox, such as a
	// *twilio.Client.
	SMSSender SMSSender
	// Limiter, when set, checks every SMS before it is sent or queued:
	// a refused one fails with a *LimitError (see NewLimiter). Default:
	// no limits.
	Limiter *Limiter
	// Outbox, when set, receives every rendered message and the methods
	// return once it is stored; a Deliverer sends it. Mailer, SMSSender
	// and Retry are then unused.
	Outbox Outbox
	// Templates overrides built-in templates: a file of Outbox's
	// directory named as TemplateNames lists (such as
	// "invitation.html") replaces that template. Files ending in .txt or
	// .html with any other name are an error, other files are ignored.
	// Use fs.Sub to point at a subdirectory. Default: none.
	Templates fs.FS
	// SiteName is the product name that templates show (the "site"
	// function), such as "Acme Cloud". Default: none, and the built-in
	// templates leave it out.
	SiteName string
	// Retry is how temporary transport failures are retried when there
	// is no Outbox. Zero fields take DefaultRetryPolicy's values.
	Retry RetryPolicy
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Sleep waits between attempts. Default SleepContext.
	Sleep Sleeper
	// Rand is the source of idempotency keys and jitter; reads are
	// serialised, so any io.Reader works. Default crypto/rand.Reader.
	Rand io.Reader
	// Logger receives one line per sent, queued or failed message, with
	// the kind, recipient, key and attempts, never the body. Default:
	// no logging.
	Logger *slog.Logger
}

// Notifier renders notifications from their templates and sends or
// queues them. Create one with New; it is safe for concurrent use.
type Notifier struct {
	mailer    Mailer
	sms       SMSSender
	outbox    Outbox
	limiter   *Limiter
	templates *templates
	retry     RetryPolicy
	now       func() time.Time
	sleep     Sleeper
	rand      *randSource
	log       *slog.Logger
}

// New checks cfg, parses every template (built-in or overridden) and
// renders each once on sample data, so that a broken template is
// reported here, never at send time.
func New(cfg Config) (*Notifier, error) {
	if cfg.Mailer == nil && cfg.SMSSender == nil && cfg.Outbox == nil {
		return nil, fmt.Errorf("%w: set Config.Mailer (email), Config.SMSSender (SMS) or Config.Outbox (queued delivery)", ErrNoTransport)
	}
	if err := cfg.Retry.validate("Config.Retry"); err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	t, err := parseTemplates(cfg.Templates, foldLine(cfg.SiteName))
	if err != nil {
		return nil, err
	}
	n := &Notifier{
		mailer:    cfg.Mailer,
		sms:       cfg.SMSSender,
		outbox:    cfg.Outbox,
		limiter:   cfg.Limiter,
		templates: t,
		retry:     cfg.Retry.withDefaults(DefaultRetryPolicy()),
		now:       cfg.Now,
		sleep:     cfg.Sleep,
		rand:      newRandSource(cfg.Rand),
		log:       cfg.Logger,
	}
	if n.now == nil {
		n.now = time.Now
	}
	if n.sleep == nil {
		n.sleep = SleepContext
	}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	return n, nil
}

// Invite emails an invitation to each address in to.
func (n *Notifier) Invite(ctx context.Context, d Invitation, to ...string) error {
	return n.Notify(ctx, d, to...)
}

// ResetPassword emails a password reset link to each address in to.
func (n *Notifier) ResetPassword(ctx context.Context, d PasswordReset, to ...string) error {
	return n.Notify(ctx, d, to...)
}

// SystemError emails a failure report to each address in to, usually
// every site admin.
func (n *Notifier) SystemError(ctx context.Context, d SystemError, to ...string) error {
	return n.Notify(ctx, d, to...)
}

// ExpiryWarning emails a warning that something expires soon, or has, to
// each address in to, usually every site admin.
func (n *Notifier) ExpiryWarning(ctx context.Context, d ExpiryWarning, to ...string) error {
	return n.Notify(ctx, d, to...)
}

// SendTwoFactorCode texts a one-time code to each number in to. The code
// never appears in a log line or in the returned error.
func (n *Notifier) SendTwoFactorCode(ctx context.Context, d TwoFactorCode, to ...string) error {
	return n.Notify(ctx, d, to...)
}

// SendTestEmail emails a test message to each address in to.
func (n *Notifier) SendTestEmail(ctx context.Context, d TestEmail, to ...string) error {
	return n.Notify(ctx, d, to...)
}

// SendTestSMS texts a test message to each number in to.
func (n *Notifier) SendTestSMS(ctx context.Context, d TestSMS, to ...string) error {
	return n.Notify(ctx, d, to...)
}

// Notify renders d once and sends it to each recipient in turn: bare
// email addresses for email kinds, E.164 numbers for SMS kinds. A
// recipient listed twice is sent to once. Each recipient's message has
// its own idempotency key, kept across retries. Without an Outbox a
// temporary failure is retried by Config.Retry before the next
// recipient is tried, and once ctx is done the remaining recipients are
// not tried; with one, all messages are enqueued in one call, and if
// that call fails nothing was queued.
//
// Invalid data or templates fail before anything is sent. Otherwise the
// error joins one *RecipientError per recipient that failed (and the
// Enqueue error, if any); the others were sent (or queued).
func (n *Notifier) Notify(ctx context.Context, d Data, to ...string) error {
	if err := n.transportFor(d.Kind()); err != nil {
		return err
	}
	msgs, errs, err := n.Render(d, to...)
	if err != nil {
		return err
	}
	msgs, errs = n.applyLimits(ctx, msgs, errs)
	if n.outbox != nil {
		if len(msgs) > 0 {
			if err := n.outbox.Enqueue(ctx, msgs); err != nil {
				return errors.Join(append(errs, fmt.Errorf("notify: queueing %d %s messages in the outbox: %w", len(msgs), d.Kind(), err))...)
			}
			for _, m := range msgs {
				n.log.DebugContext(ctx, "notify: queued", messageAttrs(m)...)
			}
		}
		return errors.Join(errs...)
	}
	for _, m := range msgs {
		if err := ctx.Err(); err != nil {
			errs = append(errs, &RecipientError{Kind: m.Kind(), Recipient: m.To(), Key: m.Key(), Err: fmt.Errorf("not tried: %w", err)})
			continue
		}
		if err := n.sendWithRetry(ctx, m); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Render validates d, renders it, and returns one Message per valid,
// distinct recipient, each with a fresh idempotency key, as Notify
// would send or queue them; it needs no transport. recipientErrs holds
// one *RecipientError per invalid recipient. err is set, and nothing
// returned, when d is invalid or cannot be rendered. Use it for
// previews, or to queue messages in an outbox of your own.
func (n *Notifier) Render(d Data, to ...string) (msgs []Message, recipientErrs []error, err error) {
	kind := d.Kind()
	sms := slices.Contains(smsKinds, kind)
	if !sms && !slices.Contains(emailKinds, kind) {
		return nil, nil, fmt.Errorf("notify: unknown kind %q: use one of the Data types of this package", kind)
	}
	if err := d.Validate(); err != nil {
		return nil, nil, fmt.Errorf("notify: %s: %w", kind, err)
	}
	if len(to) == 0 {
		return nil, nil, fmt.Errorf("notify: %s: no recipients: pass at least one", kind)
	}
	key, err := n.newKey(kind)
	if err != nil {
		return nil, nil, err
	}
	var proto Message
	if sms {
		body, err := n.templates.renderSMS(d)
		if err != nil {
			return nil, nil, err
		}
		proto.SMS = &SMS{Kind: kind, Body: body}
	} else {
		subject, text, html, err := n.templates.renderEmail(d)
		if err != nil {
			return nil, nil, err
		}
		proto.Email = &Email{Kind: kind, Subject: subject, Text: text, HTML: html}
	}
	proto.Sensitive = sensitive(d)
	seen := map[string]bool{}
	for _, r := range to {
		if seen[r] {
			continue
		}
		seen[r] = true
		if err := checkRecipient(r, sms); err != nil {
			recipientErrs = append(recipientErrs, &RecipientError{Kind: kind, Recipient: r, Err: err})
			continue
		}
		msgs = append(msgs, proto.to(r, key+"."+strconv.Itoa(len(seen))))
	}
	return msgs, recipientErrs, nil
}

// to returns a copy of proto addressed to one recipient.
func (m Message) to(recipient, key string) Message {
	if m.Email != nil {
		e := *m.Email
		e.To, e.Key = recipient, key
		// Auto-Submitted keeps vacation responders from answering
		// (RFC 3834).
		e.Headers = map[string]string{"Auto-Submitted": "auto-generated"}
		m.Email = &e
	}
	if m.SMS != nil {
		s := *m.SMS
		s.To, s.Key = recipient, key
		m.SMS = &s
	}
	return m
}

func (n *Notifier) transportFor(kind Kind) error {
	sms := slices.Contains(smsKinds, kind)
	switch {
	case n.outbox != nil:
		return nil
	case sms && n.sms == nil:
		return fmt.Errorf("%w: sending an SMS needs Config.SMSSender (such as twilio) or Config.Outbox", ErrNoTransport)
	case !sms && n.mailer == nil:
		return fmt.Errorf("%w: sending an email needs Config.Mailer (such as smtpx) or Config.Outbox", ErrNoTransport)
	}
	return nil
}

func (n *Notifier) sendWithRetry(ctx context.Context, m Message) error {
	attempts, err := n.retry.retry(ctx, n.now, n.sleep, n.rand, func(ctx context.Context) error {
		return send(ctx, n.mailer, n.sms, m)
	})
	attrs := append(messageAttrs(m), slog.Int("attempts", attempts))
	if err == nil {
		n.log.InfoContext(ctx, "notify: sent", attrs...)
		return nil
	}
	rerr := &RecipientError{Kind: m.Kind(), Recipient: m.To(), Key: m.Key(), Attempts: attempts, Err: err, sensitive: m.Sensitive}
	n.log.WarnContext(ctx, "notify: not sent", append(attrs, slog.String("error", rerr.Error()))...)
	return rerr
}

// send hands m to its transport.
func send(ctx context.Context, mailer Mailer, sms SMSSender, m Message) error {
	switch {
	case m.Email != nil && mailer != nil:
		return mailer.SendEmail(ctx, *m.Email)
	case m.SMS != nil && sms != nil:
		return sms.SendSMS(ctx, *m.SMS)
	case m.Email != nil:
		return fmt.Errorf("%w: no Mailer is configured to send email", ErrNoTransport)
	case m.SMS != nil:
		return fmt.Errorf("%w: no SMSSender is configured to send SMS", ErrNoTransport)
	}
	return errors.New("notify: the message has neither Email nor SMS set")
}

func messageAttrs(m Message) []any {
	return []any{slog.String("kind", string(m.Kind())), slog.String("to", m.To()), slog.String("key", m.Key())}
}

// newKey returns "<kind>.<32 hex digits>"; Render appends ".<n>" for the
// n-th recipient. Keys hold only characters that are valid in the left
// part of a Message-ID.
func (n *Notifier) newKey(kind Kind) (string, error) {
	var b [16]byte
	if err := n.rand.read(b[:]); err != nil {
		return "", fmt.Errorf("notify: cannot make an idempotency key: reading Config.Rand failed: %w", err)
	}
	return string(kind) + "." + hex.EncodeToString(b[:]), nil
}

// sensitive lists the values of d that must not reach logs or errors:
// one-time codes, and links that carry a token.
func sensitive(d Data) []integrations.Secret {
	switch d := d.(type) {
	case TwoFactorCode:
		return []integrations.Secret{d.Code}
	case PasswordReset:
		return []integrations.Secret{integrations.Secret(d.ResetURL)}
	case Invitation:
		return []integrations.Secret{integrations.Secret(d.AcceptURL)}
	}
	return nil
}

// checkRecipient accepts a bare email address ("alice@example.com", no
// display name, no CR or LF) or an E.164 number ("+14155550100").
func checkRecipient(r string, sms bool) error {
	if sms {
		if !isE164(r) {
			return fmt.Errorf("%w: %q is not a phone number in E.164 form: write it as + then the country code and number, 2 to 15 digits only, such as +14155550100", ErrInvalidRecipient, r)
		}
		return nil
	}
	a, err := mail.ParseAddress(r)
	if err != nil || a.Name != "" || a.Address != r {
		return fmt.Errorf("%w: %q is not a bare email address: write it as alice@example.com, without a display name or angle brackets", ErrInvalidRecipient, r)
	}
	return nil
}

// isE164 is the rule twilio.ValidateE164 applies (issue 4): "+", then 2
// to 15 digits, the first not 0, and nothing else. The Notifier must not
// refuse a number that the transport would send to.
func isE164(s string) bool {
	if len(s) < 3 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
