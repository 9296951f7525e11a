package notifytest_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/notify/notifytest"
)

var (
	_ notify.Mailer    = (*notifytest.Mailer)(nil)
	_ notify.SMSSender = (*notifytest.SMSSender)(nil)
	_ notify.Outbox    = (*notifytest.Outbox)(nil)
)

func TestMailerRecordsAndInjectsFailures(t *testing.T) {
	t.Parallel()
	var m notifytest.Mailer
	ctx := t.Context()
	m.FailNext(2, notifytest.Temporary)
	m.FailNext(1, notifytest.Permanent)

	tests := []struct {
		temporary bool
		permanent bool
	}{{temporary: true}, {temporary: true}, {permanent: true}, {}, {}}
	for i, tt := range tests {
		err := m.SendEmail(ctx, notify.Email{To: "a@example.com", Key: string(rune('a' + i))})
		switch {
		case tt.temporary:
			require.Error(t, err)
			assert.True(t, notify.IsTemporary(err), "call %d", i)
		case tt.permanent:
			require.Error(t, err)
			assert.False(t, notify.IsTemporary(err), "call %d", i)
			assert.EqualError(t, err, "notifytest: injected permanent failure")
		default:
			assert.NoError(t, err, "call %d", i)
		}
	}
	assert.Equal(t, 5, m.Attempts())
	sent := m.Sent()
	require.Len(t, sent, 2)
	assert.Equal(t, "d", sent[0].Key)
	assert.Equal(t, "e", sent[1].Key)
}

func TestSMSSenderRecordsAndInjectsFailures(t *testing.T) {
	t.Parallel()
	var s notifytest.SMSSender
	s.FailNext(1, notifytest.Permanent)
	err := s.SendSMS(t.Context(), notify.SMS{To: "+14155550100", Body: "x"})
	assert.False(t, notify.IsTemporary(err))
	require.NoError(t, s.SendSMS(t.Context(), notify.SMS{To: "+14155550100", Body: "y"}))
	assert.Equal(t, 2, s.Attempts())
	require.Len(t, s.Sent(), 1)
	assert.Equal(t, "y", s.Sent()[0].Body)
}

func TestHoldBlocksUntilReleased(t *testing.T) {
	t.Parallel()
	var m notifytest.Mailer
	gate := m.Hold()
	errs := make(chan error, 3)
	for range 3 {
		go func() { errs <- m.SendEmail(t.Context(), notify.Email{To: "a@example.com"}) }()
	}
	require.NoError(t, gate.Wait(t.Context(), 3))
	assert.Empty(t, m.Sent(), "held sends record nothing yet")
	gate.Release()
	gate.Release() // twice is harmless
	for range 3 {
		assert.NoError(t, <-errs)
	}
	assert.Len(t, m.Sent(), 3)
	require.NoError(t, m.SendEmail(t.Context(), notify.Email{}), "a released gate holds nothing")
}

func TestHoldHonoursContext(t *testing.T) {
	t.Parallel()
	var s notifytest.SMSSender
	gate := s.Hold()
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- s.SendSMS(ctx, notify.SMS{}) }()
	require.NoError(t, gate.Wait(t.Context(), 1))
	cancel()
	assert.ErrorIs(t, <-errc, context.Canceled)
	assert.Empty(t, s.Sent())

	// Waiting for more sends than arrive ends with the context.
	wctx, wcancel := context.WithCancel(t.Context())
	wcancel()
	assert.ErrorIs(t, gate.Wait(wctx, 5), context.Canceled)
}

func TestMailerIsSafeForConcurrentUse(t *testing.T) {
	t.Parallel()
	var m notifytest.Mailer
	m.FailNext(50, notifytest.Temporary)
	var wg sync.WaitGroup
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = m.SendEmail(t.Context(), notify.Email{})
		}()
	}
	wg.Wait()
	assert.Equal(t, 200, m.Attempts())
	assert.Len(t, m.Sent(), 150)
}

func TestClock(t *testing.T) {
	t.Parallel()
	c := notifytest.NewClock(epoch)
	assert.Equal(t, epoch, c.Now())
	c.Advance(time30s)
	require.NoError(t, c.Sleep(t.Context(), time30s))
	assert.Equal(t, epoch.Add(2*time30s), c.Now())
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	assert.ErrorIs(t, c.Sleep(ctx, time30s), context.Canceled)
	assert.Equal(t, epoch.Add(2*time30s), c.Now(), "a cancelled sleep does not move the clock")
	assert.Len(t, c.Sleeps(), 1)
}
