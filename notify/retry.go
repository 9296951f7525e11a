package notify

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"sync"
	"time"
)

// RetryPolicy says how often and how long a temporary failure is retried.
// Only errors for which IsTemporary reports true are retried. The delay
// before attempt n+1 is BaseDelay·2^(n-1), capped at MaxDelay, of which
// the fraction Jitter is random ("equal jitter"): with the defaults the
// waits are about 1s, 2s, 4s and 8s, each shortened by up to half at
// random so that many senders do not retry in step. A wait that the
// server asked for (see RetryAfter) is waited in full, even when it is
// longer than MaxDelay.
//
// A zero field means its default. The Notifier's defaults are below; a
// Deliverer uses the same fields with its own defaults (see
// DelivererConfig.Retry).
type RetryPolicy struct {
	// MaxAttempts is the number of attempts, the first one included.
	// Default 5; 1 means no retry.
	MaxAttempts int
	// BaseDelay is the wait after the first failure. Default 1s.
	BaseDelay time.Duration
	// MaxDelay caps any one wait. Default 30s.
	MaxDelay time.Duration
	// MaxElapsed stops retrying when the next attempt would start later
	// than this after the first one began. Default 2m. The Deliverer
	// does not use it: a queued message is retried until MaxAttempts.
	MaxElapsed time.Duration
	// Jitter is the random fraction of each wait, between 0 and 1.
	// Default 0.5; a negative value means no jitter (fixed waits).
	Jitter float64
}

// DefaultRetryPolicy is the policy a Notifier sends with when
// Config.Retry is zero.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 5, BaseDelay: time.Second, MaxDelay: 30 * time.Second, MaxElapsed: 2 * time.Minute, Jitter: 0.5}
}

// withDefaults returns p with each zero field taken from def.
func (p RetryPolicy) withDefaults(def RetryPolicy) RetryPolicy {
	if p.MaxAttempts == 0 {
		p.MaxAttempts = def.MaxAttempts
	}
	if p.BaseDelay == 0 {
		p.BaseDelay = def.BaseDelay
	}
	if p.MaxDelay == 0 {
		p.MaxDelay = def.MaxDelay
	}
	if p.MaxElapsed == 0 {
		p.MaxElapsed = def.MaxElapsed
	}
	if p.Jitter == 0 {
		p.Jitter = def.Jitter
	}
	return p
}

func (p RetryPolicy) validate(field string) error {
	switch {
	case p.MaxAttempts < 0:
		return &FieldError{Field: field + ".MaxAttempts", Problem: fmt.Sprintf("is %d: set 1 or more (1 means no retry), or 0 for the default", p.MaxAttempts)}
	case p.BaseDelay < 0 || p.MaxDelay < 0 || p.MaxElapsed < 0:
		return &FieldError{Field: field, Problem: "has a negative delay: delays must be 0 (default) or positive"}
	case p.Jitter > 1:
		return &FieldError{Field: field + ".Jitter", Problem: fmt.Sprintf("is %g: set a fraction between 0 and 1", p.Jitter)}
	}
	return nil
}

// Delay returns the wait after failed attempt n (1 for the first
// attempt), given a random number r in [0, 1).
func (p RetryPolicy) Delay(n int, r float64) time.Duration {
	d := p.MaxDelay
	if n < 1 {
		n = 1
	}
	if n-1 < 62 {
		if exp := float64(p.BaseDelay) * math.Exp2(float64(n-1)); exp < float64(p.MaxDelay) {
			d = time.Duration(exp)
		}
	}
	if p.Jitter > 0 {
		d -= time.Duration(float64(d) * p.Jitter * r)
	}
	return d
}

// Sleeper waits for d or until ctx is done, whichever comes first, and
// returns ctx.Err() in the second case. SleepContext is the real one;
// notifytest.Clock.Sleep advances a fake clock instead.
type Sleeper func(ctx context.Context, d time.Duration) error

// SleepContext waits on a real timer; it is the default Sleeper.
func SleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// randSource serialises reads from an io.Reader so that one source serves
// concurrent sends, and turns its bytes into keys and jitter.
type randSource struct {
	mu sync.Mutex
	r  io.Reader
}

func newRandSource(r io.Reader) *randSource {
	if r == nil {
		r = rand.Reader
	}
	return &randSource{r: r}
}

func (s *randSource) read(b []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := io.ReadFull(s.r, b)
	return err
}

// float returns a number in [0, 1); if the source fails it returns 0.5,
// since jitter is not worth failing a send for.
func (s *randSource) float() float64 {
	var b [8]byte
	if s.read(b[:]) != nil {
		return 0.5
	}
	return float64(binary.BigEndian.Uint64(b[:])>>11) / (1 << 53)
}

// retry calls send until it succeeds, fails permanently, runs out of
// attempts or time, or ctx is done. It returns the number of attempts
// made and the last error.
func (p RetryPolicy) retry(ctx context.Context, now func() time.Time, sleep Sleeper, rnd *randSource, send func(context.Context) error) (int, error) {
	start := now()
	for attempt := 1; ; attempt++ {
		err := send(ctx)
		if err == nil || !IsTemporary(err) || attempt >= p.MaxAttempts {
			return attempt, err
		}
		wait := max(p.Delay(attempt, rnd.float()), RetryAfter(err))
		if now().Add(wait).Sub(start) > p.MaxElapsed {
			return attempt, fmt.Errorf("gave up: the next attempt would start after the maximum of %s: %w", p.MaxElapsed, err)
		}
		if serr := sleep(ctx, wait); serr != nil {
			return attempt, fmt.Errorf("stopped retrying: %w; last failure: %w", serr, err)
		}
	}
}
