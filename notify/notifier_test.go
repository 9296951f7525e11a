package notify_test

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/notify/notifytest"
)

func TestNewNeedsATransport(t *testing.T) {
	t.Parallel()
	_, err := notify.New(notify.Config{})
	assert.ErrorIs(t, err, notify.ErrNoTransport)
	assert.ErrorContains(t, err, "Config.Mailer")

	_, err = notify.New(notify.Config{Mailer: &notifytest.Mailer{}, Retry: notify.RetryPolicy{Jitter: 2}})
	assert.ErrorContains(t, err, "Config.Retry.Jitter")

	n, err := notify.New(notify.Config{Mailer: &notifytest.Mailer{}})
	require.NoError(t, err)
	err = n.SendTestSMS(t.Context(), notify.TestSMS{}, "+14155550100")
	assert.ErrorIs(t, err, notify.ErrNoTransport)
	assert.ErrorContains(t, err, "Config.SMSSender")
	msgs, _, err := n.Render(notify.TestSMS{}, "+14155550100")
	require.NoError(t, err, "a preview needs no transport")
	assert.Len(t, msgs, 1)
}

func TestEachKindMethodSends(t *testing.T) {
	t.Parallel()
	f := newFixture(t, notify.Config{})
	ctx := t.Context()
	require.NoError(t, f.n.Invite(ctx, notify.Invitation{Organization: "Acme", AcceptURL: "https://a.example.com/i"}, "a@example.com"))
	require.NoError(t, f.n.ResetPassword(ctx, notify.PasswordReset{ResetURL: "https://a.example.com/r"}, "a@example.com"))
	require.NoError(t, f.n.SystemError(ctx, notify.SystemError{Component: "sync", Summary: "down"}, "a@example.com", "b@example.com"))
	require.NoError(t, f.n.ExpiryWarning(ctx, notify.ExpiryWarning{Component: "SAML", Item: "the IdP certificate", ExpiresAt: epoch, Action: "Rotate it."}, "a@example.com"))
	require.NoError(t, f.n.SendTestEmail(ctx, notify.TestEmail{}, "a@example.com"))
	require.NoError(t, f.n.SendTwoFactorCode(ctx, notify.TwoFactorCode{Code: "123456"}, "+14155550100"))
	require.NoError(t, f.n.SendTestSMS(ctx, notify.TestSMS{}, "+14155550100"))

	var kinds []notify.Kind
	for _, e := range f.mailer.Sent() {
		kinds = append(kinds, e.Kind)
	}
	assert.Equal(t, []notify.Kind{notify.KindInvitation, notify.KindPasswordReset, notify.KindSystemError, notify.KindSystemError, notify.KindExpiryWarning, notify.KindTestEmail}, kinds)
	sms := f.sms.Sent()
	require.Len(t, sms, 2)
	assert.Equal(t, notify.KindTwoFactorCode, sms[0].Kind)
	assert.Equal(t, notify.KindTestSMS, sms[1].Kind)
	assert.Empty(t, f.clock.Sleeps(), "nothing failed, nothing waited")
}

func TestRetryTemporaryThenSuccessDeliversOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, notify.Config{Retry: notify.RetryPolicy{Jitter: -1}})
	f.mailer.FailNext(3, notifytest.Temporary)
	require.NoError(t, f.n.SendTestEmail(t.Context(), notify.TestEmail{}, "a@example.com"))
	assert.Equal(t, 4, f.mailer.Attempts())
	require.Len(t, f.mailer.Sent(), 1, "delivered exactly once")
	assert.Equal(t, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}, f.clock.Sleeps(), "exponential backoff without jitter")
}

func TestRetryKeepsTheKey(t *testing.T) {
	t.Parallel()
	var keys []string
	mailer := notify.MailerFunc(func(_ context.Context, e notify.Email) error {
		keys = append(keys, e.Key)
		if len(keys) < 3 {
			return &notifytest.Error{Transient: true}
		}
		return nil
	})
	f := newFixture(t, notify.Config{Mailer: mailer})
	require.NoError(t, f.n.SendTestEmail(t.Context(), notify.TestEmail{}, "a@example.com"))
	require.Len(t, keys, 3)
	assert.Equal(t, keys[0], keys[1])
	assert.Equal(t, keys[0], keys[2])
}

