package notifypg_test

import (
	"bufio"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/internal/pgtest"
	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/notify/notifypg"
)

// TestFaultsAcrossProcesses drains 10,000 messages with 4 deliverer
// processes (this test binary, re-run as children) on one outbox table,
// through a transport that fails at random, temporarily and for good. One
// child is killed with SIGKILL when a fifth of the messages are done; the
// database connections of another are terminated, mid-claim when we catch
// one, when two fifths are. At the end every message must be delivered or
// dead with a reason, none lost or left pending, and every message sent
// twice must be one whose earlier sender was killed or cut off between
// the send and its acknowledgement.
func TestFaultsAcrossProcesses(t *testing.T) {
	t.Parallel()
	const total, children = 10000, 4
	const killed, cut = 0, 1
	ctx := t.Context()
	dsn := pgtest.DSN(t)
	db := pgtest.Open(t, dsn)
	o := newOutbox(t, db, notifypg.Config{})
	for lo := 0; lo < total; lo += 1000 {
		var msgs []notify.Message
		for i := lo; i < lo+1000; i++ {
			msgs = append(msgs, email(fmt.Sprintf("f%05d", i)))
		}
		require.NoError(t, o.Enqueue(ctx, msgs))
	}

	dir := t.TempDir()
	procs := make([]*exec.Cmd, children)
	for i := range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(),
			fmt.Sprintf("%s=%d", childEnv, i),
			fmt.Sprintf("%s=%s&application_name=fault-child-%d", childDSN, dsn, i),
			fmt.Sprintf("%s=%s", childLog, filepath.Join(dir, fmt.Sprintf("child-%d.log", i))))
		out, err := os.Create(filepath.Join(dir, fmt.Sprintf("child-%d.out", i)))
		require.NoError(t, err)
		defer out.Close()
		cmd.Stdout, cmd.Stderr = out, out
		require.NoError(t, cmd.Start())
		procs[i] = cmd
	}
	stopped := make([]bool, children)
	defer func() {
		for i, p := range procs {
			if !stopped[i] {
				_ = p.Process.Kill()
				_ = p.Wait()
			}
		}
	}()

	start := time.Now()
	var terminated int
	var midClaim bool
	for phase := 0; ; {
		done := countDone(t, db)
		switch {
		case phase == 0 && done >= total/5:
			require.NoError(t, procs[killed].Process.Signal(syscall.SIGKILL))
			_ = procs[killed].Wait()
			stopped[killed] = true
			phase++
		case phase == 1 && done >= 2*total/5:
			terminated, midClaim = cutConnections(t, db, fmt.Sprintf("fault-child-%d", cut))
			phase++
		case phase == 2 && done == total:
			phase++
		}
		if phase == 3 {
			break
		}
		if time.Since(start) > 2*time.Minute {
			t.Fatalf("after 2 minutes, %d of %d messages are delivered or dead (phase %d); children's output in %s", done, total, phase, dir)
		}
		time.Sleep(20 * time.Millisecond)
	}
	elapsed := time.Since(start)
	for i, p := range procs {
		if !stopped[i] {
			require.NoError(t, p.Process.Signal(syscall.SIGTERM))
			assert.NoError(t, p.Wait(), "child %d exits cleanly on SIGTERM", i)
			stopped[i] = true
		}
	}

	// The table: every message delivered, or dead with a reason.
	var rows, delivered, deadPermanent, deadAttempts, deadOther, noReason int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*),
		count(*) FILTER (WHERE state = 'delivered'),
		count(*) FILTER (WHERE state = 'dead' AND last_error LIKE 'permanent failure:%'),
		count(*) FILTER (WHERE state = 'dead' AND last_error LIKE 'failed % attempts%'),
		count(*) FILTER (WHERE state = 'dead' AND last_error NOT LIKE 'permanent failure:%' AND last_error NOT LIKE 'failed % attempts%'),
		count(*) FILTER (WHERE state = 'dead' AND coalesce(last_error, '') = '')
		FROM notify_outbox`).Scan(&rows, &delivered, &deadPermanent, &deadAttempts, &deadOther, &noReason))
	dead := deadPermanent + deadAttempts + deadOther
	assert.Equal(t, total, rows, "no message lost")
	assert.Equal(t, total, delivered+dead, "none pending")
	assert.Zero(t, noReason, "every dead letter has a reason")
	assert.Positive(t, deadPermanent, "the permanent failures made dead letters")

	// The senders' logs: who sent what, and which sends were acknowledged.
	sends, unacked := map[string]int{}, make([]map[string]int, children)
	for i := range children {
		s, a := readChildLog(t, filepath.Join(dir, fmt.Sprintf("child-%d.log", i)))
		unacked[i] = map[string]int{}
		for k, n := range s {
			sends[k] += n
			if u := n - a[k]; u > 0 {
				unacked[i][k] = u
			}
		}
	}
	var deliveredKeys []string
	dr, err := db.QueryContext(ctx, `SELECT key FROM notify_outbox WHERE state = 'delivered'`)
	require.NoError(t, err)
	for dr.Next() {
		var k string
		require.NoError(t, dr.Scan(&k))
		deliveredKeys = append(deliveredKeys, k)
	}
	require.NoError(t, dr.Err())
	for _, k := range deliveredKeys {
		if sends[k] == 0 {
			t.Errorf("message %s is marked delivered but was never sent", k)
		}
	}
	duplicates, unexplained := 0, 0
	for k, n := range sends {
		if n <= 1 {
			continue
		}
		duplicates += n - 1
		if n-1 > unacked[killed][k]+unacked[cut][k] {
			unexplained++
			if unexplained <= 5 {
				t.Errorf("message %s was sent %d times, but only %d of its sends were cut off before their acknowledgement", k, n, unacked[killed][k]+unacked[cut][k])
			}
		}
	}
	unackedKilled, unackedCut, unackedOthers := sum(unacked[killed]), sum(unacked[cut]), 0
	for i := range children {
		if i != killed && i != cut {
			unackedOthers += sum(unacked[i])
		}
	}
	assert.Zero(t, unackedOthers, "the children left alone acknowledge every send")
	assert.LessOrEqual(t, duplicates, unackedKilled+unackedCut, "duplicates only from sends cut off before their acknowledgement")
	t.Logf("%d messages, 4 processes, %s: %d delivered, %d dead (%d permanent failures, %d out of attempts, %d other); "+
		"%d successful sends, %d duplicates; sends never acknowledged: %d by the SIGKILLed child, %d by the child whose %d connections were terminated (mid-claim: %v), %d by the others",
		total, elapsed.Round(time.Millisecond), delivered, dead, deadPermanent, deadAttempts, deadOther,
		sum(sends), duplicates, unackedKilled, unackedCut, terminated, midClaim, unackedOthers)
}

func countDone(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRowContext(t.Context(), `SELECT count(*) FROM notify_outbox WHERE state <> 'pending'`).Scan(&n))
	return n
}

// cutConnections terminates the backends of the connections named app,
// trying for a while to catch one in the middle of a claim.
func cutConnections(t *testing.T, db *sql.DB, app string) (terminated int, midClaim bool) {
	t.Helper()
	ctx := t.Context()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && !midClaim {
		var n int
		require.NoError(t, db.QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE application_name = $1 AND state = 'active' AND query LIKE '%FOR UPDATE SKIP LOCKED%'`, app).Scan(&n))
		terminated += n
		midClaim = n > 0
	}
	var n int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&n))
	return terminated + n, midClaim
}

// readChildLog counts each key's sends and acknowledgements in a child's
// log. A line cut short by SIGKILL counts as nothing.
func readChildLog(t *testing.T, path string) (sends, acks map[string]int) {
	t.Helper()
	sends, acks = map[string]int{}, map[string]int{}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return sends, acks
	}
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		kind, key, ok := strings.Cut(sc.Text(), " ")
		if !ok || len(key) != len("f00000") {
			continue
		}
		switch kind {
		case "S":
			sends[key]++
		case "A":
			acks[key]++
		}
	}
	require.NoError(t, sc.Err())
	return sends, acks
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
