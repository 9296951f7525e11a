package notifypg

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/siteadmin/integrations/internal/pgsql"

	"github.com/siteadmin/integrations/notify"
)

// DefaultTable is the table a Config with no Table uses.
const DefaultTable = "notify_outbox"

// Config configures an Outbox. DB is required; every other zero field
// means its default.
type Config struct {
	// DB is the host's database. Required.
	DB *sql.DB
	// Table is the table's name, "table" or "schema.table": letters,
	// digits and underscores. It is quoted in SQL, so its case is kept.
	// The schema must exist. Default DefaultTable.
	Table string
	// Now is the clock for due times, leases and retention, for tests.
	// Default: nil, the database's now(), one clock for every instance.
	// (Retry times come from the Deliverer's clock, in notify.Failure.)
	Now func() time.Time
}

// Outbox is a notify.Outbox (and a notify.BatchMarker and
// notify.StatusRecorder) in one PostgreSQL table, shared by every instance
// that uses the same table. Create one
// with New; it is safe for concurrent use.
type Outbox struct {
	db    *sql.DB
	now   func() time.Time
	table pgsql.Table
	sql   statements
}

var (
	_ notify.Outbox      = (*Outbox)(nil)
	_ notify.BatchMarker = (*Outbox)(nil)
)

// statements are the SQL texts of one table, built once by New from the
// validated, quoted name. $now is a timestamptz parameter, NULL for the
// database's now().
type statements struct {
	enqueue, claim, delivered, deliveredBatch, failed string
	deadLetters, requeue, purge                       string
	recordStatus, deliveryStatus, undelivered         string
	schema                                            []string
}

func newStatements(t pgsql.Table) statements {
	q := t.Quoted
	const now = `coalesce($1::timestamptz, now())`
	rank := rankCase()
	return statements{
		// $2 keys, $3 messages, sorted by key so that concurrent
		// Enqueues of overlapping keys take their locks in one order.
		enqueue: `INSERT INTO ` + q + ` (key, message, due_at, created_at)
SELECT k, m::json, ` + now + `, ` + now + ` FROM unnest($2::text[], $3::text[]) AS u(k, m)
ON CONFLICT (key) DO NOTHING`,
		// $2 max, $3 lease token, $4 lease in microseconds. One
		// statement: the due rows are locked, skipping those another
		// claim holds, and leased before the lock is released.
		claim: `WITH due AS (
	SELECT key, due_at FROM ` + q + `
	WHERE state = 'pending' AND due_at <= ` + now + `
	ORDER BY due_at
	LIMIT $2
	FOR UPDATE SKIP LOCKED
)
UPDATE ` + q + ` AS o
SET attempts = o.attempts + 1, lease = $3::uuid, due_at = ` + now + ` + $4::bigint * interval '1 microsecond'
FROM due
WHERE o.key = due.key
RETURNING o.key, o.message, o.attempts, due.due_at`,
		// $2 key.
		delivered: `UPDATE ` + q + ` SET state = 'delivered', done_at = ` + now + `
WHERE key = $2 AND state = 'pending'`,
		// $2 keys.
		deliveredBatch: `UPDATE ` + q + ` SET state = 'delivered', done_at = ` + now + `
WHERE key = ANY($2::text[]) AND state = 'pending'`,
		// $2 key, $3 lease, $4 dead, $5 retry time, $6 reason. Only the
		// current lease of a pending (leased) message counts.
		failed: `UPDATE ` + q + ` SET
	state = CASE WHEN $4::boolean THEN 'dead' ELSE 'pending' END,
	due_at = CASE WHEN $4::boolean THEN due_at ELSE $5::timestamptz END,
	done_at = CASE WHEN $4::boolean THEN ` + now + ` END,
	lease = NULL,
	last_error = $6
WHERE key = $2 AND lease = $3::uuid AND state = 'pending'`,
		// $1 limit: no clock.
		deadLetters: `SELECT key, message, attempts, coalesce(last_error, ''), created_at, done_at FROM ` + q + `
WHERE state = 'dead' ORDER BY done_at DESC, key LIMIT $1`,
		// $2 key.
		requeue: `UPDATE ` + q + ` SET state = 'pending', due_at = ` + now + `, attempts = 0, lease = NULL, done_at = NULL
WHERE key = $2 AND state = 'dead'`,
		// $2 retention in microseconds, $3 batch size.
		purge: `DELETE FROM ` + q + ` WHERE key IN (
	SELECT key FROM ` + q + `
	WHERE state IN ('delivered', 'dead') AND done_at < ` + now + ` - $2::bigint * interval '1 microsecond'
	LIMIT $3
)`,
		// $1 key, $2 to $6 the status, $7 its rank. The UPDATE's WHERE is
		// DeliveryStatus.Supersedes on the stored state's rank; a
		// concurrent report of the same message waits for the row lock and
		// is then checked against the status that one left. The outer
		// SELECT tells an unknown key from a report that was ignored.
		recordStatus: `WITH recorded AS (
	UPDATE ` + q + ` SET delivery_state = $2, delivery_provider_id = $3, delivery_error_code = $4, delivery_reason = $5, delivery_at = $6
	WHERE key = $1 AND (` + rank + ` < $7 OR ` + rank + ` = $7 AND $7 < ` + strconv.Itoa(notify.DeliveryDelivered.Rank()) + `)
	RETURNING 1
)
SELECT EXISTS (SELECT FROM recorded) OR EXISTS (SELECT FROM ` + q + ` WHERE key = $1)`,
		// $1 key.
		deliveryStatus: `SELECT ` + deliveryColumns + ` FROM ` + q + ` WHERE key = $1`,
		// $1 limit.
		undelivered: `SELECT key, message, created_at, ` + deliveryColumns + ` FROM ` + q + `
WHERE delivery_state IN (` + undeliveredStates() + `) ORDER BY delivery_at DESC, key LIMIT $1`,
		schema: schemaStatements(t),
	}
}

