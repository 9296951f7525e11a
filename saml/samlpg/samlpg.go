// Package samlpg is a saml.ReplayCache on PostgreSQL (13 or newer), for a
// host that runs several instances: an assertion accepted by one instance
// is refused as a replay by every other, because they share one table.
//
// The host passes its own *sql.DB, opened with the driver it already uses
// (pgx's stdlib, lib/pq); this package imports only database/sql. Create
// the table once, with CreateSchema or with your migration tool and the
// SQL from Schema, and give the cache to the service provider:
//
//	cache, err := samlpg.New(samlpg.Config{DB: db})
//	if err != nil { ... }
//	if err := cache.CreateSchema(ctx); err != nil { ... } // idempotent
//	sp, err := saml.NewServiceProvider(saml.Config{..., ReplayCache: cache})
//
// Add is one INSERT ... ON CONFLICT DO NOTHING: an ID is new only when its
// row was inserted, so of two instances that receive the same assertion at
// once exactly one accepts it. When the database cannot be reached, Add
// returns an error, and the service provider refuses the login rather than
// risk a replay.
//
// Expired IDs are deleted in the background of normal use: at most once
// per Config.PurgeInterval (10 minutes by default), one Add of the instance
// also deletes up to 10,000 expired rows. A host that prefers a cron job
// sets PurgeInterval to a negative value and calls Purge.
//
// Look next at Config, and at samltest.TestReplayCache, the conformance
// suite this cache passes and a cache on another database should pass too.
package samlpg

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/siteadmin/integrations/internal/pgsql"

	"github.com/siteadmin/integrations/saml"
)

// DefaultTable is the table a Config with no Table uses.
const DefaultTable = "saml_replay_cache"

// DefaultPurgeInterval is how often, at most, Add purges expired IDs when
// Config.PurgeInterval is 0.
const DefaultPurgeInterval = 10 * time.Minute

// MaxIDLength is the longest assertion ID, in bytes, that Add accepts: IdPs
// send IDs of 20 to 50 bytes, and a btree index refuses keys of about
// 2,700 bytes and more.
const MaxIDLength = 1024

// purgeBatch bounds the rows one DELETE removes, so that a purge after a
// long pause does not hold locks on a huge set at once.
const purgeBatch = 10000

// ErrIDTooLong is returned by Add for an ID longer than MaxIDLength bytes.
// The login that brought it is refused.
var ErrIDTooLong = errors.New("samlpg: the assertion ID is longer than 1024 bytes")

// Config configures a ReplayCache. DB is required; every other zero field
// means its default.
type Config struct {
	// DB is the host's database. Required.
	DB *sql.DB
	// Table is the table's name, "table" or "schema.table": letters,
	// digits and underscores. It is quoted in SQL, so its case is kept.
	// The schema must exist. Default DefaultTable.
	Table string
	// PurgeInterval is how often, at most, an Add of this instance also
	// deletes expired IDs. Negative: Add never purges; call Purge from a
	// job of your own. Default DefaultPurgeInterval. The purge compares
	// with the database's now() (or Now): keep the database's clock within
	// the service provider's ClockSkew of the hosts', or an ID could be
	// forgotten while its assertion is still accepted.
	PurgeInterval time.Duration
	// Now is the clock that tells which IDs have expired, for tests.
	// Default: nil, the database's now(), one clock for every instance.
	Now func() time.Time
}

// ReplayCache is a saml.ReplayCache in a PostgreSQL table, shared by every
// instance that uses the same table. Create one with New; it is safe for
// concurrent use.
type ReplayCache struct {
	db         *sql.DB
	now        func() time.Time
	purgeEvery time.Duration
	nextPurge  atomic.Int64 // time.Now().UnixNano() of the next purge by Add

	insert string
	purge  string
	schema []string
}

var _ saml.ReplayCache = (*ReplayCache)(nil)

