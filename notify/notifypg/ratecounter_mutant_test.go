package notifypg_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/internal/pgtest"
	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/notify/notifypg"
	"github.com/siteadmin/integrations/notify/notifytest"
)

// pgRateMutants are PostgreSQL rate counters with one plausible mistake
// each, and the subtests of notifytest.TestRateCounter that must catch it
// on a real server.
var pgRateMutants = map[string][]string{
	// Read the count, decide in Go, write count+1: two instances that
	// read the same count both send.
	"select then update without locking": {"ConcurrentTakesNeverExceedMax"},
	// Count every attempt and compare afterwards: refused sends fill the
	// window, so a caller with a higher max gets too few.
	"counts refused sends": {"MaxIsTheCallers"},
	// One row per key, whatever the window.
	"ignores the window start": {"WindowsAreIndependent"},
	// The start sent as text without its offset: the session's time zone
	// reads it, and one instant in two zones is two windows.
	"start without its time zone": {"WindowsAreIndependent"},
}

const pgRateMutantEnv = "NOTIFYPG_RATE_MUTANT"

// TestPGRateMutant runs the suite on the mutant named by
// NOTIFYPG_RATE_MUTANT, in a child process of
// TestRateCounterSuiteCatchesPGMutants.
func TestPGRateMutant(t *testing.T) {
	name := os.Getenv(pgRateMutantEnv)
	if name == "" {
		t.Skip("run by TestRateCounterSuiteCatchesPGMutants")
	}
	notifytest.TestRateCounter(t, func(t *testing.T) notify.RateCounter {
		db := pgtest.DB(t)
		newRateCounter(t, db, notifypg.RateCounterConfig{}) // the table
		return &pgRateMutant{db: db, bug: name}
	})
}

func TestRateCounterSuiteCatchesPGMutants(t *testing.T) {
	t.Parallel()
	server := pgtest.DSN(t) // the children share this test's server
	for name, want := range pgRateMutants {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			failed, out := runPGMutant(t, "TestPGRateMutant", pgRateMutantEnv, name, server, want)
			for _, w := range want {
				assert.Contains(t, failed, w, "subtest %s passed a counter that %s\n%s", w, name, out)
			}
		})
	}
}

// The mutant's base, with no bug switched on, passes the suite: the
// failures above come from the bugs.
func TestRateCounterSuitePassesThePGMutantsBase(t *testing.T) {
	t.Parallel()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestPGRateMutant$", "-test.v", "-test.count=1", "-test.timeout=3m")
	cmd.Env = append(os.Environ(), pgRateMutantEnv+"=none", pgtest.EnvURL+"="+pgtest.DSN(t))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "--- PASS: TestPGRateMutant/ConcurrentTakesNeverExceedMax")
}

// runPGMutant runs test in a child process on server with env=name,
// limited to the subtests in want, and returns the subtests that failed.
func runPGMutant(t *testing.T, test, env, name, server string, want []string) ([]string, string) {
	t.Helper()
	pattern := "^" + test + "$/^(" + strings.Join(want, "|") + ")$"
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run="+pattern, "-test.v", "-test.count=1", "-test.timeout=3m")
	cmd.Env = append(os.Environ(), env+"="+name, pgtest.EnvURL+"="+server)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "the suite passed the mutant %q (err %v):\n%s", name, err, out)
	var failed []string
	for _, m := range regexp.MustCompile(`--- FAIL: `+test+`/(\S+)`).FindAllStringSubmatch(string(out), -1) {
		failed = append(failed, m[1])
	}
	return failed, string(out)
}

// pgRateMutant counts in notifypg's table with statements of its own, one
// of them broken; with bug "none" it is a correct counter.
type pgRateMutant struct {
	db  *sql.DB
	bug string
}

func (c *pgRateMutant) Take(ctx context.Context, key string, start time.Time, length time.Duration, max int) (bool, error) {
	var startArg any = start
	switch c.bug {
	case "ignores the window start":
		startArg = time.Unix(0, 0)
	case "start without its time zone":
		startArg = start.Format("2006-01-02 15:04:05.999999")
	case "select then update without locking":
		var n int
		err := c.db.QueryRowContext(ctx, `SELECT count FROM notify_rate WHERE key = $1 AND window_start = $2`, key, start).Scan(&n)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return false, err
		}
		if n >= max {
			return false, nil
		}
		_, err = c.db.ExecContext(ctx, `INSERT INTO notify_rate (key, window_start, window_end, count) VALUES ($1, $2, $2, $3)
			ON CONFLICT (key, window_start) DO UPDATE SET count = $3`, key, start, n+1)
		return err == nil, err
	case "counts refused sends":
		var n int
		err := c.db.QueryRowContext(ctx, `INSERT INTO notify_rate AS r (key, window_start, window_end, count) VALUES ($1, $2, $2, 1)
			ON CONFLICT (key, window_start) DO UPDATE SET count = r.count + 1 RETURNING count`, key, start).Scan(&n)
		return err == nil && n <= max, err
	}
	var n int
	err := c.db.QueryRowContext(ctx, `INSERT INTO notify_rate AS r (key, window_start, window_end, count) VALUES ($1, $2::timestamptz, $2::timestamptz + $3 * interval '1 microsecond', 1)
		ON CONFLICT (key, window_start) DO UPDATE SET count = r.count + 1 WHERE r.count < $4 RETURNING count`,
		key, startArg, length.Microseconds(), max).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}
