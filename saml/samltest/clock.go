package samltest

import "time"

// FixedClock returns a clock function that always returns t, for a service
// provider's Clock in tests that pin the time (pass the same t as
// ResponseSpec.Now).
func FixedClock(t time.Time) func() time.Time {
	return func() time.Time { return t }
}
