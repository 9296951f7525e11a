package samlpg_test

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/internal/pgtest"
	"github.com/siteadmin/integrations/saml"
	"github.com/siteadmin/integrations/saml/samlpg"
	"github.com/siteadmin/integrations/saml/samltest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func newCache(t *testing.T, db *sql.DB, cfg samlpg.Config) *samlpg.ReplayCache {
	t.Helper()
	cfg.DB = db
	c, err := samlpg.New(cfg)
	require.NoError(t, err)
	require.NoError(t, c.CreateSchema(t.Context()))
	return c
}

func TestReplayCacheSuite(t *testing.T) {
	t.Parallel()
	t.Run("defaults", func(t *testing.T) {
		t.Parallel()
		samltest.TestReplayCache(t, func(t *testing.T) saml.ReplayCache {
			return newCache(t, pgtest.DB(t), samlpg.Config{})
		})
	})
	t.Run("purging on every Add", func(t *testing.T) {
		t.Parallel()
		samltest.TestReplayCache(t, func(t *testing.T) saml.ReplayCache {
			return newCache(t, pgtest.DB(t), samlpg.Config{PurgeInterval: time.Nanosecond})
		})
	})
	t.Run("two instances on one table", func(t *testing.T) {
		t.Parallel()
		samltest.TestReplayCache(t, func(t *testing.T) saml.ReplayCache {
			dsn := pgtest.DSN(t)
			a := newCache(t, pgtest.Open(t, dsn), samlpg.Config{Table: "shared"})
			b := newCache(t, pgtest.Open(t, dsn), samlpg.Config{Table: "shared"})
			return &alternating{caches: []saml.ReplayCache{a, b}}
		})
	})
}

// alternating sends each Add to the next of several instances, as a load
// balancer would.
type alternating struct {
	next   atomic.Uint64
	caches []saml.ReplayCache
}

func (a *alternating) Add(ctx context.Context, id string, expires time.Time) (bool, error) {
	i := a.next.Add(1) % uint64(len(a.caches))
	return a.caches[i].Add(ctx, id, expires)
}

func TestAddFailsWhenTheDatabaseIsUnreachable(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dsn := pgtest.DSN(t)
	db := pgtest.Open(t, dsn+"&application_name=samlpg_cut")
	c := newCache(t, db, samlpg.Config{})
	added, err := c.Add(ctx, "_before", time.Now().Add(time.Hour))
	require.NoError(t, err)
	require.True(t, added)

	// The server goes away under an open pool: its connections are cut.
	_, err = pgtest.Open(t, dsn).ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'samlpg_cut'`)
	require.NoError(t, err)
	added, err = c.Add(ctx, "_before", time.Now().Add(time.Hour))
	assert.False(t, added, "cut off or reconnected, a known ID is never new (err: %v)", err)

	require.NoError(t, db.Close())
	for _, id := range []string{"_before", "_new"} {
		added, err := c.Add(ctx, id, time.Now().Add(time.Hour))
		assert.Error(t, err, id)
		assert.False(t, added, "an ID is never new when the database cannot tell")
	}

	// A database that never answered.
	dead, err := sql.Open("pgx", "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	require.NoError(t, err)
	defer dead.Close()
	c2, err := samlpg.New(samlpg.Config{DB: dead})
	require.NoError(t, err)
	added, err = c2.Add(ctx, "_x", time.Now().Add(time.Hour))
	assert.ErrorContains(t, err, "samlpg: recording the assertion ID")
	assert.False(t, added)
	assert.Error(t, c2.CreateSchema(ctx))
	_, err = c2.Purge(ctx)
	assert.Error(t, err)
}

func TestAddRefusesHostileIDsWithAnError(t *testing.T) {
	t.Parallel()
	c := newCache(t, pgtest.DB(t), samlpg.Config{})
	live := time.Now().Add(time.Hour)
	for name, id := range map[string]string{
		"too long":      string(make([]byte, samlpg.MaxIDLength+1)),
		"NUL byte":      "_a\x00b",
		"invalid UTF-8": "_a\xffb",
	} {
		added, err := c.Add(t.Context(), id, live)
		assert.Error(t, err, name)
		assert.False(t, added, name)
	}
	added, err := c.Add(t.Context(), string(make([]byte, samlpg.MaxIDLength+1)), live)
	assert.ErrorIs(t, err, samlpg.ErrIDTooLong)
	assert.False(t, added)
}

func TestPurgeDeletesOnlyExpiredIDs(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now := base
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	db := pgtest.DB(t)
	c := newCache(t, db, samlpg.Config{Now: clock, PurgeInterval: -1})
	for i := range 25 {
		added, err := c.Add(ctx, fmt.Sprint("_", i), base.Add(time.Duration(i)*time.Minute))
		require.NoError(t, err)
		require.True(t, added)
	}
	n, err := c.Purge(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "nothing has expired at base")

	mu.Lock()
	now = base.Add(10*time.Minute + time.Second)
	mu.Unlock()
	n, err = c.Purge(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 11, n, "_0 to _10 expired")
	var left int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM saml_replay_cache`).Scan(&left))
	assert.Equal(t, 14, left)

	added, err := c.Add(ctx, "_3", base.Add(time.Hour))
	require.NoError(t, err)
	assert.True(t, added, "a purged, expired ID may come back")
	added, err = c.Add(ctx, "_11", base.Add(time.Hour))
	require.NoError(t, err)
	assert.False(t, added, "a live ID is never purged")
}

