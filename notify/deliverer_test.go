package notify_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations"
	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/notify/notifytest"
)

// queue is an outbox, a Notifier that enqueues into it and a Deliverer
// that drains it, all on one fake clock.
type queue struct {
	clock  *notifytest.Clock
	outbox *notifytest.Outbox
	n      *notify.Notifier
	d      *notify.Deliverer
	mailer *notifytest.Mailer
	sms    *notifytest.SMSSender
}

func newQueue(t *testing.T, cfg notify.DelivererConfig) queue {
	t.Helper()
	q := queue{clock: notifytest.NewClock(epoch), mailer: &notifytest.Mailer{}, sms: &notifytest.SMSSender{}}
	q.outbox = notifytest.NewOutbox(q.clock.Now)
	n, err := notify.New(notify.Config{Outbox: q.outbox, Rand: seeded(2)})
	require.NoError(t, err)
	q.n = n
	cfg.Outbox = q.outbox
	if cfg.Mailer == nil {
		cfg.Mailer = q.mailer
	}
	if cfg.SMSSender == nil {
		cfg.SMSSender = q.sms
	}
	cfg.Now, cfg.Sleep, cfg.Rand = q.clock.Now, q.clock.Sleep, seeded(3)
	d, err := notify.NewDeliverer(cfg)
	require.NoError(t, err)
	q.d = d
	return q
}

// drain runs DeliverDue, moving the clock an hour on between rounds,
// until every message is delivered or dead.
func (q queue) drain(t *testing.T) {
	t.Helper()
	for round := 0; q.outbox.Count(notifytest.Pending)+q.outbox.Count(notifytest.Leased) > 0; round++ {
		require.Less(t, round, 1000, "the outbox does not drain")
		_, err := q.d.DeliverDue(t.Context())
		require.NoError(t, err)
		q.clock.Advance(time.Hour)
	}
}

func (q queue) only(t *testing.T) notifytest.Record {
	t.Helper()
	recs := q.outbox.Records()
	require.Len(t, recs, 1)
	return recs[0]
}

func TestNotifierWithOutboxEnqueuesAndReturns(t *testing.T) {
	t.Parallel()
	q := newQueue(t, notify.DelivererConfig{})
	require.NoError(t, q.n.Invite(t.Context(), notify.Invitation{Organization: "Acme", AcceptURL: "https://a.example.com/i"}, "a@example.com", "b@example.com"))
	recs := q.outbox.Records()
	require.Len(t, recs, 2)
	for _, r := range recs {
		assert.Equal(t, notifytest.Pending, r.State)
		assert.Equal(t, notify.KindInvitation, r.Message.Kind())
		assert.Equal(t, []integrations.Secret{"https://a.example.com/i"}, r.Message.Sensitive)
	}
	assert.Zero(t, q.mailer.Attempts(), "nothing is sent before a Deliverer runs")

	q.drain(t)
	assert.Len(t, q.mailer.Sent(), 2)
	assert.Equal(t, 2, q.outbox.Count(notifytest.Delivered))
}

func TestDelivererTemporaryThreeTimesThenDeliversOnce(t *testing.T) {
	t.Parallel()
	q := newQueue(t, notify.DelivererConfig{})
	q.mailer.FailNext(3, notifytest.Temporary)
	require.NoError(t, q.n.SendTestEmail(t.Context(), notify.TestEmail{}, "a@example.com"))
	q.drain(t)
	assert.Equal(t, 4, q.mailer.Attempts())
	require.Len(t, q.mailer.Sent(), 1)
	r := q.only(t)
	assert.Equal(t, notifytest.Delivered, r.State)
	assert.Equal(t, 4, r.Message.Attempts)
	assert.Equal(t, "notifytest: injected temporary failure", r.LastFailure)
}

func TestDelivererRetryWaitsForTheBackoff(t *testing.T) {
	t.Parallel()
	q := newQueue(t, notify.DelivererConfig{Retry: notify.RetryPolicy{BaseDelay: time.Minute, Jitter: -1}})
	q.mailer.FailNext(1, notifytest.Temporary)
	require.NoError(t, q.n.SendTestEmail(t.Context(), notify.TestEmail{}, "a@example.com"))
	n, err := q.d.DeliverDue(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, epoch.Add(time.Minute), q.only(t).Due)

	q.clock.Advance(time.Minute - time.Second)
	n, err = q.d.DeliverDue(t.Context())
	require.NoError(t, err)
	assert.Zero(t, n, "not due before the backoff")
	q.clock.Advance(time.Second)
	n, err = q.d.DeliverDue(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, notifytest.Delivered, q.only(t).State)
}

