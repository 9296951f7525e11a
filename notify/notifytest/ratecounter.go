package notifytest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siteadmin/integrations/notify"
)

// TestRateCounter is the suite every notify.RateCounter must pass. Call
// it from a test of the implementation with a function that returns a
// new, empty counter (a fresh table, say):
//
//	func TestPostgresRateCounter(t *testing.T) {
//		notifytest.TestRateCounter(t, func(t *testing.T) notify.RateCounter {
//			return newCounterOnAFreshTable(t)
//		})
//	}
//
// It checks that a window counts up to the max its callers pass and no
// further, that keys and windows are independent, that a done context
// counts nothing, and that many goroutines racing on one window never
// push it past its max. Windows are given by their start times, as the
// Limiter's clock would compute them, so no real time passes.
func TestRateCounter(t *testing.T, newCounter func(t *testing.T) notify.RateCounter) {
	t.Helper()
	start := time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC)
	t.Run("CountsUpToMax", func(t *testing.T) {
		c := newCounter(t)
		takes(t, c, "k", start, time.Hour, 3, []bool{true, true, true, false, false})
	})
	t.Run("MaxIsTheCallers", func(t *testing.T) {
		c := newCounter(t)
		takes(t, c, "k", start, time.Hour, 2, []bool{true, true, false})
		takes(t, c, "k", start, time.Hour, 4, []bool{true, true, false})
		takes(t, c, "k", start, time.Hour, 1, []bool{false})
	})
	t.Run("KeysAreIndependent", func(t *testing.T) {
		c := newCounter(t)
		takes(t, c, "notify:number:+14155550100", start, time.Hour, 1, []bool{true, false})
		takes(t, c, "notify:number:+14155550101", start, time.Hour, 1, []bool{true, false})
		takes(t, c, "notify:number:+1415555010", start, time.Hour, 1, []bool{true})
		takes(t, c, "notify:number:+14155550100 ", start, time.Hour, 1, []bool{true})
		long := strings.Repeat("ключ-", 100)
		takes(t, c, long, start, time.Hour, 1, []bool{true, false})
		takes(t, c, long[:len(long)-1], start, time.Hour, 1, []bool{true})
	})
	t.Run("WindowsAreIndependent", func(t *testing.T) {
		c := newCounter(t)
		takes(t, c, "k", start, time.Hour, 2, []bool{true, true, false})
		next := start.Add(time.Hour)
		takes(t, c, "k", next, time.Hour, 2, []bool{true, true, false})
		takes(t, c, "k", start, time.Hour, 2, []bool{false})
		takes(t, c, "k", start.Add(time.Minute), time.Minute, 1, []bool{true, false})
		// The same instant in another location is the same window.
		takes(t, c, "k", next.In(time.FixedZone("UTC+5", 5*3600)), time.Hour, 2, []bool{false})
		// A day window and an hour window under other keys, as a
		// Limiter with several limits uses them.
		takes(t, c, "day", start.Truncate(24*time.Hour), 24*time.Hour, 1, []bool{true, false})
	})
	t.Run("DoneContextCountsNothing", func(t *testing.T) {
		c := newCounter(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if ok, err := c.Take(ctx, "k", start, time.Hour, 1); err == nil || ok {
			t.Errorf("Take with a cancelled context = %v, %v; want false and an error", ok, err)
		}
		takes(t, c, "k", start, time.Hour, 1, []bool{true, false})
	})
	t.Run("ConcurrentTakesNeverExceedMax", func(t *testing.T) {
		c := newCounter(t)
		const goroutines, each, max = 32, 20, 75
		keys := []string{"a", "b", "c"}
		var counted [3]atomic.Int64
		var failed atomic.Int64
		var wg sync.WaitGroup
		ready := make(chan struct{})
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-ready
				for i := range each {
					k := (g + i) % len(keys)
					ok, err := c.Take(t.Context(), keys[k], start, time.Hour, max)
					if err != nil {
						failed.Add(1)
						continue
					}
					if ok {
						counted[k].Add(1)
					}
				}
			}()
		}
		close(ready)
		wg.Wait()
		if n := failed.Load(); n > 0 {
			t.Fatalf("%d concurrent Takes failed", n)
		}
		for k, key := range keys {
			// 640 attempts over 3 keys, over 200 each: every window fills.
			if got := counted[k].Load(); got != max {
				t.Errorf("key %q: %d concurrent Takes counted, want exactly %d", key, got, max)
			}
		}
	})
}

// takes calls Take once per element of want and checks each answer.
func takes(t *testing.T, c notify.RateCounter, key string, start time.Time, length time.Duration, max int, want []bool) {
	t.Helper()
	for i, w := range want {
		ok, err := c.Take(t.Context(), key, start, length, max)
		if err != nil {
			t.Fatalf("Take(%q, %s, max %d) #%d: %v", key, start.Format(time.RFC3339), max, i+1, err)
		}
		if ok != w {
			t.Errorf("Take(%q, %s, max %d) #%d = %v, want %v", shorten(key), start.Format(time.RFC3339), max, i+1, ok, w)
		}
	}
}

func shorten(s string) string {
	if len(s) > 40 {
		return fmt.Sprintf("%s... (%d bytes)", s[:40], len(s))
	}
	return s
}
