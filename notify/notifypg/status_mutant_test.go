package notifypg_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/internal/pgtest"
	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/notify/notifypg"
	"github.com/siteadmin/integrations/notify/notifytest"
)

// pgStatusMutants are PostgreSQL status recorders with one plausible
// mistake each, and the subtests of notifytest.TestStatusRecorder that
// must catch it on a real server.
var pgStatusMutants = map[string][]string{
	// The last report wins: a late "sent" overwrites "delivered".
	"no rank rule": {"LowerRankIsIgnored", "FirstFinalStays"},
	// Rank compared with <=: a second final report replaces the first.
	"final replaces final": {"FirstFinalStays"},
	// Supersedes checked in Go on a status read before the UPDATE: a
	// report that read "queued" overwrites a "delivered" written since.
	"read then write": {"ConcurrentOutOfOrderReports"},
	// No row updated is taken for an ignored report.
	"unknown key ignored": {"UnknownKey"},
	// The report's time sent as wall-clock text, read in the session's
	// time zone.
	"time without its zone": {"ReportIsStoredWhole"},
}

const pgStatusMutantEnv = "NOTIFYPG_STATUS_MUTANT"

// TestPGStatusMutant runs the suite on the mutant named by
// NOTIFYPG_STATUS_MUTANT, in a child process of
// TestStatusRecorderSuiteCatchesPGMutants.
func TestPGStatusMutant(t *testing.T) {
	name := os.Getenv(pgStatusMutantEnv)
	if name == "" {
		t.Skip("run by TestStatusRecorderSuiteCatchesPGMutants")
	}
	notifytest.TestStatusRecorder(t, func(t *testing.T) notifytest.StatusOutbox {
		db := pgtest.DB(t)
		return &pgStatusMutant{Outbox: newOutbox(t, db, notifypg.Config{}), db: db, bug: name}
	})
}

func TestStatusRecorderSuiteCatchesPGMutants(t *testing.T) {
	t.Parallel()
	server := pgtest.DSN(t) // the children share this test's server
	for name, want := range pgStatusMutants {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			failed, out := runPGMutant(t, "TestPGStatusMutant", pgStatusMutantEnv, name, server, want)
			for _, w := range want {
				assert.Contains(t, failed, w, "subtest %s passed a recorder with %s\n%s", w, name, out)
			}
		})
	}
}

// The mutants' base, with no bug switched on, passes the suite: the
// failures above come from the bugs.
func TestStatusRecorderSuitePassesThePGMutantsBase(t *testing.T) {
	t.Parallel()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestPGStatusMutant$", "-test.v", "-test.count=1", "-test.timeout=3m")
	cmd.Env = append(os.Environ(), pgStatusMutantEnv+"=none", pgtest.EnvURL+"="+pgtest.DSN(t))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "--- PASS: TestPGStatusMutant/ConcurrentFinalReports")
}

// pgStatusMutant is notifypg's outbox with RecordStatus replaced by one
// of its own on the same table, broken unless bug is "none".
type pgStatusMutant struct {
	*notifypg.Outbox
	db  *sql.DB
	bug string
}

// mutantRank is DeliveryState.Rank of the stored state.
const mutantRank = `CASE delivery_state WHEN 'queued' THEN 1 WHEN 'sent' THEN 2 WHEN 'delivered' THEN 3 WHEN 'undelivered' THEN 3 WHEN 'failed' THEN 3 ELSE 0 END`

func (o *pgStatusMutant) RecordStatus(ctx context.Context, key string, st notify.DeliveryStatus) error {
	rank := st.State.Rank()
	if rank == 0 {
		return fmt.Errorf("unknown state %q", st.State)
	}
	set := `UPDATE notify_outbox SET delivery_state = $2, delivery_provider_id = $3, delivery_error_code = $4, delivery_reason = $5, delivery_at = $6`
	args := []any{key, string(st.State), st.ProviderID, st.ErrorCode, st.Reason, st.At, rank}
	var query string
	switch o.bug {
	case "no rank rule":
		query = set + ` WHERE key = $1 AND $7 > 0`
	case "final replaces final":
		query = set + ` WHERE key = $1 AND ` + mutantRank + ` <= $7`
	case "read then write":
		cur, err := o.DeliveryStatus(ctx, key)
		if err != nil {
			return err
		}
		if !st.Supersedes(cur) {
			return nil
		}
		query = set + ` WHERE key = $1 AND $7 > 0`
	case "unknown key ignored":
		_, err := o.db.ExecContext(ctx, set+` WHERE key = $1 AND (`+mutantRank+` < $7 OR `+mutantRank+` = $7 AND $7 < 3)`, args...)
		return err
	case "time without its zone":
		args[5] = st.At.Format("2006-01-02 15:04:05.999999")
		query = set + `::timestamptz WHERE key = $1 AND (` + mutantRank + ` < $7 OR ` + mutantRank + ` = $7 AND $7 < 3)`
	default: // "none": the rule done right, so that the mutants' base passes
		query = set + ` WHERE key = $1 AND (` + mutantRank + ` < $7 OR ` + mutantRank + ` = $7 AND $7 < 3)`
	}
	var found bool
	err := o.db.QueryRowContext(ctx, `WITH u AS (`+query+` RETURNING 1) SELECT EXISTS (SELECT FROM u) OR EXISTS (SELECT FROM notify_outbox WHERE key = $1)`, args...).Scan(&found)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("%w: %q", notify.ErrUnknownMessage, key)
	}
	return nil
}
