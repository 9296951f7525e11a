package notifypg_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/siteadmin/integrations/internal/pgtest"
	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/notify/notifypg"
	"github.com/siteadmin/integrations/notify/notifytest"
)

// pgMutants are PostgreSQL outboxes with one plausible mistake each, and
// the subtests of notifytest.TestOutbox that must catch it on a real
// server.
var pgMutants = map[string][]string{
	// The claim that sent 1,512 of 10,000 messages twice: SELECT, then
	// UPDATE, with no row lock in between.
	"claim without locking":           {"ConcurrentClaimsNeverOverlap"},
	"mark failed without lease check": {"LateMarkFailedChangesNothing", "MarkFailedTwiceWithOneLease"},
	"enqueue one row at a time":       {"EnqueueIsAllOrNothing"},
	"enqueue upserts":                 {"EnqueueSkipsKeysPresent"},
}

const pgMutantEnv = "NOTIFYPG_MUTANT"

// TestPGMutant runs the suite on the mutant named by NOTIFYPG_MUTANT, in a
// child process of TestOutboxSuiteCatchesPGMutants.
func TestPGMutant(t *testing.T) {
	name := os.Getenv(pgMutantEnv)
	if name == "" {
		t.Skip("run by TestOutboxSuiteCatchesPGMutants")
	}
	notifytest.TestOutbox(t, func(t *testing.T) notify.Outbox {
		db := pgtest.DB(t)
		return &pgMutant{Outbox: newOutbox(t, db, notifypg.Config{}), db: db, bug: name}
	})
}

func TestOutboxSuiteCatchesPGMutants(t *testing.T) {
	t.Parallel()
	server := pgtest.DSN(t) // the children share this test's server
	for name, want := range pgMutants {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			failed, out := runPGMutant(t, "TestPGMutant", pgMutantEnv, name, server, want)
			for _, w := range want {
				assert.Contains(t, failed, w, "subtest %s passed an outbox whose %s\n%s", w, name, out)
			}
		})
	}
}

// pgMutant is notifypg's outbox with one statement replaced by a broken
// one on the same table.
type pgMutant struct {
	*notifypg.Outbox
	db  *sql.DB
	bug string
}

func (o *pgMutant) Enqueue(ctx context.Context, msgs []notify.Message) error {
	switch o.bug {
	case "enqueue one row at a time":
		for _, m := range msgs {
			if err := o.Outbox.Enqueue(ctx, []notify.Message{m}); err != nil {
				return err
			}
		}
		return nil
	case "enqueue upserts":
		for _, m := range msgs {
			if m.Key() == "" || (m.Email == nil) == (m.SMS == nil) {
				return errors.New("bad message")
			}
		}
		for _, m := range msgs {
			m.Attempts, m.Lease = 0, ""
			b, _ := json.Marshal(m)
			if _, err := o.db.ExecContext(ctx, `INSERT INTO notify_outbox (key, message, due_at, created_at) VALUES ($1, $2, now(), now())
				ON CONFLICT (key) DO UPDATE SET message = EXCLUDED.message`, m.Key(), string(b)); err != nil {
				return err
			}
		}
		return nil
	}
	return o.Outbox.Enqueue(ctx, msgs)
}

func (o *pgMutant) Claim(ctx context.Context, max int, lease time.Duration) ([]notify.Message, error) {
	if o.bug != "claim without locking" || max <= 0 {
		return o.Outbox.Claim(ctx, max, lease)
	}
	var keys []string
	rows, err := o.db.QueryContext(ctx, `SELECT key FROM notify_outbox WHERE state = 'pending' AND due_at <= now() ORDER BY due_at LIMIT $1`, max)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, nil
	}
	token := fmt.Sprintf("00000000-0000-4000-8000-%012x", time.Now().UnixNano()&0xffffffffffff)
	rows, err = o.db.QueryContext(ctx, `UPDATE notify_outbox SET attempts = attempts + 1, lease = $2, due_at = now() + $3 * interval '1 microsecond'
		WHERE key = ANY($1) RETURNING message, attempts`, keys, token, lease.Microseconds())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []notify.Message
	for rows.Next() {
		var raw []byte
		var m notify.Message
		var attempts int
		if err := rows.Scan(&raw, &attempts); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, err
		}
		m.Attempts, m.Lease = attempts, token
		out = append(out, m)
	}
	return out, rows.Err()
}

func (o *pgMutant) MarkFailed(ctx context.Context, m notify.Message, f notify.Failure) error {
	if o.bug != "mark failed without lease check" {
		return o.Outbox.MarkFailed(ctx, m, f)
	}
	state := "pending"
	if f.Dead {
		state = "dead"
	}
	_, err := o.db.ExecContext(ctx, `UPDATE notify_outbox SET state = $2, due_at = $3, lease = NULL, last_error = $4 WHERE key = $1 AND state = 'pending'`,
		m.Key(), state, f.RetryAt, f.Reason)
	return err
}