func TestRetryStops(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		retry        notify.RetryPolicy
		fail         notifytest.Failure
		failures     int
		wantAttempts int
		wantText     string
	}{
		{"permanent is not retried", notify.RetryPolicy{}, notifytest.Permanent, 1, 1, "failed after 1 attempt: notifytest: injected permanent failure"},
		{"temporary until max attempts", notify.RetryPolicy{MaxAttempts: 3}, notifytest.Temporary, 10, 3, "failed after 3 attempts"},
		{"one attempt means no retry", notify.RetryPolicy{MaxAttempts: 1}, notifytest.Temporary, 10, 1, "failed after 1 attempt"},
		{"max elapsed", notify.RetryPolicy{MaxAttempts: 100, BaseDelay: time.Minute, MaxDelay: time.Minute, MaxElapsed: 150 * time.Second, Jitter: -1}, notifytest.Temporary, 100, 3, "maximum of 2m30s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, notify.Config{Retry: tt.retry})
			f.mailer.FailNext(tt.failures, tt.fail)
			err := f.n.SendTestEmail(t.Context(), notify.TestEmail{}, "a@example.com")
			require.Error(t, err)
			assert.Equal(t, tt.wantAttempts, f.mailer.Attempts())
			assert.Empty(t, f.mailer.Sent())
			var re *notify.RecipientError
			require.ErrorAs(t, err, &re)
			assert.Equal(t, "a@example.com", re.Recipient)
			assert.Equal(t, tt.wantAttempts, re.Attempts)
			assert.NotEmpty(t, re.Key)
			var injected *notifytest.Error
			assert.ErrorAs(t, err, &injected, "the cause stays reachable")
			assert.ErrorContains(t, err, tt.wantText)
		})
	}
}

func TestRetryStopsWhenContextIsCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	calls := 0
	mailer := notify.MailerFunc(func(context.Context, notify.Email) error {
		calls++
		if calls == 2 {
			cancel() // the caller gives up while the second attempt fails
		}
		return &notifytest.Error{Transient: true}
	})
	f := newFixture(t, notify.Config{Mailer: mailer})
	err := f.n.SendTestEmail(ctx, notify.TestEmail{}, "a@example.com", "b@example.com")
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 2, calls, "no retry after the cancellation, and the next recipient is not tried")
	assert.ErrorContains(t, err, `"b@example.com": not tried: context canceled`)
}

func TestRetryDelay(t *testing.T) {
	t.Parallel()
	p := notify.DefaultRetryPolicy()
	tests := []struct {
		attempt int
		r       float64
		want    time.Duration
	}{
		{1, 0, time.Second},
		{2, 0, 2 * time.Second},
		{3, 0, 4 * time.Second},
		{5, 0, 16 * time.Second},
		{6, 0, 30 * time.Second},
		{1000, 0, 30 * time.Second},
		{1, 0.5, 750 * time.Millisecond},
		{6, 0.999, 30*time.Second - time.Duration(float64(30*time.Second)*0.5*0.999)},
		{0, 0, time.Second},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, p.Delay(tt.attempt, tt.r), "attempt %d r %g", tt.attempt, tt.r)
	}
}

// SleepContext is the default Sleeper here and the one smtpx, twilio and
// examples/sendtest share.
func TestSleepContext(t *testing.T) {
	t.Parallel()
	assert.NoError(t, notify.SleepContext(t.Context(), 0))
	assert.NoError(t, notify.SleepContext(t.Context(), time.Millisecond))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	assert.ErrorIs(t, notify.SleepContext(ctx, time.Hour), context.Canceled, "a cancelled context ends the wait at once")
}

func TestJitterIsDrawnFromRand(t *testing.T) {
	t.Parallel()
	sleeps := func(seed uint64) []time.Duration {
		f := newFixture(t, notify.Config{Rand: seeded(seed)})
		f.mailer.FailNext(4, notifytest.Temporary)
		require.NoError(t, f.n.SendTestEmail(t.Context(), notify.TestEmail{}, "a@example.com"))
		return f.clock.Sleeps()
	}
	a, b, c := sleeps(7), sleeps(7), sleeps(8)
	assert.Equal(t, a, b, "same seed, same waits")
	assert.NotEqual(t, a, c)
	for i, d := range a {
		full := time.Second << i
		assert.True(t, d > full/2 && d <= full, "wait %d is %s", i, d)
	}
}