func TestAddPurgesInTheBackgroundOfNormalUse(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := pgtest.DB(t)
	c := newCache(t, db, samlpg.Config{PurgeInterval: time.Nanosecond})
	past := time.Now().Add(-time.Minute)
	for i := range 5 {
		_, err := c.Add(ctx, fmt.Sprint("_old", i), past)
		require.NoError(t, err)
	}
	_, err := c.Add(ctx, "_live", time.Now().Add(time.Hour))
	require.NoError(t, err)
	var left int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM saml_replay_cache`).Scan(&left))
	assert.Equal(t, 1, left, "the last Add purged every expired row")

	quiet := newCache(t, pgtest.DB(t), samlpg.Config{PurgeInterval: -1})
	for i := range 3 {
		_, err := quiet.Add(ctx, fmt.Sprint("_old", i), past)
		require.NoError(t, err)
	}
	n, err := quiet.Purge(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 3, n, "with a negative interval only Purge deletes")
}

func TestTableNames(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		table, want string // want: "" when refused
	}{
		{"", `"saml_replay_cache"`},
		{"replay", `"replay"`},
		{"Replay_2", `"Replay_2"`},
		{"tenant_a.replay", `"tenant_a"."replay"`},
		{"_x", `"_x"`},
		{"a234567890123456789012345678901234567890123456789012", `"a234567890123456789012345678901234567890123456789012"`}, // 52 bytes
		{"a.b.c", ""},
		{".replay", ""},
		{"replay.", ""},
		{"1replay", ""},
		{"re play", ""},
		{`replay"; DROP TABLE users; --`, ""},
		{`"replay"`, ""},
		{"replay;", ""},
		{"réplay", ""},
		{"x\x00", ""},
		{string(make([]byte, 60)), ""},
		{"a2345678901234567890123456789012345678901234567890123", ""}, // 53 bytes: no room for the index suffix
	} {
		schema, err := samlpg.Schema(tc.table)
		_, newErr := samlpg.New(samlpg.Config{DB: &sql.DB{}, Table: tc.table})
		if tc.want == "" {
			assert.Error(t, err, "%q", tc.table)
			assert.Error(t, newErr, "%q", tc.table)
			continue
		}
		assert.NoError(t, err, "%q", tc.table)
		assert.NoError(t, newErr, "%q", tc.table)
		assert.Contains(t, schema, "CREATE TABLE IF NOT EXISTS "+tc.want+" (", tc.table)
	}
	_, err := samlpg.New(samlpg.Config{})
	assert.ErrorContains(t, err, "Config.DB is nil")
}

func TestSchemaQualifiedTableAndConcurrentCreateSchema(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := pgtest.DB(t)
	schema := pgtest.Schema(t, db, "Tenant_A")
	c, err := samlpg.New(samlpg.Config{DB: db, Table: schema + ".Replay"})
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = c.CreateSchema(ctx) }()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err, "CreateSchema is safe to call from every instance at once")
	}
	added, err := c.Add(ctx, "_a", time.Now().Add(time.Hour))
	require.NoError(t, err)
	assert.True(t, added)
	var n int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM "`+schema+`"."Replay"`).Scan(&n))
	assert.Equal(t, 1, n)
	var indexed bool
	require.NoError(t, db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_indexes WHERE schemaname = $1 AND indexname = 'Replay_expires_at')`, schema).Scan(&indexed))
	assert.True(t, indexed)
}
