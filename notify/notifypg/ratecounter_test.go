package notifypg_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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

func newRateCounter(t *testing.T, db *sql.DB, cfg notifypg.RateCounterConfig) *notifypg.RateCounter {
	t.Helper()
	cfg.DB = db
	c, err := notifypg.NewRateCounter(cfg)
	require.NoError(t, err)
	require.NoError(t, c.CreateSchema(t.Context()))
	return c
}

func TestRateCounterSuite(t *testing.T) {
	t.Parallel()
	t.Run("defaults", func(t *testing.T) {
		t.Parallel()
		notifytest.TestRateCounter(t, func(t *testing.T) notify.RateCounter {
			return newRateCounter(t, pgtest.DB(t), notifypg.RateCounterConfig{})
		})
	})
	t.Run("two instances on one schema-qualified table", func(t *testing.T) {
		t.Parallel()
		notifytest.TestRateCounter(t, func(t *testing.T) notify.RateCounter {
			dsn := pgtest.DSN(t)
			a := pgtest.Open(t, dsn)
			schema := pgtest.Schema(t, a, "Limits")
			cfg := notifypg.RateCounterConfig{Table: schema + ".Sends"}
			return &alternatingCounter{counters: []notify.RateCounter{newRateCounter(t, a, cfg), newRateCounter(t, pgtest.Open(t, dsn), cfg)}}
		})
	})
}

// alternatingCounter sends each Take to the next of several instances, as
// a load balancer would.
type alternatingCounter struct {
	next     atomic.Uint64
	counters []notify.RateCounter
}

func (a *alternatingCounter) Take(ctx context.Context, key string, start time.Time, length time.Duration, max int) (bool, error) {
	c := a.counters[a.next.Add(1)%uint64(len(a.counters))]
	return c.Take(ctx, key, start, length, max)
}

// Two instances of the host, each with its own connection pool, Limiter
// and RateCounter on one table, and many goroutines sending at once: no
// limit is ever exceeded, and since every stage gets more attempts than
// its limit, the counts are exact.
func TestLimitersOnOneTableNeverExceedTheLimits(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dsn := pgtest.DSN(t)
	clock := notifytest.NewClock(time.Date(2030, 1, 1, 10, 15, 0, 0, time.UTC))
	cfg := notify.LimiterConfig{
		PerNumber:  notify.Limit{Max: 5},
		PerCountry: notify.Limit{Max: 12},
		Overall:    notify.Limit{Max: 20},
		Now:        clock.Now,
	}
	var limiters []*notify.Limiter
	for range 2 {
		cfg.Counter = newRateCounter(t, pgtest.Open(t, dsn), notifypg.RateCounterConfig{})
		l, err := notify.NewLimiter(cfg)
		require.NoError(t, err)
		limiters = append(limiters, l)
	}
	numbers := []string{
		"+442079460000", "+442079460001", "+442079460002", "+442079460003", // GB
		"+14155550100", "+14155550101", "+14155550102", "+14155550103", // US
	}
	const goroutines, each = 16, 20 // 320 attempts, 40 per number
	var allowed [8]atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	ready := make(chan struct{})
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-ready
			for i := range each {
				n := (g*each + i) % len(numbers)
				err := limiters[g%2].Allow(ctx, notify.KindTwoFactorCode, numbers[n])
				var le *notify.LimitError
				switch {
				case err == nil:
					allowed[n].Add(1)
				case !errors.As(err, &le):
					failed.Add(1)
				}
			}
		}()
	}
	close(ready)
	wg.Wait()
	require.Zero(t, failed.Load(), "Allow failed other than by a limit")

	var total, gb, us int64
	for n := range allowed {
		a := allowed[n].Load()
		assert.LessOrEqual(t, a, int64(5), numbers[n])
		total += a
		if n < 4 {
			gb += a
		} else {
			us += a
		}
	}
	assert.Equal(t, int64(20), total, "overall")
	assert.LessOrEqual(t, gb, int64(12), "GB")
	assert.LessOrEqual(t, us, int64(12), "US")
	// 8 numbers pass 5 of 40 each; each country passes 12 of its 20; the
	// overall limit passes 20 of 24.
	var r notify.Refusals
	for _, l := range limiters {
		lr := l.Refusals()
		r.Number += lr.Number
		r.Country += lr.Country
		r.Overall += lr.Overall
	}
	assert.Equal(t, notify.Refusals{Number: 8 * 35, Country: 2 * 8, Overall: 4}, r)
}

