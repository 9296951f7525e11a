package notifypg_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/internal/pgtest"
	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/notify/notifypg"
	"github.com/siteadmin/integrations/notify/notifytest"
)

// TestReview2UndecodableRowDoesNotStallTheQueue: a row whose message is
// JSON but not a notify.Message (a row written by another version or by
// hand) makes every Claim that leases it fail as a whole. The Deliverer
// never sees that row, so its attempt limit never makes it a dead letter
// (as Claim's comment expects); it is leased again at each lease expiry,
// for ever, and each time the messages claimed with it are leased but
// not returned, so they wait a whole lease.
func TestReview2UndecodableRowDoesNotStallTheQueue(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := pgtest.DB(t)
	clock := notifytest.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	o := newOutbox(t, db, notifypg.Config{Now: clock.Now})
	_, err := db.ExecContext(ctx, `INSERT INTO notify_outbox (key, message, due_at, created_at) VALUES ('poison', '{"email":{"Key":1}}', $1, $1)`, clock.Now().Add(-time.Second))
	require.NoError(t, err)
	require.NoError(t, o.Enqueue(ctx, []notify.Message{email("good")}))

	for round := range 3 {
		msgs, err := o.Claim(ctx, 10, time.Minute)
		assert.NoError(t, err, "round %d: one bad row fails the whole claim", round)
		var keys []string
		for _, m := range msgs {
			keys = append(keys, m.Key())
		}
		if round == 0 {
			assert.Equal(t, []string{"good"}, keys, "the good message is leased but never handed out")
		}
		clock.Advance(2 * time.Minute) // the leases expire
	}
	var state string
	var attempts int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT state, attempts FROM notify_outbox WHERE key = 'poison'`).Scan(&state, &attempts))
	assert.Equal(t, "dead", state, "claimed %d times and still pending", attempts)
}
