package notifypg

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/siteadmin/integrations/internal/pgsql"

	"github.com/siteadmin/integrations/notify"
)

// DefaultRateTable is the table a RateCounterConfig with no Table uses.
const DefaultRateTable = "notify_rate"

// DefaultRatePurgeInterval is how often Take also deletes ended windows
// when RateCounterConfig.PurgeInterval is zero.
const DefaultRatePurgeInterval = 10 * time.Minute

// RateCounterConfig configures a RateCounter. DB is required; every other
// zero field means its default.
type RateCounterConfig struct {
	// DB is the host's database. Required.
	DB *sql.DB
	// Table is the table's name, "table" or "schema.table", as
	// Config.Table. Default DefaultRateTable.
	Table string
	// PurgeInterval is how often Take also deletes the windows that have
	// ended, in the background of normal use; negative turns that off
	// (call Purge yourself). Default DefaultRatePurgeInterval.
	PurgeInterval time.Duration
}

// RateCounter is a notify.RateCounter in one PostgreSQL table, so that the
// send limits of a notify.Limiter hold across every instance of the host
// that uses the same table. Each Take is one statement; a window is a row
// keyed by the counted key and the window's start (to the microsecond, as
// timestamptz keeps it), so the same instant in any time zone is one
// window. Create one with NewRateCounter; it is safe for concurrent use.
//
// Rows of ended windows are deleted by Purge, and by Take at most once per
// PurgeInterval. An ended window is one whose end is before the database's
// now(), while the Limiter computes windows with its own clock: keep the
// hosts' clocks within a minute or so of the database's (NTP does), or a
// window that a host still counts in could be purged just before it ends.
type RateCounter struct {
	db            *sql.DB
	take, purge   string
	schema        []string
	purgeInterval time.Duration
	nextPurge     atomic.Int64 // UnixNano of the next background purge
}

var _ notify.RateCounter = (*RateCounter)(nil)

func rateStatements(t pgsql.Table) (take, purge string, schema []string) {
	q := t.Quoted
	// $1 key, $2 window start, $3 length in microseconds, $4 max. A row
	// comes back only when this send was counted: the update's WHERE
	// leaves a full window as it is, and ON CONFLICT's row lock makes
	// concurrent Takes of one window count one after the other, each
	// seeing the count the one before it left.
	take = `INSERT INTO ` + q + ` AS r (key, window_start, window_end, count)
VALUES ($1, $2::timestamptz, $2::timestamptz + $3::bigint * interval '1 microsecond', 1)
ON CONFLICT (key, window_start) DO UPDATE SET count = r.count + 1
WHERE r.count < $4
RETURNING r.count`
	purge = `DELETE FROM ` + q + ` WHERE window_end < now()`
	schema = []string{
		`CREATE TABLE IF NOT EXISTS ` + q + ` (
	key          text NOT NULL,        -- what is counted: notify:number:+14155550100, notify:country:US
	window_start timestamptz NOT NULL, -- the fixed window's start
	window_end   timestamptz NOT NULL, -- its end, for the purge
	count        integer NOT NULL,     -- sends counted in the window
	PRIMARY KEY (key, window_start)
)`,
		`CREATE INDEX IF NOT EXISTS ` + t.Index("_end") + ` ON ` + q + ` (window_end)`,
	}
	return take, purge, schema
}

// NewRateCounter checks cfg and returns a counter. It does not touch the
// database.
func NewRateCounter(cfg RateCounterConfig) (*RateCounter, error) {
	if cfg.DB == nil {
		return nil, errors.New("notifypg: RateCounterConfig.DB is nil: pass the host's *sql.DB")
	}
	t, err := parseTable("RateCounterConfig.Table", cmp.Or(cfg.Table, DefaultRateTable))
	if err != nil {
		return nil, err
	}
	c := &RateCounter{db: cfg.DB, purgeInterval: cfg.PurgeInterval}
	if c.purgeInterval == 0 {
		c.purgeInterval = DefaultRatePurgeInterval
	}
	c.take, c.purge, c.schema = rateStatements(t)
	return c, nil
}

// RateCounterSchema returns the SQL that creates the counter's table and
// index, for hosts that run their own migration tool; table is as
// RateCounterConfig.Table ("" for DefaultRateTable).
func RateCounterSchema(table string) (string, error) {
	t, err := parseTable("RateCounterConfig.Table", cmp.Or(table, DefaultRateTable))
	if err != nil {
		return "", err
	}
	_, _, schema := rateStatements(t)
	return strings.Join(schema, ";\n\n") + ";\n", nil
}

// CreateSchema creates the table and its index unless they exist. It is
// safe to call from every instance at start-up, at the same time.
func (c *RateCounter) CreateSchema(ctx context.Context) error {
	return createSchema(ctx, c.db, c.schema)
}

// Take implements notify.RateCounter with one INSERT ... ON CONFLICT DO
// UPDATE: atomic across every instance that shares the table. An error
// (the database unreachable, ctx done) counts nothing, and the Limiter
// then refuses the send.
func (c *RateCounter) Take(ctx context.Context, key string, start time.Time, length time.Duration, max int) (bool, error) {
	if length < time.Microsecond || max < 1 {
		return false, fmt.Errorf("notifypg: RateCounter.Take needs a length of at least 1µs and a max of at least 1, not %s and %d", length, max)
	}
	var n int
	err := c.db.QueryRowContext(ctx, c.take, key, start, length.Microseconds(), max).Scan(&n)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("notifypg: counting a send: %w", err)
	}
	c.purgeIfDue(ctx)
	return err == nil, nil // no row: the window is full
}

// purgeIfDue deletes ended windows at most once per PurgeInterval per
// RateCounter, the first time at its first Take; its failure is only a
// missed clean-up.
func (c *RateCounter) purgeIfDue(ctx context.Context) {
	if c.purgeInterval < 0 {
		return
	}
	now := time.Now().UnixNano()
	next := c.nextPurge.Load()
	if now < next || !c.nextPurge.CompareAndSwap(next, now+int64(c.purgeInterval)) {
		return
	}
	_, _ = c.Purge(ctx)
}

// Purge deletes the windows that ended before the database's now() and
// returns how many it deleted. Call it from a job of your own when
// RateCounterConfig.PurgeInterval is negative. The table holds a row per
// key and window, a few per number texted in the longest window, so one
// statement deletes them all.
func (c *RateCounter) Purge(ctx context.Context) (int64, error) {
	res, err := c.db.ExecContext(ctx, c.purge)
	if err != nil {
		return 0, fmt.Errorf("notifypg: purging ended rate windows: %w", err)
	}
	return res.RowsAffected()
}
