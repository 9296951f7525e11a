package notifytest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations"
	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/notify/notifytest"
)

var epoch = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

const time30s = 30 * time.Second

func email(key string) notify.Message {
	return notify.Message{Email: &notify.Email{Kind: notify.KindTestEmail, To: "a@example.com", Subject: "s", Text: "t", Key: key, Headers: map[string]string{"A": "b"}}}
}

func newOutbox(t *testing.T, keys ...string) (*notifytest.Outbox, *notifytest.Clock) {
	t.Helper()
	c := notifytest.NewClock(epoch)
	o := notifytest.NewOutbox(c.Now)
	var msgs []notify.Message
	for _, k := range keys {
		msgs = append(msgs, email(k))
	}
	require.NoError(t, o.Enqueue(t.Context(), msgs))
	return o, c
}

func TestOutboxEnqueueIsIdempotentAndAtomic(t *testing.T) {
	t.Parallel()
	o, _ := newOutbox(t, "k1", "k2")
	require.NoError(t, o.Enqueue(t.Context(), []notify.Message{email("k1"), email("k3")}))
	assert.Len(t, o.Records(), 3, "k1 is not stored twice")

	err := o.Enqueue(t.Context(), []notify.Message{email("k4"), {}})
	assert.ErrorContains(t, err, "exactly one of Email and SMS")
	_, ok := o.Record("k4")
	assert.False(t, ok, "all or nothing")
	assert.ErrorContains(t, o.Enqueue(t.Context(), []notify.Message{email("")}), "no key")
}

func TestOutboxClaimsAreExclusiveWhileLeased(t *testing.T) {
	t.Parallel()
	o, c := newOutbox(t, "k1", "k2", "k3")
	ctx := t.Context()
	first, err := o.Claim(ctx, 2, time.Minute)
	require.NoError(t, err)
	require.Len(t, first, 2)
	assert.Equal(t, "k1", first[0].Key(), "oldest first")
	assert.Equal(t, 1, first[0].Attempts)
	assert.NotEmpty(t, first[0].Lease)

	second, err := o.Claim(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, second, 1)
	assert.Equal(t, "k3", second[0].Key())

	c.Advance(time.Minute - time.Nanosecond)
	none, err := o.Claim(ctx, 10, time.Minute)
	require.NoError(t, err)
	assert.Empty(t, none, "no message while its lease lasts")

	c.Advance(time.Nanosecond)
	again, err := o.Claim(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, again, 3, "expired leases come back")
	assert.Equal(t, 2, again[0].Attempts)
	assert.NotEqual(t, first[0].Lease, again[0].Lease, "a new claim, a new lease")
}

func TestOutboxClaimNothing(t *testing.T) {
	t.Parallel()
	o, _ := newOutbox(t, "k1", "k2")
	for _, max := range []int{0, -1, math.MinInt} {
		msgs, err := o.Claim(t.Context(), max, time.Minute)
		require.NoError(t, err, "max %d", max)
		assert.Empty(t, msgs, "max %d claims nothing", max)
	}
	for _, r := range o.Records() {
		assert.Equal(t, notifytest.Pending, r.State, "%s is untouched", r.Message.Key())
		assert.Zero(t, r.Message.Attempts)
	}
	msgs, err := o.Claim(t.Context(), 10, time.Minute)
	require.NoError(t, err)
	assert.Len(t, msgs, 2, "both are still there to claim")
}

