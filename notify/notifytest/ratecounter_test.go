package notifytest_test

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/notify/notifytest"
)

func TestMemoryRateCounterPassesTheSuite(t *testing.T) {
	t.Parallel()
	notifytest.TestRateCounter(t, func(*testing.T) notify.RateCounter { return &notify.MemoryRateCounter{} })
}

// rateMutantEnv names the broken counter that TestRateCounterMutant runs the
// suite against, in a child process.
const rateMutantEnv = "NOTIFYTEST_RATE_COUNTER_MUTANT"

// TestRateCounterCatchesBrokenCounters proves the suite can fail: each
// mutant breaks one promise of RateCounter, and the suite, run against it
// in a child process, must fail.
func TestRateCounterCatchesBrokenCounters(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs the suite in child processes")
	}
	for name, m := range counterMutants {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestRateCounterMutant$", "-test.count=1")
			cmd.Env = append(os.Environ(), rateMutantEnv+"="+name)
			out, err := cmd.CombinedOutput()
			require.Error(t, err, "the suite passed a broken counter:\n%s", out)
			assert.Contains(t, string(out), "--- FAIL: TestRateCounterMutant/"+m.caughtBy, "%s", out)
		})
	}
}

// TestRateCounterMutant runs the suite against the mutant named in the
// environment; without one it does nothing.
func TestRateCounterMutant(t *testing.T) {
	name := os.Getenv(rateMutantEnv)
	if name == "" {
		t.Skip("run by TestRateCounterCatchesBrokenCounters")
	}
	m, ok := counterMutants[name]
	require.True(t, ok, "no mutant %q", name)
	notifytest.TestRateCounter(t, func(*testing.T) notify.RateCounter { return m.counter() })
}

// counterMutants maps each broken counter to the subtest of the suite that
// must catch it.
var counterMutants = map[string]struct {
	counter  func() notify.RateCounter
	caughtBy string
}{
	"racy check then count":  {func() notify.RateCounter { return &brokenCounter{racy: true} }, "ConcurrentTakesNeverExceedMax"},
	"one past max":           {func() notify.RateCounter { return &brokenCounter{offByOne: true} }, "CountsUpToMax"},
	"ignores the window":     {func() notify.RateCounter { return &brokenCounter{ignoreWindow: true} }, "WindowsAreIndependent"},
	"ignores the key":        {func() notify.RateCounter { return &brokenCounter{ignoreKey: true} }, "KeysAreIndependent"},
	"ignores the context":    {func() notify.RateCounter { return &brokenCounter{ignoreContext: true} }, "DoneContextCountsNothing"},
	"never refuses":          {func() notify.RateCounter { return &brokenCounter{neverRefuses: true} }, "CountsUpToMax"},
	"keeps the first max":    {func() notify.RateCounter { return &brokenCounter{firstMax: true} }, "MaxIsTheCallers"},
	"window by location too": {func() notify.RateCounter { return &brokenCounter{byLocation: true} }, "WindowsAreIndependent"},
}

// brokenCounter is a rate counter with one deliberate bug.
type brokenCounter struct {
	racy, offByOne, ignoreWindow, ignoreKey, ignoreContext, neverRefuses, firstMax, byLocation bool

	mu     sync.Mutex
	counts map[string]int
	maxes  map[string]int
}

func (m *brokenCounter) Take(ctx context.Context, key string, start time.Time, length time.Duration, max int) (bool, error) {
	if err := ctx.Err(); err != nil && !m.ignoreContext {
		return false, err
	}
	id := key + "|" + start.UTC().Format(time.RFC3339Nano)
	switch {
	case m.ignoreWindow:
		id = key
	case m.ignoreKey:
		id = start.UTC().Format(time.RFC3339Nano)
	case m.byLocation:
		id = key + "|" + start.Format(time.RFC3339Nano)
	}
	m.mu.Lock()
	if m.counts == nil {
		m.counts, m.maxes = map[string]int{}, map[string]int{}
	}
	if _, ok := m.maxes[id]; !ok || !m.firstMax {
		m.maxes[id] = max
	}
	n, limit := m.counts[id], m.maxes[id]
	if m.offByOne {
		limit++
	}
	if n >= limit && !m.neverRefuses {
		m.mu.Unlock()
		return false, nil
	}
	if m.racy {
		m.mu.Unlock()
		runtime.Gosched()
		m.mu.Lock()
		m.counts[id] = n + 1 // lost updates: n was read before the yield
		m.mu.Unlock()
		return true, nil
	}
	m.counts[id] = n + 1
	m.mu.Unlock()
	return true, nil
}
