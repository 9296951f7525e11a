package saml

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"
)

// Defaults for the zero values of AlerterConfig.
const (
	// DefaultWarningWindow is how long before an expiry the first alert
	// comes.
	DefaultWarningWindow = 30 * 24 * time.Hour
	// DefaultRefreshFailureThreshold is how long metadata refreshes may
	// fail before an alert: long enough to ride out an IdP maintenance
	// window, short enough to leave days before a validUntil.
	DefaultRefreshFailureThreshold = 12 * time.Hour
)

// AlertKind names what an Alert is about. Kinds are stable: hosts may
// switch on them.
type AlertKind string

// The kinds of Alert.
const (
	AlertIdPCertificate      AlertKind = "idp_certificate"          // an IdP signing certificate expires
	AlertSPCertificate       AlertKind = "sp_certificate"           // the SP's signing or encryption certificate expires
	AlertMetadataValidUntil  AlertKind = "metadata_valid_until"     // the IdP metadata's validUntil comes
	AlertMetadataRefreshFail AlertKind = "metadata_refresh_failing" // metadata refreshes have failed for a while
)

// Alert is one condition that will break logins unless an admin acts, or
// already does.
type Alert struct {
	// Kind says what the alert is about.
	Kind AlertKind
	// Subject names what expires or fails, for an admin: `the IdP signing
	// certificate "idp.example.com" (serial 1234)`.
	Subject string
	// ExpiresAt is when it expires; zero for AlertMetadataRefreshFail.
	ExpiresAt time.Time
	// Expired is set once ExpiresAt has passed.
	Expired bool
	// FailingSince is when refreshes began to fail, for
	// AlertMetadataRefreshFail; zero otherwise.
	FailingSince time.Time
	// Stage is the warning stage reached: the warning window, 7 days or
	// 1 day before ExpiresAt, and 0 once expired (and for refresh
	// failures). Each stage is notified once, an expired item or failing
	// refreshes once a day.
	Stage time.Duration
	// Summary is one line for a log or an email subject.
	Summary string
	// Action says what to do.
	Action string
	// Certificate is the certificate that expires, for the certificate
	// kinds; nil otherwise.
	Certificate *x509.Certificate
}

// DaysLeft returns the whole days from now until ExpiresAt, rounded down:
// 0 on the last day, negative once expired.
func (a Alert) DaysLeft(now time.Time) int {
	d := a.ExpiresAt.Sub(now)
	days := int(d / (24 * time.Hour))
	if d < 0 && d%(24*time.Hour) != 0 {
		days--
	}
	return days
}

// AlerterConfig configures an Alerter. Every zero value means the
// documented default.
type AlerterConfig struct {
	// WarningWindow is how long before an expiry the first alert comes;
	// alerts follow 7 days and 1 day before, and daily once expired.
	// Default: DefaultWarningWindow.
	WarningWindow time.Duration
	// RefreshFailureThreshold is how long metadata refreshes may fail
	// before an alert, repeated daily while they do. Default:
	// DefaultRefreshFailureThreshold.
	RefreshFailureThreshold time.Duration
	// Clock returns the current time. Default: time.Now.
	Clock func() time.Time
	// Logger receives each notified alert: Warn before an expiry, Error
	// once expired or while refreshes fail. Default: silent.
	Logger *slog.Logger
	// Notify receives each alert once per stage (see Alert.Stage), for
	// the host to email its site admins, for example as a
	// notify.ExpiryWarning or notify.SystemError. It must not block for
	// long. Optional.
	Notify func(ctx context.Context, a Alert)
}

// Alerter tells the host, ahead of time, about what will break SAML
// logins: an IdP signing certificate, the SP's own certificates or the IdP
// metadata's validUntil within the warning window, and metadata refreshes
// that keep failing. Call Check periodically (hourly, or from
// MetadataSourceConfig.OnRefresh); it notifies each condition once per
// stage and day, however often it runs, never per login. What was notified
// is remembered in memory, so a restarted process notifies the current
// stage again. It is safe for concurrent use.
type Alerter struct {
	cfg AlerterConfig

	mu       sync.Mutex
	notified map[string]bool
}

