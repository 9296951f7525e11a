package twilio

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/siteadmin/integrations/notify"
)

// retryWait decides whether the failed attempt is retried, and after how
// long: every Temporary failure (a rate limit, a request that never left,
// and unless Config.AtMostOnce an answer or a lost connection that leaves
// it unknown whether Twilio sent the message), after the server's
// Retry-After or else a backoff, never beyond MaxAttempts, MaxBackoff or
// the context's deadline.
func (c *Client) retryWait(ctx context.Context, err error, attempt int) (time.Duration, bool) {
	if attempt >= c.cfg.MaxAttempts || ctx.Err() != nil || !notify.IsTemporary(err) {
		return 0, false
	}
	wait := notify.RetryAfter(err)
	if wait == 0 {
		wait = backoff(c.cfg.MinBackoff, c.cfg.MaxBackoff, attempt)
	}
	if wait > c.cfg.MaxBackoff {
		return 0, false
	}
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
		return 0, false
	}
	return wait, true
}

// backoff is min·2^(attempt-1), capped at max, less a random jitter of up
// to half, so that clients throttled together do not retry together.
func backoff(min, max time.Duration, attempt int) time.Duration {
	d := min
	for i := 1; i < attempt && d < max; i++ {
		d *= 2
	}
	if d > max || d <= 0 {
		d = max
	}
	half := d / 2
	return d - time.Duration(rand.Int64N(int64(half)+1))
}

// longestRetryAfter stands for a Retry-After too large to represent.
const longestRetryAfter = 365 * 24 * time.Hour

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP
// date (RFC 9110, section 10.2.3). It returns 0 when the header is absent
// or malformed, and at most longestRetryAfter.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if v[0] >= '0' && v[0] <= '9' {
		secs, err := strconv.ParseUint(v, 10, 64)
		switch {
		case errors.Is(err, strconv.ErrRange), err == nil && secs > uint64(longestRetryAfter/time.Second):
			return longestRetryAfter
		case err != nil:
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	d := t.Sub(now)
	switch {
	case d < 0:
		return 0
	case d > longestRetryAfter:
		return longestRetryAfter
	}
	return d
}
