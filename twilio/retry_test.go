package twilio

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 4, 14, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"3", 3 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"-1", 0},
		{"+5", 0},
		{"1.5", 0},
		{"5s", 0},
		{"99999999999999999999999", longestRetryAfter},
		{"31536001", longestRetryAfter},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{now.Add(1000 * 24 * time.Hour).Format(http.TimeFormat), longestRetryAfter},
		{"Tue, 14 Apr 2026 12:00:30 GMT", 30 * time.Second},
		{"Tuesday, 14-Apr-26 12:00:30 GMT", 30 * time.Second}, // RFC 850, still allowed
		{"tomorrow", 0},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, parseRetryAfter(tt.value, now), "%q", tt.value)
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "1", "120", "-3", "1e9", "99999999999999999999", "Tue, 14 Apr 2026 12:00:30 GMT", "\x00"} {
		f.Add(s)
	}
	now := time.Date(2026, 4, 14, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		if d := parseRetryAfter(v, now); d < 0 || d > longestRetryAfter {
			t.Fatalf("parseRetryAfter(%q) = %v", v, d)
		}
	})
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	min, max := 100*time.Millisecond, 1*time.Second
	for attempt, full := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond, 4: 800 * time.Millisecond, 5: time.Second, 60: time.Second} {
		for range 50 {
			d := backoff(min, max, attempt)
			assert.GreaterOrEqual(t, d, full/2, "attempt %d", attempt)
			assert.LessOrEqual(t, d, full, "attempt %d", attempt)
		}
	}
	assert.Equal(t, time.Duration(0), backoff(0, 0, 1))
}
