package notify_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/notify/notifytest"
)

func newLimiter(t *testing.T, cfg notify.LimiterConfig) (*notify.Limiter, *notifytest.Clock) {
	t.Helper()
	clock := notifytest.NewClock(epoch) // 03:04:05, so the hour ends in 55m55s
	if cfg.Now == nil {
		cfg.Now = clock.Now
	}
	l, err := notify.NewLimiter(cfg)
	require.NoError(t, err)
	return l, clock
}

func limitError(t *testing.T, err error) *notify.LimitError {
	t.Helper()
	var le *notify.LimitError
	require.ErrorAs(t, err, &le)
	return le
}

func TestLimiterPerNumberWindows(t *testing.T) {
	t.Parallel()
	l, clock := newLimiter(t, notify.LimiterConfig{})
	ctx := t.Context()
	for i := range 5 {
		require.NoError(t, l.Allow(ctx, notify.KindTwoFactorCode, "+14155550100"), "code %d", i+1)
	}
	err := l.Allow(ctx, notify.KindTwoFactorCode, "+14155550100")
	le := limitError(t, err)
	assert.Equal(t, notify.ScopeNumber, le.Scope)
	assert.Equal(t, "US", le.Region)
	assert.Equal(t, 55*time.Minute+55*time.Second, le.RetryAfter)
	assert.Equal(t, "Too many codes to this number; try again in 56 minutes.", le.UserMessage())
	assert.ErrorIs(t, err, notify.ErrSendLimit)
	assert.NotErrorIs(t, err, notify.ErrCountryNotAllowed)
	assert.False(t, notify.IsTemporary(err), "a refusal is permanent")
	assert.Contains(t, err.Error(), "number limit of 5 per 1h0m0s")

	require.NoError(t, l.Allow(ctx, notify.KindTwoFactorCode, "+14155550101"), "another number")
	clock.Advance(55*time.Minute + 54*time.Second)
	assert.Equal(t, "Too many codes to this number; try again in 1 minute.", limitError(t, l.Allow(ctx, notify.KindTwoFactorCode, "+14155550100")).UserMessage())
	clock.Advance(time.Second)
	assert.NoError(t, l.Allow(ctx, notify.KindTwoFactorCode, "+14155550100"), "a new window")
	assert.Equal(t, notify.Refusals{Number: 2}, l.Refusals())
}

func TestLimiterPerCountryAndOverall(t *testing.T) {
	t.Parallel()
	l, _ := newLimiter(t, notify.LimiterConfig{
		PerCountry:    notify.Limit{Max: 3},
		CountryLimits: map[string]notify.Limit{"US": {Max: 5}},
		Overall:       notify.Limit{Max: 10, Window: 24 * time.Hour},
	})
	ctx := t.Context()
	jamaica := []string{"+18765550100", "+18765550101", "+18765550102", "+18765550103"}
	for _, n := range jamaica[:3] {
		require.NoError(t, l.Allow(ctx, notify.KindTestSMS, n))
	}
	le := limitError(t, l.Allow(ctx, notify.KindTestSMS, jamaica[3]))
	assert.Equal(t, notify.ScopeCountry, le.Scope)
	assert.Equal(t, "JM", le.Region, "NANP numbers are told apart by area code")
	assert.Equal(t, "Too many text messages to this country right now; try again in 56 minutes.", le.UserMessage())

	for i := range 5 {
		require.NoError(t, l.Allow(ctx, notify.KindTestSMS, "+1415555010"+string(rune('0'+i))), "US has its own limit")
	}
	assert.Equal(t, notify.ScopeCountry, limitError(t, l.Allow(ctx, notify.KindTestSMS, "+14155550199")).Scope)

	require.NoError(t, l.Allow(ctx, notify.KindTestSMS, "+447700900123"))
	require.NoError(t, l.Allow(ctx, notify.KindTestSMS, "+447700900124"))
	le = limitError(t, l.Allow(ctx, notify.KindTwoFactorCode, "+447700900125"))
	assert.Equal(t, notify.ScopeOverall, le.Scope, "3 JM + 5 US + 2 GB = 10 a day")
	assert.Equal(t, 20*time.Hour+55*time.Minute+55*time.Second, le.RetryAfter)
	assert.Equal(t, "Too many codes are being sent right now; try again in 21 hours.", le.UserMessage())
}

