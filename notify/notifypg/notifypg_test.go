package notifypg_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/internal/pgtest"
	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/notify/notifypg"
	"github.com/siteadmin/integrations/notify/notifytest"
)

func TestMain(m *testing.M) {
	runChildIfAsked() // the fault test's deliverer processes
	pgtest.Main(m)
}

func newOutbox(t *testing.T, db *sql.DB, cfg notifypg.Config) *notifypg.Outbox {
	t.Helper()
	cfg.DB = db
	o, err := notifypg.New(cfg)
	require.NoError(t, err)
	require.NoError(t, o.CreateSchema(t.Context()))
	return o
}

func email(key string) notify.Message {
	return notify.Message{Email: &notify.Email{Kind: notify.KindTestEmail, To: "a@example.com", Subject: "s", Text: "t", Key: key}}
}

func TestOutboxSuite(t *testing.T) {
	t.Parallel()
	t.Run("defaults", func(t *testing.T) {
		t.Parallel()
		notifytest.TestOutbox(t, func(t *testing.T) notify.Outbox {
			return newOutbox(t, pgtest.DB(t), notifypg.Config{})
		})
	})
	t.Run("two instances on one schema-qualified table", func(t *testing.T) {
		t.Parallel()
		notifytest.TestOutbox(t, func(t *testing.T) notify.Outbox {
			dsn := pgtest.DSN(t)
			a := pgtest.Open(t, dsn)
			schema := pgtest.Schema(t, a, "Mail")
			cfg := notifypg.Config{Table: schema + ".Outbox"}
			return &alternating{outboxes: []*notifypg.Outbox{newOutbox(t, a, cfg), newOutbox(t, pgtest.Open(t, dsn), cfg)}}
		})
	})
}

// alternating sends each call to the next of several instances, as a load
// balancer would.
type alternating struct {
	next     atomic.Uint64
	outboxes []*notifypg.Outbox
}

func (a *alternating) pick() *notifypg.Outbox {
	return a.outboxes[a.next.Add(1)%uint64(len(a.outboxes))]
}

func (a *alternating) Enqueue(ctx context.Context, msgs []notify.Message) error {
	return a.pick().Enqueue(ctx, msgs)
}

func (a *alternating) Claim(ctx context.Context, max int, lease time.Duration) ([]notify.Message, error) {
	return a.pick().Claim(ctx, max, lease)
}

func (a *alternating) MarkDelivered(ctx context.Context, m notify.Message) error {
	return a.pick().MarkDelivered(ctx, m)
}

func (a *alternating) MarkDeliveredBatch(ctx context.Context, msgs []notify.Message) error {
	return a.pick().MarkDeliveredBatch(ctx, msgs)
}

func (a *alternating) MarkFailed(ctx context.Context, m notify.Message, f notify.Failure) error {
	return a.pick().MarkFailed(ctx, m, f)
}

func (a *alternating) RecordStatus(ctx context.Context, key string, st notify.DeliveryStatus) error {
	return a.pick().RecordStatus(ctx, key, st)
}

func (a *alternating) DeliveryStatus(ctx context.Context, key string) (notify.DeliveryStatus, error) {
	return a.pick().DeliveryStatus(ctx, key)
}

func TestEnqueueJoinsTheHostTransaction(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := pgtest.DB(t)
	o := newOutbox(t, db, notifypg.Config{})
	_, err := db.ExecContext(ctx, `CREATE TABLE invitations (email text PRIMARY KEY)`)
	require.NoError(t, err)

	invite := func(addr, key string, commit bool) {
		tx, err := db.BeginTx(ctx, nil)
		require.NoError(t, err)
		defer tx.Rollback()
		_, err = tx.ExecContext(ctx, `INSERT INTO invitations VALUES ($1)`, addr)
		require.NoError(t, err)
		require.NoError(t, o.Enqueue(notifypg.WithTx(ctx, tx), []notify.Message{email(key)}))
		if commit {
			require.NoError(t, tx.Commit())
		}
	}
	invite("kept@example.com", "kept", true)
	invite("dropped@example.com", "dropped", false)

	msgs, err := o.Claim(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	assert.Equal(t, "kept", msgs[0].Key(), "the rolled-back invitation's email is never sent")

	// A notification through the Notifier joins the transaction too.
	n, err := notify.New(notify.Config{Outbox: o, SiteName: "Acme"})
	require.NoError(t, err)
	tx, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, n.SendTestEmail(notifypg.WithTx(ctx, tx), notify.TestEmail{}, "admin@example.com"))
	require.NoError(t, tx.Rollback())
	msgs, err = o.Claim(ctx, 10, time.Minute)
	require.NoError(t, err)
	assert.Empty(t, msgs)

	// A failed Enqueue leaves the host's transaction to the host.
	tx, err = db.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer tx.Rollback()
	assert.Error(t, o.Enqueue(notifypg.WithTx(ctx, tx), []notify.Message{email("")}))
}

