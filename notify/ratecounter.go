package notify

import (
	"context"
	"errors"
	"sync"
	"time"
)

// RateCounter counts sends in fixed time windows, for a Limiter. Every
// instance of the host must share one, or each would allow the whole
// limit: notifypg.RateCounter keeps it in PostgreSQL, a host on another
// database implements it there (notifytest.TestRateCounter is the suite
// an implementation must pass), and MemoryRateCounter serves a single
// process.
//
// In SQL it is one statement on a table keyed by (key, window_start):
//
//	INSERT INTO notify_rate (key, window_start, window_end, count)
//	VALUES ($1, $2, $2 + $3, 1)
//	ON CONFLICT (key, window_start) DO UPDATE SET count = notify_rate.count + 1
//	WHERE notify_rate.count < $4
//	RETURNING count
//
// which returns a row when the send was counted and none when the window
// was full; delete rows whose window_end has passed now and then.
type RateCounter interface {
	// Take counts one send under key in the window that starts at start
	// and lasts length, unless max sends are counted there already, and
	// reports whether it counted this one. It must be atomic: however
	// many callers race, in however many processes, a window never
	// counts more than the max its callers pass. Windows are identified
	// by key and start; a different start is a new, empty window. max is
	// at least 1. When ctx is done, Take returns its error and counts
	// nothing.
	Take(ctx context.Context, key string, start time.Time, length time.Duration, max int) (bool, error)
}

// MemoryRateCounter is a RateCounter in one process's memory, for a host
// that runs one instance, and for tests. It forgets windows once a later
// window has started and they have ended. The zero value is ready to use;
// it is safe for concurrent use.
type MemoryRateCounter struct {
	mu      sync.Mutex
	windows map[rateWindow]*rateCount
	latest  time.Time // the latest start seen, the counter's idea of now
	sweepAt int       // sweep when len(windows) reaches it
}

type rateWindow struct {
	key   string
	start int64 // UnixNano, so that equal instants in other locations match
}

type rateCount struct {
	n   int
	end time.Time
}

// Take implements RateCounter.
func (c *MemoryRateCounter) Take(ctx context.Context, key string, start time.Time, length time.Duration, max int) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if length <= 0 || max < 1 {
		return false, errors.New("notify: MemoryRateCounter.Take needs a positive length and max")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.windows == nil {
		c.windows = map[rateWindow]*rateCount{}
	}
	if start.After(c.latest) {
		c.latest = start
	}
	c.sweep()
	w := rateWindow{key, start.UnixNano()}
	cnt, ok := c.windows[w]
	if !ok {
		cnt = &rateCount{end: start.Add(length)}
		c.windows[w] = cnt
	}
	if cnt.n >= max {
		return false, nil
	}
	cnt.n++
	return true, nil
}

// sweep drops ended windows when the map has doubled since the last
// sweep, so memory follows the live windows at a constant cost per Take.
func (c *MemoryRateCounter) sweep() {
	if len(c.windows) < c.sweepAt {
		return
	}
	for w, cnt := range c.windows {
		if !cnt.end.After(c.latest) {
			delete(c.windows, w)
		}
	}
	c.sweepAt = max(2*len(c.windows), 1024)
}