func TestLimiterAllowedCountries(t *testing.T) {
	t.Parallel()
	var seen []*notify.LimitError
	var mu sync.Mutex
	allowNA, _ := newLimiter(t, notify.LimiterConfig{
		AllowedCountries: []string{"US", "CA"},
		OnRefused: func(_ context.Context, e *notify.LimitError) {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, e)
		},
	})
	anywhere, _ := newLimiter(t, notify.LimiterConfig{})
	withSatellite, _ := newLimiter(t, notify.LimiterConfig{AllowedCountries: []string{notify.NonGeographic}})
	ctx := t.Context()
	tests := []struct {
		number                 string
		northAmerica, anywhere bool
	}{
		{"+14155550100", true, true},
		{"+16135550100", true, true},   // Canada
		{"+18765550100", false, true},  // Jamaica, also +1
		{"+12425550100", false, true},  // Bahamas, also +1
		{"+447700900123", false, true}, // GB
		{"+79161234567", false, true},  // RU
		{"+88212345678", false, false}, // international networks
		{"+881612345678", false, false},
		{"+97912345678", false, false}, // international premium rate
		{"+2801234567", false, false},  // unassigned
	}
	for _, tc := range tests {
		for _, c := range []struct {
			l    *notify.Limiter
			want bool
		}{{allowNA, tc.northAmerica}, {anywhere, tc.anywhere}} {
			err := c.l.Allow(ctx, notify.KindTwoFactorCode, tc.number)
			if c.want {
				assert.NoError(t, err, tc.number)
				continue
			}
			le := limitError(t, err)
			assert.Equal(t, notify.ScopeNotAllowed, le.Scope, tc.number)
			assert.ErrorIs(t, err, notify.ErrCountryNotAllowed)
			assert.Zero(t, le.RetryAfter)
			assert.Equal(t, "Text messages to this country are not available; use a number from another country.", le.UserMessage())
		}
	}
	assert.NoError(t, withSatellite.Allow(ctx, notify.KindTwoFactorCode, "+88212345678"), "non-geographic codes when listed")
	assert.Equal(t, notify.ScopeNotAllowed, limitError(t, withSatellite.Allow(ctx, notify.KindTwoFactorCode, "+14155550100")).Scope)
	assert.Equal(t, int64(8), allowNA.Refusals().NotAllowed)
	assert.Len(t, seen, 8, "OnRefused sees each refusal")
	assert.Contains(t, seen[7].Error(), "calling code is not assigned")

	err := anywhere.Allow(ctx, notify.KindTwoFactorCode, "0800 123")
	assert.ErrorIs(t, err, notify.ErrInvalidRecipient)
}

// Many goroutines, one number, two Limiters on one counter (two
// instances of the host): the limit is never exceeded.
func TestLimiterConcurrentAndShared(t *testing.T) {
	t.Parallel()
	counter := &notify.MemoryRateCounter{}
	clock := notifytest.NewClock(epoch)
	var limiters []*notify.Limiter
	for range 2 {
		l, err := notify.NewLimiter(notify.LimiterConfig{Counter: counter, PerNumber: notify.Limit{Max: 7}, Now: clock.Now})
		require.NoError(t, err)
		limiters = append(limiters, l)
	}
	var allowed, refused atomic.Int64
	var wg sync.WaitGroup
	for g := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				err := limiters[g%2].Allow(t.Context(), notify.KindTwoFactorCode, "+14155550100")
				switch {
				case err == nil:
					allowed.Add(1)
				case errors.Is(err, notify.ErrSendLimit):
					refused.Add(1)
				default:
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int64(7), allowed.Load())
	assert.Equal(t, int64(393), refused.Load())
	assert.Equal(t, int64(393), limiters[0].Refusals().Number+limiters[1].Refusals().Number)
}