func TestDeadLettersRequeueAndPurge(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := notifytest.NewClock(base)
	db := pgtest.DB(t)
	o := newOutbox(t, db, notifypg.Config{Now: clock.Now})
	var msgs []notify.Message
	for i := range 6 {
		msgs = append(msgs, email(fmt.Sprint("k", i)))
	}
	require.NoError(t, o.Enqueue(ctx, msgs))
	claimed, err := o.Claim(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, claimed, 6)
	slices.SortFunc(claimed, func(a, b notify.Message) int { return strings.Compare(a.Key(), b.Key()) })
	// One answer an hour: k0 and k1 die at base+1h and +2h, k2 waits for
	// a retry in two days, k3 to k5 are delivered at +4h, +5h, +6h.
	for _, m := range claimed {
		clock.Advance(time.Hour)
		switch m.Key() {
		case "k0", "k1":
			require.NoError(t, o.MarkFailed(ctx, m, notify.Failure{Dead: true, Reason: "permanent failure: 550 no such user " + m.Key()}))
		case "k2":
			require.NoError(t, o.MarkFailed(ctx, m, notify.Failure{Reason: "421 busy", RetryAt: base.Add(48 * time.Hour)}))
		default:
			require.NoError(t, o.MarkDelivered(ctx, m))
		}
	}

	dead, err := o.DeadLetters(ctx, 0)
	require.NoError(t, err)
	require.Len(t, dead, 2)
	assert.Equal(t, "k1", dead[0].Message.Key(), "most recent first")
	assert.Equal(t, base.Add(2*time.Hour), dead[0].Died.UTC())
	for _, d := range dead {
		assert.Equal(t, "permanent failure: 550 no such user "+d.Message.Key(), d.Reason)
		assert.Equal(t, 1, d.Message.Attempts)
		assert.Equal(t, base, d.Enqueued.UTC())
		assert.Equal(t, "a@example.com", d.Message.To())
	}
	one, err := o.DeadLetters(ctx, 1)
	require.NoError(t, err)
	assert.Len(t, one, 1)

	// Requeue k1: it is due at once with a fresh set of attempts.
	require.NoError(t, o.Requeue(ctx, "k1"))
	assert.ErrorIs(t, o.Requeue(ctx, "k1"), notifypg.ErrNotDead, "no longer dead")
	assert.ErrorIs(t, o.Requeue(ctx, "k3"), notifypg.ErrNotDead, "delivered")
	assert.ErrorIs(t, o.Requeue(ctx, "k2"), notifypg.ErrNotDead, "pending")
	assert.ErrorIs(t, o.Requeue(ctx, "nope"), notifypg.ErrNotDead, "unknown")
	again, err := o.Claim(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, again, 1)
	assert.Equal(t, "k1", again[0].Key())
	assert.Equal(t, 1, again[0].Attempts)
	require.NoError(t, o.MarkDelivered(ctx, again[0])) // at +6h

	// At +7h, a retention of 2h30 deletes what was done before +4h30.
	clock.Advance(time.Hour)
	n, err := o.Purge(ctx, 2*time.Hour+30*time.Minute)
	require.NoError(t, err)
	assert.EqualValues(t, 2, n, "k0 (dead at +1h) and k3 (delivered at +4h)")
	assert.Equal(t, []string{"k1:delivered", "k2:pending", "k4:delivered", "k5:delivered"}, rowStates(t, db))
	_, err = o.Purge(ctx, -time.Second)
	assert.Error(t, err)
	n, err = o.Purge(ctx, 0)
	require.NoError(t, err)
	assert.EqualValues(t, 3, n)
	assert.Equal(t, []string{"k2:pending"}, rowStates(t, db), "pending messages are never purged")
}