func schemaStatements(t pgsql.Table) []string {
	q := t.Quoted
	return []string{
		`CREATE TABLE IF NOT EXISTS ` + q + ` (
	key        text PRIMARY KEY,  -- notify.Message.Key(), the idempotency key
	message    json NOT NULL,     -- the notify.Message, without Attempts and Lease
	state      text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
	attempts   integer NOT NULL DEFAULT 0, -- claims so far
	due_at     timestamptz NOT NULL, -- pending: when it may be claimed (retry time, or lease expiry)
	lease      uuid,                 -- the latest claim's token; NULL when not leased
	last_error text,                 -- the latest failure's reason
	created_at timestamptz NOT NULL,
	done_at    timestamptz,          -- when it became delivered or dead
	-- The provider's latest report (RecordStatus): a notify.DeliveryState
	-- (NULL until the first report), the provider's message ID (Twilio's
	-- SM...), its error code (30003), what happened in plain words, and when.
	delivery_state       text,
	delivery_provider_id text,
	delivery_error_code  text,
	delivery_reason      text,
	delivery_at          timestamptz
)`,
		// Claim reads only pending rows, oldest due first; the index
		// stays small however many delivered rows the table keeps.
		`CREATE INDEX IF NOT EXISTS ` + t.Index("_due") + ` ON ` + q + ` (due_at) WHERE state = 'pending'`,
		`CREATE INDEX IF NOT EXISTS ` + t.Index("_dead") + ` ON ` + q + ` (done_at) WHERE state = 'dead'`,
		// Undelivered lists the messages that never arrived, latest first.
		`CREATE INDEX IF NOT EXISTS ` + t.Index("_lost") + ` ON ` + q + ` (delivery_at) WHERE delivery_state IN (` + undeliveredStates() + `)`,
	}
}

// New checks cfg and returns an outbox. It does not touch the database.
func New(cfg Config) (*Outbox, error) {
	if cfg.DB == nil {
		return nil, errors.New("notifypg: Config.DB is nil: pass the host's *sql.DB")
	}
	if cfg.Table == "" {
		cfg.Table = DefaultTable
	}
	t, err := parseTable("Config.Table", cfg.Table)
	if err != nil {
		return nil, err
	}
	return &Outbox{db: cfg.DB, now: cfg.Now, table: t, sql: newStatements(t)}, nil
}