// The windows of a Limiter on PostgreSQL follow its clock: a full number
// window opens again on the hour, a day window at midnight, and a country
// that is not allowed is refused without a count.
func TestLimiterWindowsOnPostgreSQL(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := pgtest.DB(t)
	clock := notifytest.NewClock(time.Date(2030, 1, 1, 10, 58, 0, 0, time.UTC))
	l, err := notify.NewLimiter(notify.LimiterConfig{
		Counter:          newRateCounter(t, db, notifypg.RateCounterConfig{}),
		PerNumber:        notify.Limit{Max: 2},
		PerCountry:       notify.Limit{Max: -1},
		Overall:          notify.Limit{Max: 3, Window: 24 * time.Hour},
		AllowedCountries: []string{"GB"},
		Now:              clock.Now,
	})
	require.NoError(t, err)
	const a, b = "+442079460000", "+442079460001"
	allow := func(number string) error { return l.Allow(ctx, notify.KindTwoFactorCode, number) }
	refusal := func(number string) *notify.LimitError {
		t.Helper()
		var le *notify.LimitError
		require.ErrorAs(t, allow(number), &le)
		return le
	}

	require.NoError(t, allow(a))
	require.NoError(t, allow(a))
	le := refusal(a)
	assert.Equal(t, notify.ScopeNumber, le.Scope)
	assert.Equal(t, 2*time.Minute, le.RetryAfter)

	clock.Advance(2 * time.Minute) // 11:00, a new hour
	require.NoError(t, allow(a))
	le = refusal(b)
	assert.Equal(t, notify.ScopeOverall, le.Scope, "3 a day in all")
	assert.Equal(t, 13*time.Hour, le.RetryAfter)

	le = refusal("+14155550100")
	assert.Equal(t, notify.ScopeNotAllowed, le.Scope)
	var rows int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM notify_rate WHERE key LIKE '%+1415%'`).Scan(&rows))
	assert.Zero(t, rows, "a country that is not allowed is refused before anything is counted")

	clock.Advance(13 * time.Hour) // midnight
	assert.NoError(t, allow(b))
	assert.Equal(t, notify.Refusals{Number: 1, Overall: 1, NotAllowed: 1}, l.Refusals())
}

// Without its database the Limiter refuses: no SMS goes out uncounted.
func TestLimiterRefusesWhenTheDatabaseIsUnreachable(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db, err := sql.Open("pgx", "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	require.NoError(t, err)
	defer db.Close()
	counter, err := notifypg.NewRateCounter(notifypg.RateCounterConfig{DB: db})
	require.NoError(t, err)
	assert.ErrorContains(t, counter.CreateSchema(ctx), "notifypg: creating the schema")
	_, err = counter.Purge(ctx)
	assert.ErrorContains(t, err, "notifypg: purging")

	limiter, err := notify.NewLimiter(notify.LimiterConfig{Counter: counter})
	require.NoError(t, err)
	err = limiter.Allow(ctx, notify.KindTwoFactorCode, "+442079460000")
	require.Error(t, err)
	assert.ErrorContains(t, err, "notifypg: counting a send")
	var le *notify.LimitError
	assert.False(t, errors.As(err, &le), "an outage is not a refusal by a limit: %v", err)

	sender := &notifytest.SMSSender{}
	n, err := notify.New(notify.Config{SMSSender: sender, SiteName: "Acme", Limiter: limiter})
	require.NoError(t, err)
	assert.Error(t, n.SendTwoFactorCode(ctx, notify.TwoFactorCode{Code: "493817"}, "+442079460000"))
	assert.Zero(t, sender.Attempts(), "nothing is sent when the limits cannot be checked")
}

func TestRateCounterPurgeDeletesOnlyEndedWindows(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := pgtest.DB(t)
	manual := newRateCounter(t, db, notifypg.RateCounterConfig{PurgeInterval: -1})
	var now time.Time
	require.NoError(t, db.QueryRowContext(ctx, `SELECT now()`).Scan(&now))
	take := func(c *notifypg.RateCounter, key string, start time.Time) bool {
		t.Helper()
		ok, err := c.Take(ctx, key, start, time.Hour, 1)
		require.NoError(t, err)
		return ok
	}
	require.True(t, take(manual, "ended", now.Add(-2*time.Hour)))
	require.True(t, take(manual, "ending", now.Add(-59*time.Minute)))
	require.True(t, take(manual, "live", now.Add(-30*time.Minute)))
	require.True(t, take(manual, "future", now.Add(time.Hour)))
	assert.Equal(t, []string{"ended", "ending", "future", "live"}, rateKeys(t, db), "Take with a negative PurgeInterval never purges")

	n, err := manual.Purge(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 1, n)
	assert.Equal(t, []string{"ending", "future", "live"}, rateKeys(t, db))
	assert.False(t, take(manual, "live", now.Add(-30*time.Minute)), "the live window still counts")
	assert.True(t, take(manual, "ended", now.Add(-2*time.Hour)), "an ended window starts again from zero")

	// A counter with the default interval purges at its first Take (and
	// not again within the interval).
	auto := newRateCounter(t, db, notifypg.RateCounterConfig{})
	assert.True(t, take(auto, "other", now))
	assert.Equal(t, []string{"ending", "future", "live", "other"}, rateKeys(t, db))
	require.True(t, take(manual, "ended again", now.Add(-2*time.Hour)))
	assert.True(t, take(auto, "another", now))
	assert.Contains(t, rateKeys(t, db), "ended again")
}

func rateKeys(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT key FROM notify_rate ORDER BY key`)
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

