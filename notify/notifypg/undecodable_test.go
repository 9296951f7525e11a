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

// A row whose message is JSON but not a notify.Message (written by another
// version or by hand) used to fail every Claim that leased it: the
// Deliverer never saw it, so its attempt limit never made it a dead
// letter, and the messages claimed with it waited a whole lease, for ever
// (found by a review). Claim now makes it a dead letter with the reason
// and hands out the others.
func TestUndecodableRowBecomesADeadLetter(t *testing.T) {
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
	dead, err := o.DeadLetters(ctx, 0)
	require.NoError(t, err, "one undecodable row does not break the admin's list")
	require.Len(t, dead, 1)
	assert.Equal(t, "poison", dead[0].Key)
	assert.Contains(t, dead[0].Reason, "not a notify.Message")
}
