package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
)

// DelivererConfig configures a Deliverer. Outbox and at least one
// transport are required; every other zero field means its default.
type DelivererConfig struct {
	// Outbox is the queue to drain. Required.
	Outbox Outbox
	// Mailer sends queued emails. A queued email with no Mailer
	// configured becomes a dead letter.
	Mailer Mailer
	// SMSSender sends queued SMS. A queued SMS with no SMSSender
	// configured becomes a dead letter.
	SMSSender SMSSender
	// Concurrency is the most messages sent at once. Default 4.
	Concurrency int
	// ClaimBatch is the most messages Run claims at once, when more than
	// its free send slots: the others wait for a slot under their lease
	// (one whose lease would run out before its send could finish is
	// left to a later claim), and fewer claims mean less work for the
	// outbox's database. Default 0: claim as many as there are free
	// slots, so that nothing waits.
	ClaimBatch int
	// Lease is how long a claimed message is reserved for this
	// Deliverer before another may claim it. Default 2m.
	Lease time.Duration
	// SendTimeout bounds one send; it must be shorter than Lease so
	// that a slow send is abandoned before another Deliverer may claim
	// the message. Default Lease/2.
	SendTimeout time.Duration
	// PollInterval is the wait before claiming again when nothing was
	// due. Default 5s.
	PollInterval time.Duration
	// Retry spaces the attempts at a message that fails temporarily;
	// after Retry.MaxAttempts attempts it becomes a dead letter, as does
	// a permanent failure at once. When the transport's error carries a
	// server's wait (see RetryAfter), the message is not due again
	// before it, even if that is longer than Retry.MaxDelay. Zero fields
	// take DefaultDelivererRetryPolicy's values; MaxElapsed is unused.
	Retry RetryPolicy
	// Now is the clock used for retry times. Default time.Now.
	Now func() time.Time
	// Sleep waits between polls. Default SleepContext.
	Sleep Sleeper
	// Rand is the source of jitter. Default crypto/rand.Reader.
	Rand io.Reader
	// Logger receives one line per delivered, retried or dead message,
	// never its body. Default: no logging.
	Logger *slog.Logger
}

// DefaultDelivererRetryPolicy is the policy a Deliverer uses when
// DelivererConfig.Retry is zero: 10 attempts, waits from 30s doubling up
// to 1h (about 4 hours in all), half of each wait random.
func DefaultDelivererRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 10, BaseDelay: 30 * time.Second, MaxDelay: time.Hour, Jitter: 0.5}
}

// Deliverer drains an Outbox: it claims due messages, sends each through
// its transport with bounded concurrency, and marks it delivered, due
// again later, or dead. Run it in one or more processes; the Outbox's
// leases keep them from sending the same message at once. Create one
// with NewDeliverer; it is safe for concurrent use.
//
// Delivery is at least once, bounded by Retry.MaxAttempts claims of each
// message. A message can reach its recipient twice when a Deliverer dies,
// or cannot reach the outbox, between a send and its acknowledgement,
// and when a transport reports as temporary a failure after which the
// server may have taken the message: smtpx for a connection lost after
// the message's data, twilio for a 5xx answer, a timeout or a lost
// connection (unless twilio.Config.AtMostOnce). Every copy carries the
// message's key.
type Deliverer struct {
	outbox       Outbox
	mailer       Mailer
	sms          SMSSender
	concurrency  int
	claimBatch   int
	lease        time.Duration
	sendTimeout  time.Duration
	pollInterval time.Duration
	retry        RetryPolicy
	now          func() time.Time
	sleep        Sleeper
	rand         *randSource
	log          *slog.Logger
}