// New checks cfg and returns a cache. It does not touch the database.
func New(cfg Config) (*ReplayCache, error) {
	if cfg.DB == nil {
		return nil, errors.New("samlpg: Config.DB is nil: pass the host's *sql.DB")
	}
	if cfg.Table == "" {
		cfg.Table = DefaultTable
	}
	t, err := parseTable(cfg.Table)
	if err != nil {
		return nil, err
	}
	if cfg.PurgeInterval == 0 {
		cfg.PurgeInterval = DefaultPurgeInterval
	}
	c := &ReplayCache{
		db:         cfg.DB,
		now:        cfg.Now,
		purgeEvery: cfg.PurgeInterval,
		insert:     `INSERT INTO ` + t.Quoted + ` (id, expires_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`,
		purge: `DELETE FROM ` + t.Quoted + ` WHERE id IN (SELECT id FROM ` + t.Quoted +
			` WHERE expires_at < coalesce($1::timestamptz, now()) LIMIT ` + fmt.Sprint(purgeBatch) + `)`,
		schema: schemaStatements(t),
	}
	c.nextPurge.Store(time.Now().Add(c.purgeEvery).UnixNano())
	return c, nil
}

// parseTable validates Config.Table; the expiry index's suffix is the
// longest name the table lends.
func parseTable(name string) (pgsql.Table, error) {
	return pgsql.ParseTable("samlpg", "Config.Table", name, len("_expires_at"))
}

func schemaStatements(t pgsql.Table) []string {
	return []string{
		`CREATE TABLE IF NOT EXISTS ` + t.Quoted + ` (
	id         text PRIMARY KEY,     -- the assertion ID, as the IdP sent it
	expires_at timestamptz NOT NULL  -- when it may be forgotten
)`,
		`CREATE INDEX IF NOT EXISTS ` + t.Index("_expires_at") + ` ON ` + t.Quoted + ` (expires_at)`,
	}
}

// Schema returns the SQL that creates the cache's table and index, for
// hosts that run their own migration tool. table is as Config.Table (""
// for DefaultTable). The statements use IF NOT EXISTS.
func Schema(table string) (string, error) {
	if table == "" {
		table = DefaultTable
	}
	t, err := parseTable(table)
	if err != nil {
		return "", err
	}
	return strings.Join(schemaStatements(t), ";\n\n") + ";\n", nil
}

// CreateSchema creates the table and its index unless they exist. It is
// safe to call from every instance at start-up, at the same time.
func (c *ReplayCache) CreateSchema(ctx context.Context) error {
	return pgsql.CreateSchema(ctx, c.db, "samlpg", schemaLock, c.schema)
}

// schemaLock is the advisory lock key that serializes CreateSchema calls.
const schemaLock = 0x73616d6c7067 // "samlpg"

// Add records id until expires and reports whether it was new: true only
// when this call inserted the row. It returns an error, and false, when
// the database does not answer or refuses the ID (ErrIDTooLong, an ID
// that is not valid UTF-8). An ID that is still in the table is refused
// even after its expiry, until a purge deletes it.
func (c *ReplayCache) Add(ctx context.Context, id string, expires time.Time) (bool, error) {
	if len(id) > MaxIDLength {
		return false, ErrIDTooLong
	}
	res, err := c.db.ExecContext(ctx, c.insert, id, expires)
	if err != nil {
		return false, fmt.Errorf("samlpg: recording the assertion ID: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("samlpg: recording the assertion ID: %w", err)
	}
	c.purgeIfDue(ctx)
	return n == 1, nil
}

// purgeIfDue lets one Add per PurgeInterval delete expired rows. Its
// failure is not Add's: the ID is recorded, and the next interval tries
// again.
func (c *ReplayCache) purgeIfDue(ctx context.Context) {
	if c.purgeEvery < 0 {
		return
	}
	next := c.nextPurge.Load()
	now := time.Now()
	if now.UnixNano() < next || !c.nextPurge.CompareAndSwap(next, now.Add(c.purgeEvery).UnixNano()) {
		return
	}
	_, _ = c.purgeOnce(ctx)
}

// Purge deletes every expired ID and returns how many it deleted. Call it
// from a periodic job when Config.PurgeInterval is negative; otherwise Add
// does it.
func (c *ReplayCache) Purge(ctx context.Context) (int64, error) {
	var total int64
	for {
		n, err := c.purgeOnce(ctx)
		total += n
		if err != nil {
			return total, fmt.Errorf("samlpg: purging expired IDs: %w", err)
		}
		if n < purgeBatch {
			return total, nil
		}
	}
}

func (c *ReplayCache) purgeOnce(ctx context.Context) (int64, error) {
	var now any // NULL: the database's now()
	if c.now != nil {
		now = c.now()
	}
	res, err := c.db.ExecContext(ctx, c.purge, now)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
