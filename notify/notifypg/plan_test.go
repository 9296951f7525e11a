package notifypg

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/internal/pgtest"
	"github.com/siteadmin/integrations/notify"
)

// Claim must stay fast on a table of millions of delivered rows: its plan,
// generic or custom, reads the partial index of pending rows, never the
// whole table.
func TestClaimReadsThePartialIndex(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := pgtest.DB(t)
	o, err := New(Config{DB: db})
	require.NoError(t, err)
	require.NoError(t, o.CreateSchema(ctx))
	_, err = db.ExecContext(ctx, `INSERT INTO notify_outbox (key, message, state, due_at, created_at, done_at)
		SELECT 'k' || i, '{}', CASE WHEN i % 100 = 0 THEN 'pending' ELSE 'delivered' END, now(), now(), now()
		FROM generate_series(1, 100000) AS i`)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `ANALYZE notify_outbox`)
	require.NoError(t, err)

	conn, err := db.Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.ExecContext(ctx, `PREPARE claim AS `+o.sql.claim)
	require.NoError(t, err)
	for _, mode := range []string{"force_generic_plan", "force_custom_plan"} {
		_, err = conn.ExecContext(ctx, `SET plan_cache_mode = `+mode)
		require.NoError(t, err)
		rows, err := conn.QueryContext(ctx, `EXPLAIN EXECUTE claim(NULL, 32, '0b7c2f0e-8a4e-4e1a-9f3c-2d6b5a4c3e21', 60000000)`)
		require.NoError(t, err)
		var plan []string
		for rows.Next() {
			var line string
			require.NoError(t, rows.Scan(&line))
			plan = append(plan, line)
		}
		require.NoError(t, rows.Err())
		text := strings.Join(plan, "\n")
		t.Logf("%s:\n%s", mode, text)
		assert.Contains(t, text, "notify_outbox_due", mode)
		assert.NotContains(t, text, "Seq Scan", mode)
	}
}

// The rank rule of RecordStatus is written in SQL; it must rank every
// state as notify does, and anything else (NULL before the first report)
// as 0.
func TestRankCaseAgreesWithNotify(t *testing.T) {
	t.Parallel()
	db := pgtest.DB(t)
	states := []notify.DeliveryState{
		notify.DeliveryQueued, notify.DeliverySent, notify.DeliveryDelivered,
		notify.DeliveryUndelivered, notify.DeliveryFailed, "", "read", "Delivered",
	}
	for _, s := range states {
		var rank int
		require.NoError(t, db.QueryRowContext(t.Context(), `SELECT `+rankCase()+` FROM (VALUES ($1::text)) AS v(delivery_state)`, string(s)).Scan(&rank))
		assert.Equal(t, s.Rank(), rank, "%q", s)
	}
	var rank int
	require.NoError(t, db.QueryRowContext(t.Context(), `SELECT `+rankCase()+` FROM (VALUES (NULL::text)) AS v(delivery_state)`).Scan(&rank))
	assert.Zero(t, rank, "NULL")
}
