package twilio_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/notify/notifytest"
	"github.com/siteadmin/integrations/twilio"
)

// A 429 with Retry-After: 600 used to leave a queued SMS due again in
// 22s, the Deliverer's own backoff (issue 14, item 4): the *Error
// carries the wait to notify.RetryAfter, and the message waits at least
// that long.
func TestDelivererWaitsForTwilioRetryAfter(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	srv.TooManyRequests(100, 600*time.Second)
	sl := &sleeper{}
	client := newClient(t, srv.Settings(), twilio.Config{Sleep: sl.Sleep})

	start := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := notifytest.NewClock(start)
	outbox := notifytest.NewOutbox(clock.Now)
	d, err := notify.NewDeliverer(notify.DelivererConfig{Outbox: outbox, SMSSender: client, Now: clock.Now, Sleep: clock.Sleep})
	require.NoError(t, err)
	require.NoError(t, outbox.Enqueue(t.Context(), []notify.Message{{SMS: &notify.SMS{Kind: notify.KindTwoFactorCode, To: recipient, Body: "Your code is 870215", Key: "k1"}}}))

	_, err = d.DeliverDue(t.Context())
	require.NoError(t, err)
	r, ok := outbox.Record("k1")
	require.True(t, ok)
	assert.Equal(t, notifytest.Pending, r.State, "a rate limit is temporary")
	assert.False(t, r.Due.Before(start.Add(600*time.Second)), "due at %s, before the server's Retry-After", r.Due.Sub(start))
	assert.Empty(t, sl.Waits(), "600s is beyond MaxBackoff: the client hands it to the Deliverer at once")
	assert.Equal(t, 1, srv.Requests())
}

// One 503 used to dead-letter a queued SMS with the default Config
// (issue 14, item 5). The client retries it; when every attempt fails the
// error is temporary and the message stays queued for a later attempt.
func TestDelivererRetriesATwilioServerError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		faults int
		state  notifytest.State
	}{
		{"one 503", 1, notifytest.Delivered},
		{"503 to every attempt", 100, notifytest.Pending},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t)
			srv.ServiceUnavailable(tt.faults)
			client := newClient(t, srv.Settings(), twilio.Config{Sleep: (&sleeper{}).Sleep})
			clock := notifytest.NewClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
			outbox := notifytest.NewOutbox(clock.Now)
			d, err := notify.NewDeliverer(notify.DelivererConfig{Outbox: outbox, SMSSender: client, Now: clock.Now, Sleep: clock.Sleep})
			require.NoError(t, err)
			require.NoError(t, outbox.Enqueue(t.Context(), []notify.Message{{SMS: &notify.SMS{Kind: notify.KindTwoFactorCode, To: recipient, Body: "Your code is 870215", Key: "k1"}}}))
			_, err = d.DeliverDue(t.Context())
			require.NoError(t, err)
			r, ok := outbox.Record("k1")
			require.True(t, ok)
			assert.Equal(t, tt.state, r.State, r.LastFailure)
		})
	}
}

// The Notifier's test SMS (the host's "Send Test SMS" through notify)
// gave up after one 503 too. The client retries within its attempts, and
// the Notifier retries the temporary error the client returns after them.
func TestNotifierTestSMSRetriesATwilioServerError(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	srv.ServiceUnavailable(twilio.DefaultMaxAttempts + 1)
	client := newClient(t, srv.Settings(), twilio.Config{Sleep: (&sleeper{}).Sleep})
	clock := notifytest.NewClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	n, err := notify.New(notify.Config{SMSSender: client, Now: clock.Now, Sleep: clock.Sleep})
	require.NoError(t, err)
	require.NoError(t, n.SendTestSMS(t.Context(), notify.TestSMS{}, recipient))
	assert.Len(t, srv.Messages(), 1)
	assert.Equal(t, twilio.DefaultMaxAttempts+2, srv.Requests())
	assert.Len(t, clock.Sleeps(), 1, "one retry by the Notifier")
}

// SendTest, the admin page's button, retries a 503 with the default
// Config and real waits.
func TestSendTestRetriesAServerError(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	srv.ServiceUnavailable(1)
	rec, err := twilio.SendTest(t.Context(), srv.Settings(), recipient)
	require.NoError(t, err)
	assert.Equal(t, 2, rec.Attempts)
	assert.Len(t, srv.Messages(), 1)
}