// A server's Retry-After is a floor under the backoff: a Twilio 429 with
// Retry-After: 600 used to leave the message due again in 22s (issue
// 14, item 4).
func TestDelivererHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		retryAfter time.Duration
		due        time.Duration
	}{
		{"longer than the backoff", 600 * time.Second, 600 * time.Second},
		{"longer than MaxDelay", 3 * time.Hour, 3 * time.Hour},
		{"shorter than the backoff", time.Second, 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sms := notify.SMSSenderFunc(func(context.Context, notify.SMS) error { return throttled{tt.retryAfter} })
			q := newQueue(t, notify.DelivererConfig{SMSSender: sms, Retry: notify.RetryPolicy{Jitter: -1}})
			require.NoError(t, q.n.SendTestSMS(t.Context(), notify.TestSMS{}, "+14155550100"))
			_, err := q.d.DeliverDue(t.Context())
			require.NoError(t, err)
			r := q.only(t)
			assert.Equal(t, notifytest.Pending, r.State)
			assert.Equal(t, epoch.Add(tt.due), r.Due)
		})
	}
}

func TestDelivererDeadLetters(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		fail         notifytest.Failure
		maxAttempts  int
		wantAttempts int
		wantReason   string
	}{
		{"permanent at once", notifytest.Permanent, 5, 1, "permanent failure: notifytest: injected permanent failure"},
		{"temporary after the configured attempts", notifytest.Temporary, 3, 3, "failed 3 attempts, the last one: notifytest: injected temporary failure"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := newQueue(t, notify.DelivererConfig{Retry: notify.RetryPolicy{MaxAttempts: tt.maxAttempts}})
			q.mailer.FailNext(100, tt.fail)
			require.NoError(t, q.n.SendTestEmail(t.Context(), notify.TestEmail{}, "a@example.com"))
			q.drain(t)
			assert.Equal(t, tt.wantAttempts, q.mailer.Attempts())
			assert.Empty(t, q.mailer.Sent())
			r := q.only(t)
			assert.Equal(t, notifytest.Dead, r.State)
			assert.Equal(t, tt.wantAttempts, r.Message.Attempts)
			assert.Equal(t, tt.wantReason, r.LastFailure)

			q.clock.Advance(24 * time.Hour)
			n, err := q.d.DeliverDue(t.Context())
			require.NoError(t, err)
			assert.Zero(t, n, "a dead letter is never claimed again")
		})
	}
}

func TestDelivererKilledBetweenSendAndAckRedeliversWithSameKey(t *testing.T) {
	t.Parallel()
	clock := notifytest.NewClock(epoch)
	inner := notifytest.NewOutbox(clock.Now)
	// The first send succeeds, then the process "dies" before its
	// acknowledgement reaches the outbox.
	var once sync.Once
	died := func() (lost bool) { once.Do(func() { lost = true }); return lost }
	outbox := lossyOutbox{Outbox: inner, lose: died}
	n, err := notify.New(notify.Config{Outbox: outbox, Rand: seeded(2)})
	require.NoError(t, err)
	mailer := &notifytest.Mailer{}
	d, err := notify.NewDeliverer(notify.DelivererConfig{Outbox: outbox, Mailer: mailer, Lease: time.Minute, Now: clock.Now, Sleep: clock.Sleep, Rand: seeded(3)})
	require.NoError(t, err)
	require.NoError(t, n.SendTestEmail(t.Context(), notify.TestEmail{}, "a@example.com"))

	_, err = d.DeliverDue(t.Context())
	require.NoError(t, err)
	require.Len(t, mailer.Sent(), 1)
	recs := inner.Records()
	require.Len(t, recs, 1)
	r := recs[0]
	assert.Equal(t, notifytest.Leased, r.State, "never acknowledged")

	// A new Deliverer (the restarted process) cannot take it while the
	// lease lasts...
	claimed, err := d.DeliverDue(t.Context())
	require.NoError(t, err)
	assert.Zero(t, claimed)
	// ...and sends it again once the lease has expired.
	clock.Advance(time.Minute)
	claimed, err = d.DeliverDue(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 1, claimed)

	sent := mailer.Sent()
	require.Len(t, sent, 2, "at least once: the message is sent again")
	assert.Equal(t, sent[0].Key, sent[1].Key, "with the same idempotency key")
	assert.Equal(t, r.Message.Key(), sent[1].Key)
	r, ok := inner.Record(r.Message.Key())
	require.True(t, ok)
	assert.Equal(t, notifytest.Delivered, r.State)
	assert.Equal(t, 2, r.Message.Attempts)
}

