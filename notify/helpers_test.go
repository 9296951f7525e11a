package notify_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/notify/notifytest"
)

var epoch = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// seeded is a deterministic notify.Config.Rand.
func seeded(seed uint64) *rand.ChaCha8 {
	var s [32]byte
	s[0] = byte(seed)
	s[1] = byte(seed >> 8)
	return rand.NewChaCha8(s)
}

// fixture is a Notifier on recording transports and a fake clock.
type fixture struct {
	n      *notify.Notifier
	mailer *notifytest.Mailer
	sms    *notifytest.SMSSender
	clock  *notifytest.Clock
}

func newFixture(t *testing.T, cfg notify.Config) fixture {
	t.Helper()
	f := fixture{mailer: &notifytest.Mailer{}, sms: &notifytest.SMSSender{}, clock: notifytest.NewClock(epoch)}
	if cfg.Mailer == nil && cfg.Outbox == nil {
		cfg.Mailer = f.mailer
	}
	if cfg.SMSSender == nil && cfg.Outbox == nil {
		cfg.SMSSender = f.sms
	}
	if cfg.Now == nil {
		cfg.Now, cfg.Sleep = f.clock.Now, f.clock.Sleep
	}
	if cfg.Rand == nil {
		cfg.Rand = seeded(1)
	}
	n, err := notify.New(cfg)
	require.NoError(t, err)
	f.n = n
	return f
}
