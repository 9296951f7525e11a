package saml_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/saml"
	"github.com/siteadmin/integrations/saml/samltest"
)

// recorder collects what an Alerter notifies.
type recorder struct {
	mu     sync.Mutex
	alerts []saml.Alert
	at     []time.Time
	clock  *samltest.Clock
}

func (r *recorder) notify(_ context.Context, a saml.Alert) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.alerts = append(r.alerts, a)
	r.at = append(r.at, r.clock.Now())
}

// TestAlerterStages checks hourly, on a fake clock, from 40 days before
// an IdP certificate expires to 3 days after: the alert comes 30, 7 and 1
// days before, then once a day, and never more often.
func TestAlerterStages(t *testing.T) {
	t.Parallel()
	expiry := testNow.Add(40 * 24 * time.Hour)
	idp, err := newTestIdP()
	require.NoError(t, err)
	expiring, err := idp.Rotate(samltest.WithCertificateValidity(testNow.AddDate(-2, 0, 0), expiry))
	require.NoError(t, err)
	h := newHarnessFor(t, expiring)
	clock := samltest.NewClock(testNow)
	rec := &recorder{clock: clock}
	var logs bytes.Buffer
	a, err := saml.NewAlerter(saml.AlerterConfig{
		Clock: clock.Now, Notify: rec.notify,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	require.NoError(t, err)

	assert.Empty(t, a.Check(t.Context(), h.sp, nil), "40 days ahead: nothing")
	for clock.Now().Before(expiry.Add(3*24*time.Hour + time.Minute)) {
		clock.Advance(time.Hour)
		current := a.Check(t.Context(), h.sp, nil)
		if left := expiry.Sub(clock.Now()); left <= 30*24*time.Hour {
			require.Len(t, current, 1, "within the window, Check always lists it (%v left)", left)
		} else {
			require.Empty(t, current)
		}
	}
	var daysBefore []time.Duration
	for _, at := range rec.at {
		daysBefore = append(daysBefore, expiry.Sub(at))
	}
	day := 24 * time.Hour
	// The clock started on the hour of the expiry (noon UTC), so the
	// checks land on the thresholds exactly; once expired, the alert
	// comes once per UTC calendar day.
	assert.Equal(t, []time.Duration{30 * day, 7 * day, day, 0, -day / 2, -day * 3 / 2, -day * 5 / 2}, daysBefore)
	require.Len(t, rec.alerts, 7)
	for i, want := range []struct {
		stage   time.Duration
		expired bool
		text    string
	}{
		{30 * day, false, "in 30 days"}, {7 * day, false, "in 7 days"}, {day, false, "in 1 day"},
		{0, true, "expired on"}, {0, true, "expired on"},
	} {
		al := rec.alerts[i]
		assert.Equal(t, saml.AlertIdPCertificate, al.Kind)
		assert.Equal(t, want.stage, al.Stage, i)
		assert.Equal(t, want.expired, al.Expired, i)
		assert.Contains(t, al.Summary, want.text, i)
		assert.Contains(t, al.Summary, `the IdP signing certificate "`+samltest.DefaultEntityID+`"`)
		assert.True(t, al.Certificate.Equal(expiring.Certificate))
		assert.Equal(t, expiry, al.ExpiresAt)
		assert.Contains(t, al.Action, "next signing certificate")
	}
	assert.Equal(t, 3, strings.Count(logs.String(), "level=WARN"), logs.String())
	assert.Equal(t, 4, strings.Count(logs.String(), "level=ERROR"), logs.String())
}

func TestAlerterSPCertificatesAndValidUntil(t *testing.T) {
	t.Parallel()
	kp, err := newSPKeyPair() // valid until testNow + 5 years
	require.NoError(t, err)
	clock := samltest.NewClock(kp.cert.NotAfter.Add(-10 * 24 * time.Hour))
	idp, err := sharedIdP()
	require.NoError(t, err)
	ident := idp.IdentityProvider()
	ident.ValidUntil = clock.Now().Add(20 * 24 * time.Hour)
	h := newHarness(t, func(c *saml.Config) {
		c.IdP = ident
		c.SigningKey, c.SigningCertificate = kp.key, kp.cert
		c.DecryptionKeys, c.EncryptionCertificate = nil, nil
	})
	rec := &recorder{clock: clock}
	a, err := saml.NewAlerter(saml.AlerterConfig{Clock: clock.Now, Notify: rec.notify})
	require.NoError(t, err)
	got := a.Check(t.Context(), h.sp, nil)
	require.Len(t, got, 2)
	assert.Equal(t, saml.AlertSPCertificate, got[0].Kind, "soonest first")
	assert.Contains(t, got[0].Summary, "the service provider's signing certificate")
	assert.Equal(t, saml.DefaultWarningWindow, got[0].Stage, "10 days left: the first stage")
	assert.Equal(t, 10, got[0].DaysLeft(clock.Now()))
	assert.Equal(t, saml.AlertMetadataValidUntil, got[1].Kind)
	assert.Contains(t, got[1].Action, "paste it in the SAML settings")
	assert.Len(t, rec.alerts, 2)
	a.Check(t.Context(), h.sp, nil)
	assert.Len(t, rec.alerts, 2, "not again the same day")
}

// TestAlerterRefreshFailing alerts once refreshes have failed for longer
// than the threshold, then daily while they do.
func TestAlerterRefreshFailing(t *testing.T) {
	t.Parallel()
	idp, err := sharedIdP()
	require.NoError(t, err)
	f := newSourceFixture(t, idp.Metadata(), nil)
	require.NoError(t, f.source.Refresh(t.Context()))
	sp := f.sp(t)
	rec := &recorder{clock: f.clock}
	a, err := saml.NewAlerter(saml.AlerterConfig{Clock: f.clock.Now, Notify: rec.notify, RefreshFailureThreshold: 6 * time.Hour})
	require.NoError(t, err)
	f.server.Fail(http.StatusServiceUnavailable)
	for range 30 {
		f.clock.Advance(time.Hour)
		_ = f.source.Refresh(t.Context())
		a.Check(t.Context(), sp, f.source)
	}
	require.Len(t, rec.alerts, 2, "after 6 hours, and the next day")
	al := rec.alerts[0]
	assert.Equal(t, saml.AlertMetadataRefreshFail, al.Kind)
	assert.Equal(t, testNow.Add(time.Hour), al.FailingSince)
	assert.Equal(t, testNow.Add(7*time.Hour), rec.at[0])
	assert.Contains(t, al.Summary, "503")
	assert.Contains(t, al.Action, "last good metadata")

	f.server.Fail(0)
	require.NoError(t, f.source.Refresh(t.Context()))
	assert.Empty(t, a.Check(t.Context(), sp, f.source), "healthy again")
}

func TestAlerterConfig(t *testing.T) {
	t.Parallel()
	_, err := saml.NewAlerter(saml.AlerterConfig{WarningWindow: -1, RefreshFailureThreshold: -1})
	assert.ErrorContains(t, err, "WarningWindow")
	assert.ErrorContains(t, err, "RefreshFailureThreshold")
	a, err := saml.NewAlerter(saml.AlerterConfig{})
	require.NoError(t, err)
	assert.Empty(t, a.Check(t.Context(), nil, nil))
}

func TestAlertDaysLeft(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	a := saml.Alert{ExpiresAt: testNow}
	for _, tc := range []struct {
		before time.Duration
		want   int
	}{{30 * day, 30}, {30*day - time.Second, 29}, {time.Hour, 0}, {0, 0}, {-time.Hour, -1}, {-day, -1}, {-day - time.Second, -2}} {
		assert.Equal(t, tc.want, a.DaysLeft(testNow.Add(-tc.before)), tc.before)
	}
}