// A send that succeeds while the Deliverer is being stopped is still
// acknowledged: skipping MarkDelivered would send it again after the
// lease (issue 14, item 6).
func TestDelivererAcknowledgesASendThatFinishedDuringShutdown(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"DeliverDue", "Run"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			inner := &notifytest.Mailer{}
			ctx, stop := context.WithCancel(t.Context())
			mailer := notify.MailerFunc(func(c context.Context, e notify.Email) error {
				err := inner.SendEmail(c, e)
				stop() // SIGTERM arrives just after the server said 250
				return err
			})
			q := newQueue(t, notify.DelivererConfig{Mailer: mailer, Lease: time.Minute})
			require.NoError(t, q.n.SendTestEmail(t.Context(), notify.TestEmail{}, "a@example.com"))
			if how == "Run" {
				require.NoError(t, q.d.Run(ctx))
			} else {
				_, err := q.d.DeliverDue(ctx)
				require.NoError(t, err)
			}
			require.Len(t, inner.Sent(), 1)
			assert.Equal(t, notifytest.Delivered, q.only(t).State, "acknowledged despite the cancel")

			q.clock.Advance(time.Hour)
			n, err := q.d.DeliverDue(t.Context())
			require.NoError(t, err)
			assert.Zero(t, n, "nothing left to send again")
			assert.Len(t, inner.Sent(), 1)
		})
	}
}

func TestDelivererRunStopsCleanlyOnCancel(t *testing.T) {
	t.Parallel()
	q := newQueue(t, notify.DelivererConfig{Concurrency: 2, Lease: time.Minute})
	gate := q.mailer.Hold()
	require.NoError(t, q.n.SystemError(t.Context(), notify.SystemError{Component: "c", Summary: "s"}, "a@example.com", "b@example.com", "c@example.com"))

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- q.d.Run(ctx) }()
	require.NoError(t, gate.Wait(t.Context(), 2))
	assert.Equal(t, 2, q.mailer.Attempts(), "no more sends than Concurrency at once")
	cancel()
	require.NoError(t, <-done, "Run returns once the sends in flight have returned")
	assert.Empty(t, q.mailer.Sent())
	assert.Equal(t, 2, q.outbox.Count(notifytest.Leased), "the interrupted sends wait for their lease")
	assert.Equal(t, 1, q.outbox.Count(notifytest.Pending))

	gate.Release()
	q.clock.Advance(time.Minute)
	q.drain(t)
	assert.Len(t, q.mailer.Sent(), 3)
}

func TestDelivererRedactsSecretsFromFailureReasons(t *testing.T) {
	t.Parallel()
	leaky := notify.SMSSenderFunc(func(_ context.Context, m notify.SMS) error { return leakyError{body: m.Body} })
	q := newQueue(t, notify.DelivererConfig{SMSSender: leaky})
	require.NoError(t, q.n.SendTwoFactorCode(t.Context(), notify.TwoFactorCode{Code: "550123"}, "+14155550100"))
	q.drain(t)
	r := q.only(t)
	assert.Equal(t, notifytest.Dead, r.State)
	assert.NotContains(t, r.LastFailure, "550123")
	assert.Contains(t, r.LastFailure, "[redacted]")
}

func TestDelivererDeadLettersWhatItCannotSend(t *testing.T) {
	t.Parallel()
	clock := notifytest.NewClock(epoch)
	outbox := notifytest.NewOutbox(clock.Now)
	d, err := notify.NewDeliverer(notify.DelivererConfig{Outbox: outbox, Mailer: &notifytest.Mailer{}, Now: clock.Now})
	require.NoError(t, err)
	require.NoError(t, outbox.Enqueue(t.Context(), []notify.Message{{SMS: &notify.SMS{Kind: notify.KindTestSMS, To: "+14155550100", Body: "hi", Key: "k1"}}}))
	_, err = d.DeliverDue(t.Context())
	require.NoError(t, err)
	r, ok := outbox.Record("k1")
	require.True(t, ok)
	assert.Equal(t, notifytest.Dead, r.State)
	assert.Contains(t, r.LastFailure, "no SMSSender is configured")
}