func TestOutboxFinalStatesAndStaleAnswers(t *testing.T) {
	t.Parallel()
	o, c := newOutbox(t, "k1", "k2")
	ctx := t.Context()
	old, err := o.Claim(ctx, 2, time.Minute)
	require.NoError(t, err)
	c.Advance(time.Minute)
	current, err := o.Claim(ctx, 2, time.Minute)
	require.NoError(t, err)

	// A late failure from the expired claim does not undo the current one.
	require.NoError(t, o.MarkFailed(ctx, old[0], notify.Failure{Dead: true, Reason: "stale"}))
	r, _ := o.Record("k1")
	assert.Equal(t, notifytest.Leased, r.State)
	assert.Empty(t, r.LastFailure)

	// A late success counts: the message was sent.
	require.NoError(t, o.MarkDelivered(ctx, old[0]))
	r, _ = o.Record("k1")
	assert.Equal(t, notifytest.Delivered, r.State)
	// And nothing moves a delivered message again.
	require.NoError(t, o.MarkFailed(ctx, current[0], notify.Failure{Dead: true}))
	r, _ = o.Record("k1")
	assert.Equal(t, notifytest.Delivered, r.State)

	require.NoError(t, o.MarkFailed(ctx, current[1], notify.Failure{Dead: true, Reason: "550 no such user"}))
	require.NoError(t, o.MarkDelivered(ctx, current[1]))
	r, _ = o.Record("k2")
	assert.Equal(t, notifytest.Dead, r.State, "dead is final")
	assert.Equal(t, "550 no such user", r.LastFailure)

	c.Advance(time.Hour)
	msgs, err := o.Claim(ctx, 10, time.Minute)
	require.NoError(t, err)
	assert.Empty(t, msgs)
	assert.ErrorContains(t, o.MarkDelivered(ctx, email("nope")), `no message with key "nope"`)
}

