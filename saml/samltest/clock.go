package samltest

import (
	"context"
	"runtime"
	"sync"
	"time"
)

// FixedClock returns a clock function that always returns t, for a service
// provider's Clock in tests that pin the time (pass the same t as
// ResponseSpec.Now).
func FixedClock(t time.Time) func() time.Time {
	return func() time.Time { return t }
}

// Clock is a fake clock that moves only when Advance or Sleep is called:
// pass its Now as saml.Config.Clock, saml.MetadataSourceConfig.Clock and
// saml.AlerterConfig.Clock, and its Sleep as MetadataSourceConfig.Sleep,
// so that refresh schedules and expiry alerts play out in a test without
// waiting. It is safe for concurrent use.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

// NewClock returns a Clock that reads start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Sleep returns at once: it records d and advances the clock by d, unless
// ctx is already done, in which case it returns ctx.Err() and changes
// nothing.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.sleeps = append(c.sleeps, d)
	c.mu.Unlock()
	runtime.Gosched() // let what a real sleep would have let run go first
	return nil
}

// Sleeps returns the durations passed to Sleep, in order.
func (c *Clock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}