func TestDelivererGivesUpOnAMessageThatKeepsCrashingIt(t *testing.T) {
	t.Parallel()
	q := newQueue(t, notify.DelivererConfig{Lease: time.Minute, Retry: notify.RetryPolicy{MaxAttempts: 3}})
	require.NoError(t, q.n.SendTestEmail(t.Context(), notify.TestEmail{}, "a@example.com"))
	for range 3 { // three claims that never answer, as from crashing processes
		msgs, err := q.outbox.Claim(t.Context(), 1, time.Minute)
		require.NoError(t, err)
		require.Len(t, msgs, 1)
		q.clock.Advance(time.Minute)
	}
	_, err := q.d.DeliverDue(t.Context())
	require.NoError(t, err)
	assert.Zero(t, q.mailer.Attempts())
	r := q.only(t)
	assert.Equal(t, notifytest.Dead, r.State)
	assert.Contains(t, r.LastFailure, "claimed 4 times without an acknowledgement")
}

func TestNewDelivererChecksConfig(t *testing.T) {
	t.Parallel()
	outbox := notifytest.NewOutbox(nil)
	mailer := &notifytest.Mailer{}
	tests := []struct {
		name string
		cfg  notify.DelivererConfig
		want string
	}{
		{"no outbox", notify.DelivererConfig{Mailer: mailer}, "DelivererConfig.Outbox is nil"},
		{"no transport", notify.DelivererConfig{Outbox: outbox}, "DelivererConfig.Mailer"},
		{"send outlives lease", notify.DelivererConfig{Outbox: outbox, Mailer: mailer, Lease: time.Minute, SendTimeout: time.Minute}, "not shorter than the lease"},
		{"negative", notify.DelivererConfig{Outbox: outbox, Mailer: mailer, Concurrency: -1}, "negative"},
		{"bad retry", notify.DelivererConfig{Outbox: outbox, Mailer: mailer, Retry: notify.RetryPolicy{MaxAttempts: -2}}, "DelivererConfig.Retry.MaxAttempts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := notify.NewDeliverer(tt.cfg)
			assert.Nil(t, d)
			assert.ErrorContains(t, err, tt.want)
		})
	}
}

// lossyOutbox loses some acknowledgements, as a process that dies
// between sending and MarkDelivered would.
type lossyOutbox struct {
	*notifytest.Outbox
	lose func() bool
}

func (o lossyOutbox) MarkDelivered(ctx context.Context, m notify.Message) error {
	if o.lose() {
		return errors.New("connection reset")
	}
	return o.Outbox.MarkDelivered(ctx, m)
}

// MarkDeliveredBatch loses a whole group's acknowledgement at times.
func (o lossyOutbox) MarkDeliveredBatch(ctx context.Context, msgs []notify.Message) error {
	if o.lose() {
		return errors.New("connection reset")
	}
	return o.Outbox.MarkDeliveredBatch(ctx, msgs)
}