func TestOutboxRetryAt(t *testing.T) {
	t.Parallel()
	o, c := newOutbox(t, "k1")
	ctx := t.Context()
	msgs, err := o.Claim(ctx, 1, time.Minute)
	require.NoError(t, err)
	require.NoError(t, o.MarkFailed(ctx, msgs[0], notify.Failure{RetryAt: epoch.Add(time.Hour), Reason: "451 try later"}))
	r, _ := o.Record("k1")
	assert.Equal(t, notifytest.Pending, r.State)
	assert.Equal(t, epoch.Add(time.Hour), r.Due)
	assert.Equal(t, "451 try later", r.LastFailure)

	c.Advance(59 * time.Minute)
	msgs, err = o.Claim(ctx, 1, time.Minute)
	require.NoError(t, err)
	assert.Empty(t, msgs)
	c.Advance(time.Minute)
	msgs, err = o.Claim(ctx, 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	assert.Equal(t, 2, msgs[0].Attempts)
}

func TestOutboxHonoursContext(t *testing.T) {
	t.Parallel()
	o, _ := newOutbox(t, "k1")
	ctx, cancel := context.WithCancel(t.Context())
	msgs, err := o.Claim(ctx, 1, time.Minute)
	require.NoError(t, err)
	cancel()
	assert.ErrorIs(t, o.MarkDelivered(ctx, msgs[0]), context.Canceled)
	assert.ErrorIs(t, o.MarkFailed(ctx, msgs[0], notify.Failure{}), context.Canceled)
	assert.ErrorIs(t, o.Enqueue(ctx, []notify.Message{email("k2")}), context.Canceled)
	_, err = o.Claim(ctx, 1, time.Minute)
	assert.ErrorIs(t, err, context.Canceled)
	r, _ := o.Record("k1")
	assert.Equal(t, notifytest.Leased, r.State)
	assert.ErrorContains(t, o.Settle(ctx), "1 messages still pending or leased")
}

func TestOutboxDoesNotShareMemory(t *testing.T) {
	t.Parallel()
	o, _ := newOutbox(t)
	m := email("k1")
	m.Sensitive = []integrations.Secret{"s"}
	require.NoError(t, o.Enqueue(t.Context(), []notify.Message{m}))
	m.Email.Subject, m.Email.Headers["A"], m.Sensitive[0] = "changed", "changed", "changed"
	msgs, err := o.Claim(t.Context(), 1, time.Minute)
	require.NoError(t, err)
	assert.Equal(t, "s", msgs[0].Email.Subject)
	assert.Equal(t, "b", msgs[0].Email.Headers["A"])
	assert.Equal(t, integrations.Secret("s"), msgs[0].Sensitive[0])
}

// TestOutboxConcurrentClaimsNeverOverlap has eight claimers race for 500
// messages under one lease: each message goes to exactly one of them.
func TestOutboxConcurrentClaimsNeverOverlap(t *testing.T) {
	t.Parallel()
	keys := make([]string, 500)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%03d", i)
	}
	o, _ := newOutbox(t, keys...)
	var mu sync.Mutex
	owner := map[string]int{}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				msgs, err := o.Claim(t.Context(), 7, time.Hour)
				if !assert.NoError(t, err) || len(msgs) == 0 {
					return
				}
				mu.Lock()
				for _, m := range msgs {
					_, dup := owner[m.Key()]
					assert.False(t, dup, "%s claimed twice", m.Key())
					owner[m.Key()] = w
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	assert.Len(t, owner, 500)
	assert.Equal(t, 500, o.Count(notifytest.Leased))
}

func TestOutboxSettle(t *testing.T) {
	t.Parallel()
	o, _ := newOutbox(t, "k1", "k2")
	done := make(chan error, 1)
	go func() { done <- o.Settle(t.Context()) }()
	msgs, err := o.Claim(t.Context(), 2, time.Minute)
	require.NoError(t, err)
	require.NoError(t, o.MarkDelivered(t.Context(), msgs[0]))
	require.NoError(t, o.MarkFailed(t.Context(), msgs[1], notify.Failure{Dead: true}))
	assert.NoError(t, <-done)
}

func TestMessageRoundTripsJSON(t *testing.T) {
	t.Parallel()
	m := email("k1")
	m.Sensitive = []integrations.Secret{"493817"}
	m.Attempts, m.Lease = 2, "lease-9"
	data, err := json.Marshal(m)
	require.NoError(t, err)
	var back notify.Message
	require.NoError(t, json.Unmarshal(data, &back))
	assert.Equal(t, m, back, "a SQL outbox can store a Message as JSON")
}

func TestOutboxRecordStatus(t *testing.T) {
	t.Parallel()
	o, _ := newOutbox(t, "k1")
	ctx := t.Context()
	at := func(d time.Duration) time.Time { return epoch.Add(d) }
	sent := notify.DeliveryStatus{State: notify.DeliverySent, ProviderID: "SM1", At: at(1)}
	undelivered := notify.DeliveryStatus{State: notify.DeliveryUndelivered, ProviderID: "SM1", ErrorCode: "30003", Reason: "phone off", At: at(2)}

	// A report may come before the Deliverer acknowledges the send.
	require.NoError(t, o.RecordStatus(ctx, "k1", sent))
	r, _ := o.Record("k1")
	assert.Equal(t, sent, r.Delivery)
	assert.Equal(t, notifytest.Pending, r.State, "the outbox state is the Deliverer's")

	require.NoError(t, o.RecordStatus(ctx, "k1", undelivered))
	require.NoError(t, o.RecordStatus(ctx, "k1", notify.DeliveryStatus{State: notify.DeliverySent, At: at(3)}), "a late report")
	require.NoError(t, o.RecordStatus(ctx, "k1", notify.DeliveryStatus{State: notify.DeliveryDelivered, At: at(4)}), "a second final report")
	r, _ = o.Record("k1")
	assert.Equal(t, undelivered, r.Delivery, "the first final status stays")

	assert.ErrorIs(t, o.RecordStatus(ctx, "nope", sent), notify.ErrUnknownMessage)
	assert.ErrorContains(t, o.RecordStatus(ctx, "k1", notify.DeliveryStatus{State: "lost"}), "unknown delivery state")
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	assert.ErrorIs(t, o.RecordStatus(cancelled, "k1", sent), context.Canceled)
}

func TestOutboxPassesTheStatusRecorderSuite(t *testing.T) {
	t.Parallel()
	notifytest.TestStatusRecorder(t, func(*testing.T) notifytest.StatusOutbox { return notifytest.NewOutbox(nil) })
}

func TestOutboxSuite(t *testing.T) {
	t.Parallel()
	notifytest.TestOutbox(t, func(*testing.T) notify.Outbox { return notifytest.NewOutbox(nil) })
}