// NewDeliverer checks cfg and returns a Deliverer.
func NewDeliverer(cfg DelivererConfig) (*Deliverer, error) {
	var errs []error
	if cfg.Outbox == nil {
		errs = append(errs, &FieldError{Field: "DelivererConfig.Outbox", Problem: "is nil: set the outbox the Notifier enqueues into"})
	}
	if cfg.Mailer == nil && cfg.SMSSender == nil {
		errs = append(errs, fmt.Errorf("%w: set DelivererConfig.Mailer, DelivererConfig.SMSSender, or both", ErrNoTransport))
	}
	if cfg.Concurrency < 0 || cfg.ClaimBatch < 0 || cfg.Lease < 0 || cfg.SendTimeout < 0 || cfg.PollInterval < 0 {
		errs = append(errs, &FieldError{Field: "DelivererConfig", Problem: "has a negative Concurrency, ClaimBatch, Lease, SendTimeout or PollInterval: use 0 for the default or a positive value"})
	}
	errs = append(errs, cfg.Retry.validate("DelivererConfig.Retry"))
	d := &Deliverer{
		outbox:       cfg.Outbox,
		mailer:       cfg.Mailer,
		sms:          cfg.SMSSender,
		concurrency:  orDefault(cfg.Concurrency, 4),
		claimBatch:   cfg.ClaimBatch,
		lease:        orDefault(cfg.Lease, 2*time.Minute),
		pollInterval: orDefault(cfg.PollInterval, 5*time.Second),
		retry:        cfg.Retry.withDefaults(DefaultDelivererRetryPolicy()),
		now:          cfg.Now,
		sleep:        cfg.Sleep,
		rand:         newRandSource(cfg.Rand),
		log:          cfg.Logger,
	}
	d.sendTimeout = orDefault(cfg.SendTimeout, d.lease/2)
	if d.sendTimeout >= d.lease {
		errs = append(errs, &FieldError{Field: "DelivererConfig.SendTimeout", Problem: fmt.Sprintf("is %s, not shorter than the lease of %s: a send could outlive its claim", d.sendTimeout, d.lease)})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	if d.now == nil {
		d.now = time.Now
	}
	if d.sleep == nil {
		d.sleep = SleepContext
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	return d, nil
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// ackTimeout bounds MarkDelivered, which runs even after the context of
// Run or DeliverDue is cancelled: the message went out, and a moment
// spent recording that is cheaper than sending it to the recipient again.
const ackTimeout = 10 * time.Second

// Run delivers due messages until ctx is cancelled, then waits for the
// sends in flight to return and returns nil. A send that succeeds is
// acknowledged even if ctx is cancelled meanwhile, within 10 seconds
// more, so a shutdown does not cause a resend. A send cut short by the
// cancellation, or one that finished but could not be acknowledged, is
// left to its lease: another Deliverer sends it again when the lease
// expires, with the same key; so are claimed messages still waiting for
// a send slot (see ClaimBatch). Claim errors are logged and retried after
// PollInterval. When the Outbox is a BatchMarker, sends are acknowledged
// in groups (see BatchMarker), the last group once the sends in flight
// have returned.
func (d *Deliverer) Run(ctx context.Context) error {
	slots := make(chan struct{}, d.concurrency)
	var wg sync.WaitGroup
	acks := d.newAcker(ctx)
	defer func() { wg.Wait(); acks.close() }()
	var waiting []Message // claimed, waiting for a slot
	var claimedAt time.Time
	for {
		free := takeSlots(ctx, slots)
		if free == 0 {
			return nil
		}
		if len(waiting) > 0 && d.now().After(claimedAt.Add(d.lease-d.sendTimeout)) {
			waiting = nil // a send could now outlive the lease
		}
		if len(waiting) == 0 {
			waiting, claimedAt = d.claim(ctx, max(free, d.claimBatch)), d.now()
		}
		msgs := waiting[:min(free, len(waiting))]
		waiting = waiting[len(msgs):]
		for range free - len(msgs) {
			<-slots
		}
		for _, m := range msgs {
			wg.Add(1)
			go func() {
				defer func() { <-slots; wg.Done() }()
				d.deliver(ctx, m, acks)
			}()
		}
		if len(msgs) == 0 {
			acks.sync()
			if d.sleep(ctx, d.pollInterval) != nil {
				return nil
			}
		}
	}
}

// takeSlots waits for one free slot, then takes every other free one
// without waiting, and returns how many it took: 0 when ctx is done.
func takeSlots(ctx context.Context, slots chan struct{}) int {
	select {
	case slots <- struct{}{}:
	case <-ctx.Done():
		return 0
	}
	free := 1
	for free < cap(slots) {
		select {
		case slots <- struct{}{}:
			free++
		default:
			return free
		}
	}
	return free
}

// claim asks the outbox for up to max messages and logs a failure.
func (d *Deliverer) claim(ctx context.Context, max int) []Message {
	msgs, err := d.outbox.Claim(ctx, max, d.lease)
	if err != nil && ctx.Err() == nil {
		d.log.ErrorContext(ctx, "notify: claiming from the outbox failed", slog.String("error", err.Error()))
	}
	if len(msgs) > max {
		// A broken Outbox; the extra messages come back when their
		// leases expire.
		d.log.ErrorContext(ctx, "notify: Outbox.Claim returned more messages than asked for", slog.Int("asked", max), slog.Int("got", len(msgs)))
		msgs = msgs[:max]
	}
	return msgs
}

// DeliverDue claims the messages due now, up to Concurrency of them,
// delivers them concurrently and returns how many it claimed once all
// are handled. It suits a cron job, or a test that drives the clock.
func (d *Deliverer) DeliverDue(ctx context.Context) (int, error) {
	msgs, err := d.outbox.Claim(ctx, d.concurrency, d.lease)
	if err != nil {
		return 0, fmt.Errorf("notify: claiming from the outbox: %w", err)
	}
	var wg sync.WaitGroup
	for _, m := range msgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.deliver(ctx, m, nil)
		}()
	}
	wg.Wait()
	return len(msgs), nil
}

// deliver makes one attempt at m and records the outcome in the outbox,
// through acks when it is not nil.
func (d *Deliverer) deliver(ctx context.Context, m Message, acks *acker) {
	if m.Attempts > d.retry.MaxAttempts {
		// Claimed again and again without an answer: its senders crash
		// or hang. Stop before it takes the queue down with it.
		d.fail(ctx, m, Failure{Dead: true, Reason: fmt.Sprintf("claimed %d times without an acknowledgement; the limit is %d attempts", m.Attempts, d.retry.MaxAttempts)})
		return
	}
	sctx, cancel := context.WithTimeout(ctx, d.sendTimeout)
	err := send(sctx, d.mailer, d.sms, m)
	timedOut := sctx.Err() != nil
	cancel()
	if err == nil && acks != nil {
		acks.add(m) // written with the group, even after ctx is cancelled
		return
	}
	if err == nil {
		d.markDelivered(ctx, m)
		return
	}
	if ctx.Err() != nil {
		// Shutting down: whether the send went out is unknown. The
		// lease will expire.
		d.log.InfoContext(ctx, "notify: stopped during delivery; the message will be claimed again after its lease", deliveryAttrs(m)...)
		return
	}
	f := Failure{Reason: redact(err.Error(), m.Sensitive)}
	switch {
	case !IsTemporary(err) && !timedOut:
		f.Dead = true
		f.Reason = "permanent failure: " + f.Reason
	case m.Attempts >= d.retry.MaxAttempts:
		f.Dead = true
		f.Reason = fmt.Sprintf("failed %d attempts, the last one: %s", m.Attempts, f.Reason)
	default:
		wait := max(d.retry.Delay(m.Attempts, d.rand.float()), RetryAfter(err))
		f.RetryAt = d.now().Add(wait)
	}
	d.fail(ctx, m, f)
}

// markDelivered acknowledges a sent message with a context that outlives
// ctx's cancellation by at most ackTimeout.
func (d *Deliverer) markDelivered(ctx context.Context, m Message) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ackTimeout)
	defer cancel()
	if err := d.outbox.MarkDelivered(actx, m); err != nil {
		d.log.ErrorContext(actx, "notify: sent, but marking delivered failed; it will be sent again after its lease", append(deliveryAttrs(m), slog.String("error", err.Error()))...)
		return
	}
	d.logDelivered(actx, m)
}

func (d *Deliverer) fail(ctx context.Context, m Message, f Failure) {
	attrs := append(deliveryAttrs(m), slog.String("reason", f.Reason))
	if err := d.outbox.MarkFailed(ctx, m, f); err != nil {
		d.log.ErrorContext(ctx, "notify: marking a failed attempt failed; it will be claimed again after its lease", append(attrs, slog.String("error", err.Error()))...)
		return
	}
	if f.Dead {
		d.log.WarnContext(ctx, "notify: dead letter", attrs...)
		return
	}
	d.log.InfoContext(ctx, "notify: will retry", append(attrs, slog.Time("retry_at", f.RetryAt))...)
}

// deliveryAttrs are the log attributes of an attempt at m.
func deliveryAttrs(m Message) []any {
	return append(messageAttrs(m), slog.Int("attempt", m.Attempts))
}

// logDelivered logs a sent and acknowledged message. It is the one log
// line of every message, so its attributes are built only when the
// logger will write them.
func (d *Deliverer) logDelivered(ctx context.Context, m Message) {
	if d.log.Enabled(ctx, slog.LevelInfo) {
		d.log.InfoContext(ctx, "notify: delivered", deliveryAttrs(m)...)
	}
}