// Schema returns the SQL that creates the outbox's table and indexes, for
// hosts that run their own migration tool. table is as Config.Table (""
// for DefaultTable). The statements use IF NOT EXISTS.
func Schema(table string) (string, error) {
	if table == "" {
		table = DefaultTable
	}
	t, err := parseTable("Config.Table", table)
	if err != nil {
		return "", err
	}
	return strings.Join(schemaStatements(t), ";\n\n") + ";\n", nil
}

// schemaLock is the advisory lock key that serializes the CreateSchema
// calls of the Outbox and the RateCounter.
const schemaLock = 0x6e6f74696679 // "notify"

// CreateSchema creates the table and its indexes unless they exist. It is
// safe to call from every instance at start-up, at the same time.
func (o *Outbox) CreateSchema(ctx context.Context) error {
	return createSchema(ctx, o.db, o.sql.schema)
}

// createSchema creates the tables of stmts under schemaLock.
func createSchema(ctx context.Context, db *sql.DB, stmts []string) error {
	return pgsql.CreateSchema(ctx, db, "notifypg", schemaLock, stmts)
}

// parseTable validates a table setting named field; "_dead" is the
// longest suffix of the tables' indexes.
func parseTable(field, name string) (pgsql.Table, error) {
	return pgsql.ParseTable("notifypg", field, name, len("_dead"))
}

// clock returns the $1 parameter of every statement: the Config.Now time,
// or NULL for the database's now().
func (o *Outbox) clock() any {
	if o.now == nil {
		return nil
	}
	return o.now()
}

// txKey is the context key of WithTx.
type txKey struct{}

// WithTx returns a context that carries tx: Enqueue with that context
// writes in tx, so the messages commit or roll back with the change that
// caused them. Claim and the Mark calls never use it.
func WithTx(ctx context.Context, tx *sql.Tx) context.Context {
	return context.WithValue(ctx, txKey{}, tx)
}

// execer is what *sql.DB and *sql.Tx share.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Enqueue stores msgs, due now, in one INSERT ... ON CONFLICT DO NOTHING:
// all of them or none, skipping keys the table holds (in any state). With
// a context from WithTx it runs in that transaction. A message without a
// key, or with both or neither of Email and SMS, fails the whole call
// before the database is asked.
func (o *Outbox) Enqueue(ctx context.Context, msgs []notify.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	byKey := make(map[string]string, len(msgs))
	keys := make([]string, 0, len(msgs))
	for i, m := range msgs {
		if (m.Email == nil) == (m.SMS == nil) {
			return fmt.Errorf("notifypg: Enqueue: message %d: set exactly one of Email and SMS", i)
		}
		k := m.Key()
		if k == "" {
			return fmt.Errorf("notifypg: Enqueue: message %d has no key", i)
		}
		if _, dup := byKey[k]; dup {
			continue // the first one wins, as in the table
		}
		m.Attempts, m.Lease = 0, ""
		var b strings.Builder
		enc := json.NewEncoder(&b)
		// HTML bodies are full of <, > and &: written as they are rather
		// than as \u003c, they take fewer bytes, and every Claim decodes
		// them faster.
		enc.SetEscapeHTML(false)
		if err := enc.Encode(m); err != nil {
			return fmt.Errorf("notifypg: Enqueue: message %d: %w", i, err)
		}
		byKey[k] = strings.TrimSuffix(b.String(), "\n")
		keys = append(keys, k)
	}
	slices.Sort(keys)
	bodies := make([]string, len(keys))
	for i, k := range keys {
		bodies[i] = byKey[k]
	}
	var db execer = o.db
	if tx, ok := ctx.Value(txKey{}).(*sql.Tx); ok && tx != nil {
		db = tx
	}
	if _, err := db.ExecContext(ctx, o.sql.enqueue, o.clock(), textArray(keys), textArray(bodies)); err != nil {
		return fmt.Errorf("notifypg: Enqueue of %d messages: %w", len(keys), err)
	}
	return nil
}