func rowStates(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT key || ':' || state FROM notify_outbox ORDER BY key`)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		out = append(out, s)
	}
	require.NoError(t, rows.Err())
	return out
}

func TestMarkFailedIgnoresLeasesItNeverGave(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	o := newOutbox(t, pgtest.DB(t), notifypg.Config{})
	require.NoError(t, o.Enqueue(ctx, []notify.Message{email("k")}))
	msgs, err := o.Claim(ctx, 1, time.Hour)
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	for _, lease := range []string{"", "forged", "'; UPDATE notify_outbox SET state = 'dead'; --", "00000000-0000-0000-0000-000000000000", "ZZZZZZZZ-0000-4000-8000-000000000000"} {
		m := msgs[0]
		m.Lease = lease
		assert.NoError(t, o.MarkFailed(ctx, m, notify.Failure{Dead: true, Reason: "x"}), "%q", lease)
	}
	dead, err := o.DeadLetters(ctx, 10)
	require.NoError(t, err)
	assert.Empty(t, dead)
}

func TestErrorsWhenTheDatabaseIsUnreachable(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db, err := sql.Open("pgx", "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	require.NoError(t, err)
	defer db.Close()
	o, err := notifypg.New(notifypg.Config{DB: db})
	require.NoError(t, err)
	m := email("k")
	m.Lease = "0b7c2f0e-8a4e-4e1a-9f3c-2d6b5a4c3e21"
	for name, err := range map[string]error{
		"CreateSchema":       o.CreateSchema(ctx),
		"Enqueue":            o.Enqueue(ctx, []notify.Message{m}),
		"MarkDelivered":      o.MarkDelivered(ctx, m),
		"MarkDeliveredBatch": o.MarkDeliveredBatch(ctx, []notify.Message{m}),
		"MarkFailed":         o.MarkFailed(ctx, m, notify.Failure{Reason: "x"}),
		"Requeue":            o.Requeue(ctx, "k"),
		"RecordStatus":       o.RecordStatus(ctx, "k", notify.DeliveryStatus{State: notify.DeliveryDelivered}),
	} {
		assert.ErrorContains(t, err, "notifypg: ", name)
		assert.False(t, errors.Is(err, notifypg.ErrNotDead), name)
		assert.False(t, errors.Is(err, notify.ErrUnknownMessage), name)
	}
	_, err = o.DeliveryStatus(ctx, "k")
	assert.Error(t, err)
	assert.False(t, errors.Is(err, notify.ErrUnknownMessage))
	_, err = o.Undelivered(ctx, 1)
	assert.Error(t, err)
	_, err = o.Claim(ctx, 1, time.Minute)
	assert.Error(t, err)
	_, err = o.DeadLetters(ctx, 1)
	assert.Error(t, err)
	_, err = o.Purge(ctx, time.Hour)
	assert.Error(t, err)
}

func TestTableNames(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		table, want string // want: "" when refused
	}{
		{"", `"notify_outbox"`},
		{"outbox", `"outbox"`},
		{"Mail.Outbox_2", `"Mail"."Outbox_2"`},
		{"a.b.c", ""},
		{".outbox", ""},
		{"outbox.", ""},
		{"9outbox", ""},
		{"out box", ""},
		{`outbox"; DROP TABLE users; --`, ""},
		{`"outbox"`, ""},
		{"outbox;", ""},
		{"outbøx", ""},
		{"a23456789012345678901234567890123456789012345678901234567890", ""}, // 60 bytes: no room for "_dead"
	} {
		schema, err := notifypg.Schema(tc.table)
		_, newErr := notifypg.New(notifypg.Config{DB: &sql.DB{}, Table: tc.table})
		if tc.want == "" {
			assert.Error(t, err, "%q", tc.table)
			assert.Error(t, newErr, "%q", tc.table)
			continue
		}
		assert.NoError(t, err, "%q", tc.table)
		assert.NoError(t, newErr, "%q", tc.table)
		assert.Contains(t, schema, "CREATE TABLE IF NOT EXISTS "+tc.want+" (", tc.table)
	}
	_, err := notifypg.New(notifypg.Config{})
	assert.ErrorContains(t, err, "Config.DB is nil")
}

func TestCreateSchemaFromEveryInstanceAtOnce(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := pgtest.DB(t)
	o, err := notifypg.New(notifypg.Config{DB: db})
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = o.CreateSchema(ctx) }()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	var indexes []string
	rows, err := db.QueryContext(ctx, `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'notify_outbox' ORDER BY 1`)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		indexes = append(indexes, s)
	}
	assert.Equal(t, []string{"notify_outbox_dead", "notify_outbox_due", "notify_outbox_lost", "notify_outbox_pkey"}, indexes)
}