type failingCounter struct{}

func (failingCounter) Take(context.Context, string, time.Time, time.Duration, int) (bool, error) {
	return false, errors.New("database unreachable")
}

func TestLimiterFailsClosed(t *testing.T) {
	t.Parallel()
	l, _ := newLimiter(t, notify.LimiterConfig{Counter: failingCounter{}})
	err := l.Allow(t.Context(), notify.KindTwoFactorCode, "+14155550100")
	require.ErrorContains(t, err, "database unreachable")
	var le *notify.LimitError
	assert.False(t, errors.As(err, &le))
}

func TestLimiterNoLimit(t *testing.T) {
	t.Parallel()
	l, _ := newLimiter(t, notify.LimiterConfig{PerNumber: notify.Limit{Max: -1}, PerCountry: notify.Limit{Max: -1}, Overall: notify.Limit{Max: -1}})
	for range 50 {
		require.NoError(t, l.Allow(t.Context(), notify.KindTwoFactorCode, "+14155550100"))
	}
}

func TestNewLimiterReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := notify.NewLimiter(notify.LimiterConfig{
		AllowedCountries: []string{"US", "UK"},
		CountryLimits:    map[string]notify.Limit{"EU": {Max: 3}},
		PerNumber:        notify.Limit{Window: -time.Second},
	})
	require.Error(t, err)
	for _, part := range []string{`"UK"`, "GB (not UK)", `"EU"`, "PerNumber.Window"} {
		assert.ErrorContains(t, err, part)
	}
}

// The Notifier refuses the sixth code to one number, sends the others,
// and says why in words the host can show.
func TestNotifierAppliesTheLimiter(t *testing.T) {
	t.Parallel()
	clock := notifytest.NewClock(epoch)
	l, err := notify.NewLimiter(notify.LimiterConfig{Now: clock.Now})
	require.NoError(t, err)
	f := newFixture(t, notify.Config{Limiter: l, Now: clock.Now, Sleep: clock.Sleep})
	ctx := t.Context()
	for range 5 {
		require.NoError(t, f.n.SendTwoFactorCode(ctx, notify.TwoFactorCode{Code: "482913", ExpiresIn: 10 * time.Minute}, "+14155550100"))
	}
	err = f.n.SendTwoFactorCode(ctx, notify.TwoFactorCode{Code: "482913", ExpiresIn: 10 * time.Minute}, "+14155550100", "+14155550101")
	var re *notify.RecipientError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "+14155550100", re.Recipient)
	le := limitError(t, err)
	assert.Equal(t, "Too many codes to this number; try again in 56 minutes.", le.UserMessage())
	assert.NotContains(t, err.Error(), "482913")
	assert.Len(t, f.sms.Sent(), 6, "five codes and the other number's")
	assert.Equal(t, 6, f.sms.Attempts(), "the refused one was never tried")

	// With an outbox, a refused message is not queued.
	outbox := notifytest.NewOutbox(clock.Now)
	q := newFixture(t, notify.Config{Outbox: outbox, Limiter: l, Now: clock.Now, Sleep: clock.Sleep})
	err = q.n.SendTestSMS(ctx, notify.TestSMS{}, "+14155550100", "+14155550102")
	assert.ErrorIs(t, err, notify.ErrSendLimit)
	require.Len(t, outbox.Records(), 1)
	assert.Equal(t, "+14155550102", outbox.Records()[0].Message.To())
}

func BenchmarkLimiterAllow(b *testing.B) {
	l, err := notify.NewLimiter(notify.LimiterConfig{PerNumber: notify.Limit{Max: -1}, PerCountry: notify.Limit{Max: -1}, Overall: notify.Limit{Max: 1 << 30}})
	require.NoError(b, err)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := l.Allow(ctx, notify.KindTwoFactorCode, "+18765550100"); err != nil {
			b.Fatal(err)
		}
	}
}