// NewAlerter checks cfg and fills its defaults.
func NewAlerter(cfg AlerterConfig) (*Alerter, error) {
	var errs []error
	if cfg.WarningWindow < 0 {
		errs = append(errs, fmt.Errorf("saml: AlerterConfig.WarningWindow must not be negative, got %v", cfg.WarningWindow))
	}
	if cfg.RefreshFailureThreshold < 0 {
		errs = append(errs, fmt.Errorf("saml: AlerterConfig.RefreshFailureThreshold must not be negative, got %v", cfg.RefreshFailureThreshold))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.WarningWindow == 0 {
		cfg.WarningWindow = DefaultWarningWindow
	}
	if cfg.RefreshFailureThreshold == 0 {
		cfg.RefreshFailureThreshold = DefaultRefreshFailureThreshold
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	return &Alerter{cfg: cfg, notified: map[string]bool{}}, nil
}

// Check returns every condition that needs an admin now, for sp (its IdP's
// signing certificates and metadata validUntil, its own signing and
// encryption certificates) and src (its refresh failures; nil when the IdP
// is configured by hand), soonest first, and notifies those not yet
// notified at their stage (today, for the daily ones). Either argument may
// be nil.
func (a *Alerter) Check(ctx context.Context, sp *ServiceProvider, src *MetadataSource) []Alert {
	now := a.cfg.Clock()
	var alerts []Alert
	var keys []string
	add := func(al Alert, key string) {
		alerts = append(alerts, al)
		keys = append(keys, key)
	}
	if sp != nil {
		idp := sp.IdentityProvider()
		for _, c := range idp.Certificates {
			a.expiry(now, add, Alert{Kind: AlertIdPCertificate, Certificate: c, ExpiresAt: c.NotAfter,
				Subject: fmt.Sprintf("the IdP signing certificate %s of %q", certName(c), idp.EntityID),
				Action:  idpCertAction(src != nil)}, fingerprint(c))
		}
		if !idp.ValidUntil.IsZero() {
			a.expiry(now, add, Alert{Kind: AlertMetadataValidUntil, ExpiresAt: idp.ValidUntil,
				Subject: fmt.Sprintf("the metadata of the IdP %q (validUntil)", idp.EntityID),
				Action:  validUntilAction(src != nil)}, idp.EntityID+"|"+stamp(idp.ValidUntil))
		}
		for _, c := range sp.ownCertificates() {
			a.expiry(now, add, Alert{Kind: AlertSPCertificate, Certificate: c.cert, ExpiresAt: c.cert.NotAfter,
				Subject: fmt.Sprintf("the service provider's %s certificate %s", c.use, certName(c.cert)),
				Action:  spCertAction}, fingerprint(c.cert))
		}
	}
	if src != nil {
		if st := src.Status(); st.Failures > 0 && now.Sub(st.FailingSince) >= a.cfg.RefreshFailureThreshold {
			add(Alert{Kind: AlertMetadataRefreshFail, FailingSince: st.FailingSince,
				Subject: fmt.Sprintf("the IdP metadata refresh from %s", st.URL),
				Summary: fmt.Sprintf("refreshing the IdP metadata from %s has failed since %s (%d attempts): %v", st.URL, stamp(st.FailingSince), st.Failures, st.LastError),
				Action:  refreshAction}, string(AlertMetadataRefreshFail)+"|"+st.URL+"|"+now.UTC().Format(time.DateOnly))
		}
	}
	a.notify(ctx, alerts, keys)
	sort.SliceStable(alerts, func(i, j int) bool { return alertTime(alerts[i]).Before(alertTime(alerts[j])) })
	return alerts
}

func alertTime(a Alert) time.Time {
	if a.ExpiresAt.IsZero() {
		return a.FailingSince
	}
	return a.ExpiresAt
}

// expiry adds al when its ExpiresAt is within the warning window, with its
// stage, summary and notification key.
func (a *Alerter) expiry(now time.Time, add func(Alert, string), al Alert, id string) {
	left := al.ExpiresAt.Sub(now)
	if left > a.cfg.WarningWindow {
		return
	}
	key := string(al.Kind) + "|" + id + "|"
	switch {
	case left <= 0:
		al.Expired = true
		al.Summary = fmt.Sprintf("%s expired on %s", al.Subject, stamp(al.ExpiresAt))
		key += "expired|" + now.UTC().Format(time.DateOnly)
	default:
		al.Stage = a.cfg.WarningWindow
		for _, s := range []time.Duration{7 * 24 * time.Hour, 24 * time.Hour} {
			if left <= s && s < al.Stage {
				al.Stage = s
			}
		}
		al.Summary = fmt.Sprintf("%s expires on %s, in %s", al.Subject, stamp(al.ExpiresAt), daysText(al.DaysLeft(now)))
		key += al.Stage.String()
	}
	add(al, key)
}

func daysText(days int) string {
	switch days {
	case 0:
		return "less than a day"
	case 1:
		return "1 day"
	}
	return fmt.Sprintf("%d days", days)
}

// notify reports the alerts whose keys were not notified yet.
func (a *Alerter) notify(ctx context.Context, alerts []Alert, keys []string) {
	var fresh []Alert
	a.mu.Lock()
	for i, k := range keys {
		if !a.notified[k] {
			a.notified[k] = true
			fresh = append(fresh, alerts[i])
		}
	}
	a.mu.Unlock()
	for _, al := range fresh {
		if l := a.cfg.Logger; l != nil {
			level := slog.LevelWarn
			if al.Expired || al.Kind == AlertMetadataRefreshFail {
				level = slog.LevelError
			}
			l.Log(ctx, level, "saml: "+al.Summary, "kind", string(al.Kind), "expires_at", al.ExpiresAt, "action", al.Action)
		}
		if a.cfg.Notify != nil {
			a.cfg.Notify(ctx, al)
		}
	}
}

// spCert is one of the service provider's own certificates and its use.
type spCert struct {
	use  string
	cert *x509.Certificate
}

func (sp *ServiceProvider) ownCertificates() []spCert {
	sign, enc := sp.cfg.SigningCertificate, sp.cfg.EncryptionCertificate
	if sign != nil && enc != nil && sign.Equal(enc) {
		return []spCert{{"signing and encryption", sign}}
	}
	var out []spCert
	if sign != nil {
		out = append(out, spCert{"signing", sign})
	}
	if enc != nil {
		out = append(out, spCert{"encryption", enc})
	}
	return out
}

func fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

func idpCertAction(fromURL bool) string {
	if fromURL {
		return "Ask the IdP's admin to add the IdP's next signing certificate to its metadata now: the service provider trusts it at the next metadata refresh, and stops trusting the old one when the metadata drops it."
	}
	return "Ask the IdP's admin for the IdP's next signing certificate and add it to the SAML settings now (keep the current one as the old certificate until the IdP has switched), or set an IdP metadata URL so that rollovers need no one."
}

func validUntilAction(fromURL bool) string {
	if fromURL {
		return "Logins fail once the IdP metadata expires. Check that metadata refreshes succeed (on the SAML settings page) and that the IdP publishes metadata with a later validUntil."
	}
	return "Logins fail once the IdP metadata expires. Download the IdP's current metadata and paste it in the SAML settings, or set an IdP metadata URL so that it stays current."
}

const spCertAction = "Make a new key pair, publish its certificate as the next certificate in the SP metadata, have the IdP's admin import the SP metadata, then switch the service provider to the new key."

const refreshAction = "The service provider keeps the last good metadata until its validUntil. Check that the metadata URL answers from this server, and, with a metadata-signing certificate, that the metadata still verifies with it."
