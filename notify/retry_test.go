package notify_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/siteadmin/integrations/notify"
)

// throttled is a transport error that carries a server's Retry-After, as
// a twilio.Error for a 429 does.
type throttled struct{ wait time.Duration }

func (e throttled) Error() string             { return fmt.Sprintf("throttled: retry after %s", e.wait) }
func (e throttled) Temporary() bool           { return true }
func (e throttled) RetryAfter() time.Duration { return e.wait }

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want time.Duration
	}{
		{"nil", nil, 0},
		{"no method", errors.New("connection reset"), 0},
		{"direct", throttled{time.Minute}, time.Minute},
		{"wrapped", fmt.Errorf("sending: %w", throttled{10 * time.Minute}), 10 * time.Minute},
		{"joined", errors.Join(errors.New("first"), throttled{time.Second}), time.Second},
		{"negative counts as none", throttled{-time.Hour}, 0},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, notify.RetryAfter(tt.err), tt.name)
	}
}

// A Notifier sending directly waits at least the server's Retry-After,
// and gives up at once when that wait would pass MaxElapsed (issue 14,
// item 4).
func TestNotifierWaitsForRetryAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		retryAfter time.Duration
		sleeps     []time.Duration
		sent       bool
	}{
		{"longer than the backoff", 20 * time.Second, []time.Duration{20 * time.Second}, true},
		{"shorter than the backoff", time.Millisecond, []time.Duration{time.Second}, true},
		{"longer than MaxElapsed", 10 * time.Minute, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			calls := 0
			sms := notify.SMSSenderFunc(func(context.Context, notify.SMS) error {
				if calls++; calls == 1 {
					return throttled{tt.retryAfter}
				}
				return nil
			})
			f := newFixture(t, notify.Config{SMSSender: sms, Retry: notify.RetryPolicy{Jitter: -1}})
			err := f.n.SendTestSMS(t.Context(), notify.TestSMS{}, "+14155550100")
			assert.Equal(t, tt.sleeps, f.clock.Sleeps())
			if tt.sent {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, "gave up")
			assert.Equal(t, 1, calls)
		})
	}
}