// Claim leases up to max due messages, oldest due first, in one statement
// (SELECT ... FOR UPDATE SKIP LOCKED, then UPDATE): a due message is
// pending and its due time, the retry time or an expired lease, has come.
// Every message of one claim shares one new random lease token.
func (o *Outbox) Claim(ctx context.Context, max int, lease time.Duration) ([]notify.Message, error) {
	if max <= 0 {
		return nil, nil
	}
	if lease <= 0 {
		return nil, errors.New("notifypg: Claim needs a positive lease")
	}
	token := newLeaseToken()
	rows, err := o.db.QueryContext(ctx, o.sql.claim, o.clock(), max, token, lease.Microseconds())
	if err != nil {
		return nil, fmt.Errorf("notifypg: Claim: %w", err)
	}
	defer rows.Close()
	type claimed struct {
		msg notify.Message
		due time.Time
	}
	var out []claimed
	var raw []byte
	var dec decoder // its unescaping buffer serves every row
	var bad []badRow
	for rows.Next() {
		var c claimed
		var key string
		if err := rows.Scan(&key, &raw, &c.msg.Attempts, &c.due); err != nil {
			return nil, fmt.Errorf("notifypg: Claim: %w", err)
		}
		attempts := c.msg.Attempts
		if err := dec.decode(raw, &c.msg); err != nil {
			bad = append(bad, badRow{key, err})
			continue
		}
		c.msg.Attempts, c.msg.Lease = attempts, token
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("notifypg: Claim: %w", err)
	}
	rows.Close()
	if err := o.buryUndecodable(ctx, token, bad); err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b claimed) int { return a.due.Compare(b.due) })
	msgs := make([]notify.Message, len(out))
	for i, c := range out {
		msgs[i] = c.msg
	}
	return msgs, nil
}

// badRow is a claimed row whose message is not a notify.Message.
type badRow struct {
	key string
	err error
}

// buryUndecodable makes the rows of a claim that hold no notify.Message
// (written by hand, or by another program) dead letters with the reason,
// so that they neither fail every Claim that leases them nor come back
// after each lease: the Deliverer never sees them, so its attempt limit
// could not stop them.
func (o *Outbox) buryUndecodable(ctx context.Context, token string, bad []badRow) error {
	for _, b := range bad {
		reason := "not a notify.Message, so it cannot be sent: " + b.err.Error()
		if _, err := o.db.ExecContext(ctx, o.sql.failed, o.clock(), b.key, token, true, nil, reason); err != nil {
			return fmt.Errorf("notifypg: Claim: making %q, which is not a notify.Message, a dead letter: %w", b.key, err)
		}
	}
	return nil
}

// MarkDelivered records that m was sent, whatever its lease, unless it is
// already delivered or dead.
func (o *Outbox) MarkDelivered(ctx context.Context, m notify.Message) error {
	if _, err := o.db.ExecContext(ctx, o.sql.delivered, o.clock(), m.Key()); err != nil {
		return fmt.Errorf("notifypg: MarkDelivered: %w", err)
	}
	return nil
}

// MarkDeliveredBatch records that each of msgs was sent, in one UPDATE.
func (o *Outbox) MarkDeliveredBatch(ctx context.Context, msgs []notify.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	keys := make([]string, len(msgs))
	for i, m := range msgs {
		keys[i] = m.Key()
	}
	slices.Sort(keys) // one lock order for concurrent batches
	if _, err := o.db.ExecContext(ctx, o.sql.deliveredBatch, o.clock(), textArray(keys)); err != nil {
		return fmt.Errorf("notifypg: MarkDeliveredBatch of %d messages: %w", len(keys), err)
	}
	return nil
}

// MarkFailed records f for m when m.Lease is the message's current lease
// and the message is not delivered or dead; otherwise it does nothing.
func (o *Outbox) MarkFailed(ctx context.Context, m notify.Message, f notify.Failure) error {
	if !isLeaseToken(m.Lease) {
		return nil // never a lease of this outbox, so not the current one
	}
	retryAt := f.RetryAt
	if f.Dead {
		retryAt = time.Time{}
	}
	_, err := o.db.ExecContext(ctx, o.sql.failed, o.clock(), m.Key(), m.Lease, f.Dead, retryAt, f.Reason)
	if err != nil {
		return fmt.Errorf("notifypg: MarkFailed: %w", err)
	}
	return nil
}