func TestSeveralRecipientsEveryFailureReturned(t *testing.T) {
	t.Parallel()
	mailer := notify.MailerFunc(func(_ context.Context, e notify.Email) error {
		switch e.To {
		case "perm@example.com":
			return &notifytest.Error{}
		case "temp@example.com":
			return &notifytest.Error{Transient: true}
		}
		return nil
	})
	var sent []string
	recording := notify.MailerFunc(func(ctx context.Context, e notify.Email) error {
		err := mailer(ctx, e)
		if err == nil {
			sent = append(sent, e.To)
		}
		return err
	})
	f := newFixture(t, notify.Config{Mailer: recording, Retry: notify.RetryPolicy{MaxAttempts: 2}})
	err := f.n.SystemError(t.Context(), notify.SystemError{Component: "sync", Summary: "down"},
		"ok1@example.com", "perm@example.com", "not an address", "temp@example.com", "ok2@example.com")
	require.Error(t, err)
	assert.Equal(t, []string{"ok1@example.com", "ok2@example.com"}, sent, "a failure does not stop the others")

	joined, ok := err.(interface{ Unwrap() []error })
	require.True(t, ok, "errors.Join of per-recipient errors")
	byRecipient := map[string]*notify.RecipientError{}
	for _, e := range joined.Unwrap() {
		var re *notify.RecipientError
		require.ErrorAs(t, e, &re)
		byRecipient[re.Recipient] = re
	}
	require.Len(t, byRecipient, 3)
	assert.Equal(t, 1, byRecipient["perm@example.com"].Attempts)
	assert.Equal(t, 2, byRecipient["temp@example.com"].Attempts)
	assert.Equal(t, 0, byRecipient["not an address"].Attempts)
	assert.ErrorIs(t, byRecipient["not an address"], notify.ErrInvalidRecipient)
	assert.ErrorContains(t, err, `system_error to "temp@example.com" failed after 2 attempts`)
}

// TestTwoFactorCodeNeverLeaks sends a code through a transport whose
// error repeats the whole message, as a careless one might, and checks
// the returned error and every log line.
func TestTwoFactorCodeNeverLeaks(t *testing.T) {
	t.Parallel()
	const code = "834201"
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	leaky := notify.SMSSenderFunc(func(_ context.Context, m notify.SMS) error {
		return leakyError{body: m.Body}
	})
	data := notify.TwoFactorCode{Code: code, ExpiresIn: 5 * time.Minute}
	for i, sender := range []notify.SMSSender{leaky, &notifytest.SMSSender{}} {
		f := newFixture(t, notify.Config{SMSSender: sender, Logger: logger})
		err := f.n.SendTwoFactorCode(t.Context(), data, "+14155550100", "bad number")
		require.Error(t, err)
		assert.NotContains(t, err.Error(), code)
		if i == 0 {
			assert.Contains(t, err.Error(), "provider rejected message [redacted] is your")
		}
	}
	var slogged bytes.Buffer
	slog.New(slog.NewJSONHandler(&slogged, nil)).Info("data", "data", data)
	for _, out := range []string{logs.String(), slogged.String()} {
		assert.NotContains(t, out, code)
	}
	assert.Contains(t, logs.String(), "notify: sent", "the working sender logged its send")
	assert.Contains(t, logs.String(), "notify: not sent")

	// Printing the data or the rendered SMS through slog shows no code.
	f := newFixture(t, notify.Config{})
	msgs, _, err := f.n.Render(data, "+14155550100")
	require.NoError(t, err)
	logs.Reset()
	logger.Info("rendered", "sms", *msgs[0].SMS)
	assert.NotContains(t, logs.String(), code)
	assert.Contains(t, logs.String(), "length=")
}

type leakyError struct{ body string }

func (e leakyError) Error() string { return "provider rejected message " + e.body }