func TestRateCounterRefusesBadArguments(t *testing.T) {
	t.Parallel()
	c := newRateCounter(t, pgtest.DB(t), notifypg.RateCounterConfig{})
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		length time.Duration
		max    int
	}{{0, 1}, {-time.Hour, 1}, {time.Nanosecond, 1}, {time.Hour, 0}, {time.Hour, -1}} {
		ok, err := c.Take(t.Context(), "k", start, tc.length, tc.max)
		assert.Error(t, err, "%s %d", tc.length, tc.max)
		assert.False(t, ok)
	}
}

func TestRateCounterTableNames(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		table, want string // want: "" when refused
	}{
		{"", `"notify_rate"`},
		{"rate", `"rate"`},
		{"Limits.Sends_2", `"Limits"."Sends_2"`},
		{"a.b.c", ""},
		{".rate", ""},
		{"rate.", ""},
		{"9rate", ""},
		{"ra te", ""},
		{`rate"; DROP TABLE users; --`, ""},
		{`"rate"`, ""},
		{"rate;", ""},
		{"ratè", ""},
		{"a23456789012345678901234567890123456789012345678901234567890", ""},
	} {
		schema, err := notifypg.RateCounterSchema(tc.table)
		_, newErr := notifypg.NewRateCounter(notifypg.RateCounterConfig{DB: &sql.DB{}, Table: tc.table})
		if tc.want == "" {
			assert.ErrorContains(t, err, "RateCounterConfig.Table", "%q", tc.table)
			assert.ErrorContains(t, newErr, "RateCounterConfig.Table", "%q", tc.table)
			continue
		}
		assert.NoError(t, err, "%q", tc.table)
		assert.NoError(t, newErr, "%q", tc.table)
		assert.Contains(t, schema, "CREATE TABLE IF NOT EXISTS "+tc.want+" (", tc.table)
	}
	_, err := notifypg.NewRateCounter(notifypg.RateCounterConfig{})
	assert.ErrorContains(t, err, "RateCounterConfig.DB is nil")
}

// Every instance creates both tables at start-up, at the same time.
func TestCreateBothSchemasFromEveryInstanceAtOnce(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dsn := pgtest.DSN(t)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range 4 {
		db := pgtest.Open(t, dsn)
		o, err := notifypg.New(notifypg.Config{DB: db})
		require.NoError(t, err)
		c, err := notifypg.NewRateCounter(notifypg.RateCounterConfig{DB: db})
		require.NoError(t, err)
		wg.Add(2)
		go func() { defer wg.Done(); errs[2*i] = o.CreateSchema(ctx) }()
		go func() { defer wg.Done(); errs[2*i+1] = c.CreateSchema(ctx) }()
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, fmt.Sprint("call ", i))
	}
	var indexes []string
	db := pgtest.Open(t, dsn)
	rows, err := db.QueryContext(ctx, `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'notify_rate' ORDER BY 1`)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		indexes = append(indexes, s)
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, []string{"notify_rate_end", "notify_rate_pkey"}, indexes)
}

// BenchmarkLimiterAllow is the cost the limits add to each SMS on
// PostgreSQL: one Allow is three Takes (number, country, overall), each
// one statement. Numbers vary so that no limit refuses; the overall and
// country rows are hot, as in production. Parallel: 8 senders on one
// pool of 10 connections.
func BenchmarkLimiterAllow(b *testing.B) {
	db := pgtest.DB(b)
	counter, err := notifypg.NewRateCounter(notifypg.RateCounterConfig{DB: db})
	if err != nil {
		b.Fatal(err)
	}
	if err := counter.CreateSchema(b.Context()); err != nil {
		b.Fatal(err)
	}
	l, err := notify.NewLimiter(notify.LimiterConfig{Counter: counter, PerCountry: notify.Limit{Max: 1 << 30}, Overall: notify.Limit{Max: 1 << 30}})
	if err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	b.SetParallelism(4) // 4 × GOMAXPROCS (2 here) = 8 senders
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			number := fmt.Sprintf("+1415%07d", 5550000+next.Add(1)%4000000)
			if err := l.Allow(b.Context(), notify.KindTwoFactorCode, number); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
