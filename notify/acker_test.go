package notify_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/notify/notifytest"
)

func queued(t *testing.T, o *notifytest.Outbox, n int) {
	t.Helper()
	var msgs []notify.Message
	for i := range n {
		msgs = append(msgs, notify.Message{Email: &notify.Email{Kind: notify.KindTestEmail, To: "a@example.com", Subject: "s", Text: "t", Key: fmt.Sprint("k", i)}})
	}
	require.NoError(t, o.Enqueue(t.Context(), msgs))
}

// acks counts the acknowledgements an outbox receives.
type acks struct {
	*notifytest.Outbox
	single  atomic.Int32
	batches atomic.Int32
	inBatch atomic.Int32
	largest atomic.Int32
}

func (a *acks) MarkDelivered(ctx context.Context, m notify.Message) error {
	a.single.Add(1)
	return a.Outbox.MarkDelivered(ctx, m)
}

func (a *acks) MarkDeliveredBatch(ctx context.Context, msgs []notify.Message) error {
	a.batches.Add(1)
	a.inBatch.Add(int32(len(msgs)))
	for {
		l := a.largest.Load()
		if int32(len(msgs)) <= l || a.largest.CompareAndSwap(l, int32(len(msgs))) {
			break
		}
	}
	return a.Outbox.MarkDeliveredBatch(ctx, msgs)
}

// singleOnly hides MarkDeliveredBatch.
type singleOnly struct{ notify.Outbox }

func runUntilSettled(t *testing.T, d *notify.Deliverer, o *notifytest.Outbox) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- d.Run(ctx) }()
	sctx, scancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer scancel()
	require.NoError(t, o.Settle(sctx))
	cancel()
	require.NoError(t, <-done)
}

func TestRunAcknowledgesInGroupsThroughABatchMarker(t *testing.T) {
	t.Parallel()
	o := notifytest.NewOutbox(nil)
	queued(t, o, 200)
	a := &acks{Outbox: o}
	mailer := &notifytest.Mailer{}
	d, err := notify.NewDeliverer(notify.DelivererConfig{Outbox: a, Mailer: mailer, Concurrency: 4, ClaimBatch: 32, PollInterval: time.Millisecond})
	require.NoError(t, err)
	runUntilSettled(t, d, o)

	assert.Len(t, mailer.Sent(), 200)
	assert.Equal(t, 200, o.Count(notifytest.Delivered))
	assert.Zero(t, a.single.Load(), "no MarkDelivered when the outbox offers MarkDeliveredBatch")
	assert.EqualValues(t, 200, a.inBatch.Load(), "every send acknowledged once")
	assert.Less(t, a.batches.Load(), int32(50), "sends are acknowledged in groups")
	assert.Greater(t, a.largest.Load(), int32(1))
	for _, r := range o.Records() {
		assert.Equal(t, 1, r.Message.Attempts, r.Message.Key())
	}
}

func TestRunAcknowledgesEachMessageWithoutABatchMarker(t *testing.T) {
	t.Parallel()
	o := notifytest.NewOutbox(nil)
	queued(t, o, 50)
	a := &acks{Outbox: o}
	mailer := &notifytest.Mailer{}
	d, err := notify.NewDeliverer(notify.DelivererConfig{Outbox: singleOnly{a}, Mailer: mailer, ClaimBatch: 10, PollInterval: time.Millisecond})
	require.NoError(t, err)
	runUntilSettled(t, d, o)
	assert.EqualValues(t, 50, a.single.Load())
	assert.Zero(t, a.batches.Load())
	assert.Equal(t, 50, o.Count(notifytest.Delivered))
}

// Sends that returned before Run's context was cancelled are still
// acknowledged: the last group is written on the way out.
func TestRunAcknowledgesTheLastGroupAfterCancel(t *testing.T) {
	t.Parallel()
	o := notifytest.NewOutbox(nil)
	queued(t, o, 20)
	ctx, cancel := context.WithCancel(t.Context())
	var sent atomic.Int32
	mailer := notify.MailerFunc(func(ctx context.Context, _ notify.Email) error {
		if sent.Add(1) == 10 {
			cancel() // the 10th send is cut short: unknown whether it went out
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	})
	d, err := notify.NewDeliverer(notify.DelivererConfig{Outbox: o, Mailer: mailer, Concurrency: 1, ClaimBatch: 20, PollInterval: time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, d.Run(ctx))
	assert.Equal(t, 9, o.Count(notifytest.Delivered), "the 9 sends that returned are acknowledged")
	assert.Equal(t, 11, o.Count(notifytest.Leased), "the cut send and the 10 waiting are left to their lease")
}

// Claimed messages wait for a send slot only while a send could still end
// within their lease; later ones are left for a new claim.
func TestRunLeavesWaitingMessagesWhoseLeaseRunsShort(t *testing.T) {
	t.Parallel()
	clock := notifytest.NewClock(epoch)
	o := notifytest.NewOutbox(clock.Now)
	queued(t, o, 8)
	var mu sync.Mutex
	sends := map[string]int{}
	mailer := notify.MailerFunc(func(_ context.Context, e notify.Email) error {
		mu.Lock()
		defer mu.Unlock()
		sends[e.Key]++
		clock.Advance(20 * time.Second) // a slow mail server
		return nil
	})
	d, err := notify.NewDeliverer(notify.DelivererConfig{
		// Acknowledged at once: a group's real-time wait would let the
		// fake clock run past the leases.
		Outbox: singleOnly{o}, Mailer: mailer, Concurrency: 1, ClaimBatch: 8,
		Lease: time.Minute, SendTimeout: 10 * time.Second, PollInterval: time.Second,
		Now: clock.Now, Sleep: clock.Sleep,
	})
	require.NoError(t, err)
	runUntilSettled(t, d, o)
	reclaimed := 0
	for _, r := range o.Records() {
		assert.Equal(t, notifytest.Delivered, r.State)
		assert.Equal(t, 1, sends[r.Message.Key()], "%s sent once", r.Message.Key())
		if r.Message.Attempts > 1 {
			reclaimed++
		}
	}
	assert.Positive(t, reclaimed, "messages whose lease ran short while waiting were claimed again")
}

func TestClaimBatchMustNotBeNegative(t *testing.T) {
	t.Parallel()
	_, err := notify.NewDeliverer(notify.DelivererConfig{Outbox: notifytest.NewOutbox(nil), Mailer: &notifytest.Mailer{}, ClaimBatch: -1})
	assert.ErrorContains(t, err, "ClaimBatch")
}