// TestThousandMessagesNoneLost pushes 1,000 messages through a running
// Deliverer with concurrency 8 while a third of all sends fail
// temporarily, one in twenty successful sends is slower than its lease
// (so another worker claims the message while it is in flight), and one
// acknowledgement in ten is lost. Every message must arrive, and every
// duplicate must carry the key of its message.
func TestThousandMessagesNoneLost(t *testing.T) {
	t.Parallel()
	const (
		total = 1000
		lease = 20 * time.Second
	)
	var (
		mu       sync.Mutex
		rnd      = rand.New(rand.NewPCG(1, 2))
		received = map[string][]string{} // recipient -> keys of accepted sends
		attempts int
	)
	roll := func(n int) bool {
		mu.Lock()
		defer mu.Unlock()
		return rnd.IntN(n) == 0
	}
	clock := notifytest.NewClock(epoch)
	flaky := notify.MailerFunc(func(ctx context.Context, e notify.Email) error {
		mu.Lock()
		attempts++
		mu.Unlock()
		if roll(3) {
			return &notifytest.Error{Transient: true}
		}
		if roll(20) {
			clock.Advance(lease + time.Second)
		}
		mu.Lock()
		defer mu.Unlock()
		received[e.To] = append(received[e.To], e.Key)
		return nil
	})
	inner := notifytest.NewOutbox(clock.Now)
	outbox := lossyOutbox{Outbox: inner, lose: func() bool { return roll(10) }}
	n, err := notify.New(notify.Config{Outbox: outbox, Rand: seeded(4)})
	require.NoError(t, err)
	d, err := notify.NewDeliverer(notify.DelivererConfig{
		Outbox:       outbox,
		Mailer:       flaky,
		Concurrency:  8,
		Lease:        lease,
		SendTimeout:  lease / 2,
		PollInterval: time.Second,
		Retry:        notify.RetryPolicy{MaxAttempts: 40, BaseDelay: time.Second, MaxDelay: 8 * time.Second},
		Now:          clock.Now,
		Sleep:        clock.Sleep,
		Rand:         seeded(5),
	})
	require.NoError(t, err)

	to := make([]string, total)
	for i := range to {
		to[i] = fmt.Sprintf("user%04d@example.com", i)
	}
	require.NoError(t, n.SystemError(t.Context(), notify.SystemError{Component: "load", Summary: "test"}, to...))
	require.Equal(t, total, inner.Count(notifytest.Pending))

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	require.NoError(t, inner.Settle(t.Context()))
	cancel()
	require.NoError(t, <-done)

	assert.Equal(t, total, inner.Count(notifytest.Delivered))
	assert.Zero(t, inner.Count(notifytest.Dead))
	keys := map[string]string{}
	for _, r := range inner.Records() {
		keys[r.Message.To()] = r.Message.Key()
	}
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, received, total, "no message lost")
	duplicates := 0
	for recipient, got := range received {
		require.NotEmpty(t, got)
		duplicates += len(got) - 1
		for _, k := range got {
			assert.Equal(t, keys[recipient], k, "every copy to %s carries its message's key", recipient)
		}
	}
	distinct := map[string]bool{}
	for _, k := range keys {
		distinct[k] = true
	}
	assert.Len(t, distinct, total, "one key per message, no two messages share one")
	assert.Positive(t, duplicates, "the lost acknowledgements must have caused duplicates")
	t.Logf("%d sends, %d accepted, %d duplicates", attempts, total+duplicates, duplicates)
}

// flakyClaims fails the first n claims, as a database that is briefly
// unreachable would.
type flakyClaims struct {
	*notifytest.Outbox
	mu sync.Mutex
	n  int
}

func (o *flakyClaims) Claim(ctx context.Context, max int, lease time.Duration) ([]notify.Message, error) {
	o.mu.Lock()
	fail := o.n > 0
	o.n--
	o.mu.Unlock()
	if fail {
		return nil, errors.New("connection refused")
	}
	return o.Outbox.Claim(ctx, max, lease)
}

func TestDelivererRunSurvivesClaimErrors(t *testing.T) {
	t.Parallel()
	clock := notifytest.NewClock(epoch)
	inner := notifytest.NewOutbox(clock.Now)
	require.NoError(t, inner.Enqueue(t.Context(), []notify.Message{{Email: &notify.Email{Kind: notify.KindTestEmail, To: "a@example.com", Subject: "s", Text: "t", Key: "k1"}}}))
	var logs syncBuffer
	mailer := &notifytest.Mailer{}
	d, err := notify.NewDeliverer(notify.DelivererConfig{
		Outbox: &flakyClaims{Outbox: inner, n: 3}, Mailer: mailer,
		Now: clock.Now, Sleep: pollSleeper(clock, inner),
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	require.NoError(t, inner.Settle(t.Context()))
	cancel()
	require.NoError(t, <-done)
	assert.Len(t, mailer.Sent(), 1)
	assert.Equal(t, 3, strings.Count(logs.String(), "claiming from the outbox failed"))
	assert.GreaterOrEqual(t, len(clock.Sleeps()), 3, "each failed claim waits PollInterval")
	assert.Equal(t, 5*time.Second, clock.Sleeps()[0], "the default PollInterval")
}

// pollSleeper is clock.Sleep for a running Deliverer's polls, except
// that it first waits, in real time, until no message of outbox is
// leased. Clock.Sleep alone moves the fake clock as fast as Run can
// loop: while a delivery goroutine is still between its send and its
// MarkDelivered, a few dozen empty polls of 5s each would let its own
// lease expire, and Run would claim and send the message again, a
// duplicate that only a stalled process could cause with a real clock.
// A real poll takes real time, in which an in-memory send completes.
func pollSleeper(clock *notifytest.Clock, outbox *notifytest.Outbox) notify.Sleeper {
	return func(ctx context.Context, d time.Duration) error {
		for outbox.Count(notifytest.Leased) > 0 {
			if err := notify.SleepContext(ctx, time.Millisecond); err != nil {
				return err
			}
		}
		return clock.Sleep(ctx, d)
	}
}

// syncBuffer is a bytes.Buffer for a logger written from several
// goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
