package saml

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Defaults for the zero values of MetadataSourceConfig.
const (
	// DefaultMetadataMaxSize caps one download of metadata. One IdP's
	// metadata is a few kilobytes; federation aggregates run to tens of
	// megabytes and need a larger MaxSize.
	DefaultMetadataMaxSize = 10 << 20
	// DefaultMetadataTimeout bounds one download, connection included.
	DefaultMetadataTimeout = 30 * time.Second
	// DefaultMinRefreshInterval is the shortest time between two
	// successful refreshes, whatever cacheDuration says.
	DefaultMinRefreshInterval = 10 * time.Minute
	// DefaultMaxRefreshInterval is the longest time between two
	// refreshes, and the interval when the metadata names neither
	// cacheDuration nor validUntil (Shibboleth's maxRefreshDelay).
	DefaultMaxRefreshInterval = 4 * time.Hour
	// DefaultRetryInterval is the wait after a first failed refresh; it
	// doubles with each further failure up to the MaxRefreshInterval.
	DefaultRetryInterval = time.Minute
)

// Where the metadata in use came from, for MetadataStatus.Origin.
const (
	OriginURL         = "url"
	OriginBackingCopy = "backing copy"
)

// MetadataSourceConfig configures a MetadataSource. URL is required; every
// other zero value means the documented default.
type MetadataSourceConfig struct {
	// URL is where the IdP publishes its metadata, such as Entra ID's
	// ".../federationmetadata/2007-06/federationmetadata.xml?appid=..."
	// or Okta's ".../app/<id>/sso/saml/metadata". It must be https.
	URL string
	// EntityID is the IdP's entity ID: the entity to take from an
	// aggregate, and the one the metadata must keep naming. Default: the
	// entity of the first metadata loaded, which later metadata must keep.
	EntityID string
	// SigningCertificates are the metadata-signing certificates the
	// admin pinned. When set, unsigned or wrongly signed metadata is
	// refused (see ParseSignedIdPMetadata). Default: none, and the
	// metadata is vouched for by TLS alone: whoever controls the URL's
	// host (or its certificate) controls which certificates are trusted.
	SigningCertificates []*x509.Certificate
	// AllowSHA1 accepts a metadata signature made with SHA-1. Default
	// false.
	AllowSHA1 bool
	// AllowHTTP accepts a plain http URL on a loopback address
	// (127.0.0.0/8, ::1, localhost), for tests. Other http URLs are
	// always refused. Default false: https only.
	AllowHTTP bool
	// HTTPClient fetches the metadata. Default: a client with Timeout
	// that follows at most five redirects and never from https to http.
	// With a client of the host's, a response that ended at an http URL
	// is still refused.
	HTTPClient *http.Client
	// Timeout bounds one fetch. Default: DefaultMetadataTimeout.
	Timeout time.Duration
	// MaxSize caps the metadata, in bytes. Default:
	// DefaultMetadataMaxSize.
	MaxSize int64

	// BackingCopy is the last good metadata the host stored (for example
	// in its settings table, from SaveBackingCopy). NewMetadataSource
	// loads it, so that logins work after a restart while the IdP is
	// unreachable; a refresh replaces it. It is held to the same rules
	// as fetched metadata, except that an expired copy still loads (and
	// Verify then refuses logins with CodeExpired, saying why). Optional.
	BackingCopy []byte
	// SaveBackingCopy receives each new good metadata fetched from URL,
	// for the host to store and pass as BackingCopy next time. Its error
	// is logged and shown in the status; the metadata is used anyway.
	// Optional.
	SaveBackingCopy func(ctx context.Context, metadata []byte) error

	// MinRefreshInterval and MaxRefreshInterval bound the time between
	// two successful refreshes: three quarters of the metadata's
	// cacheDuration, or of the time left until its validUntil, whichever
	// is shorter, less up to a tenth of jitter. Defaults:
	// DefaultMinRefreshInterval and DefaultMaxRefreshInterval.
	MinRefreshInterval time.Duration
	MaxRefreshInterval time.Duration
	// RetryInterval is the wait after a failed refresh, doubled after
	// each further failure up to MaxRefreshInterval, less up to a tenth
	// of jitter. Default: DefaultRetryInterval.
	RetryInterval time.Duration

	// Clock returns the current time. Default: time.Now.
	Clock func() time.Time
	// Sleep waits d or until ctx is done, for Run. A fake Clock needs a
	// Sleep that advances it. Default: a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger receives a line per refresh: Info when the metadata
	// changed (certificates added or removed), Warn when a refresh
	// failed. Default: silent.
	Logger *slog.Logger
	// OnRefresh is called after every refresh attempt with the status,
	// for example to run an Alerter's Check. Optional.
	OnRefresh func(ctx context.Context, status MetadataStatus)
}

// MetadataSource keeps an IdP's metadata current: it fetches it from a
// URL, checks it (and its signature, with SigningCertificates), and
// refreshes it on a schedule (Run) or on demand (Refresh). A service
// provider whose Config.MetadataSource is the source trusts its current
// metadata: a refresh that lists a new signing certificate beside the old
// one makes both trusted, one that drops the old one stops trusting it,
// with no restart and safely for concurrent Verify calls.
//
// A refresh never makes things worse: one that fails, that names another
// entity ID, that has no signing certificate or that has already expired
// keeps the metadata in use and says why in Status. It is safe for
// concurrent use.
type MetadataSource struct {
	cfg     MetadataSourceConfig
	signers *trust // the metadata-signing certificates; nil without any
	trust   trustCell

	refreshing sync.Mutex // one refresh at a time

	mu      sync.Mutex // guards the fields below
	status  MetadataStatus
	etag    string // validators of the metadata in use, for a conditional GET
	lastMod string
	saved   []byte // the metadata bytes in use
}

// MetadataStatus is what a MetadataSource did last and trusts now, for
// the admin page.
type MetadataStatus struct {
	// URL is the metadata URL.
	URL string
	// IdP is the IdP of the metadata in use; its EntityID is empty while
	// there is none.
	IdP IdentityProvider
	// Origin says where the metadata in use came from: OriginURL or
	// OriginBackingCopy; empty while there is none.
	Origin string
	// SignedBy is the metadata-signing certificate that verified the
	// metadata in use; nil when no signing certificate is configured
	// (TLS alone vouched for it).
	SignedBy *x509.Certificate
	// LoadedAt is when the metadata in use was accepted.
	LoadedAt time.Time
	// LastAttempt is when the last refresh ran, LastSuccess when one last
	// succeeded (an unchanged answer counts).
	LastAttempt, LastSuccess time.Time
	// LastError is why the last refresh failed; nil when it succeeded.
	// The metadata in use was kept.
	LastError error
	// FailingSince is when the current run of failed refreshes began;
	// zero when the last one succeeded. Failures counts them.
	FailingSince time.Time
	Failures     int
	// NextRefresh is when Run refreshes next; zero before the first.
	NextRefresh time.Time
	// BackingCopyError is why SaveBackingCopy last failed; nil when it
	// did not.
	BackingCopyError error
}

// NewMetadataSource checks cfg, fills its defaults and loads
// cfg.BackingCopy when there is one. It does not fetch: call Refresh
// (before building the service provider, when there is no backing copy)
// and Run.
func NewMetadataSource(cfg MetadataSourceConfig) (*MetadataSource, error) {
	if err := checkMetadataURL(cfg.URL, cfg.AllowHTTP); err != nil {
		return nil, fmt.Errorf("saml: MetadataSourceConfig.URL: %w", err)
	}
	if err := cfg.fillDefaults(); err != nil {
		return nil, err
	}
	s := &MetadataSource{cfg: cfg}
	s.status.URL = cfg.URL
	if len(cfg.SigningCertificates) > 0 {
		t, err := signerTrust(cfg.SigningCertificates)
		if err != nil {
			return nil, err
		}
		s.signers = t
	}
	if len(cfg.BackingCopy) > 0 {
		ctx := context.Background()
		if err := s.accept(ctx, cfg.BackingCopy, OriginBackingCopy, cfg.Clock()); err != nil {
			s.status.LastError = err
			s.log(ctx, slog.LevelWarn, "saml: the IdP metadata backing copy is not usable", "error", err)
		}
	}
	return s, nil
}

func (cfg *MetadataSourceConfig) fillDefaults() error {
	var errs []error
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"Timeout", &cfg.Timeout, DefaultMetadataTimeout},
		{"MinRefreshInterval", &cfg.MinRefreshInterval, DefaultMinRefreshInterval},
		{"MaxRefreshInterval", &cfg.MaxRefreshInterval, DefaultMaxRefreshInterval},
		{"RetryInterval", &cfg.RetryInterval, DefaultRetryInterval},
	} {
		switch {
		case *d.v < 0:
			errs = append(errs, fmt.Errorf("saml: MetadataSourceConfig.%s must not be negative, got %v", d.name, *d.v))
		case *d.v == 0:
			*d.v = d.def
		}
	}
	if cfg.MaxRefreshInterval < cfg.MinRefreshInterval {
		errs = append(errs, fmt.Errorf("saml: MetadataSourceConfig.MaxRefreshInterval (%v) is shorter than MinRefreshInterval (%v)", cfg.MaxRefreshInterval, cfg.MinRefreshInterval))
	}
	switch {
	case cfg.MaxSize < 0:
		errs = append(errs, fmt.Errorf("saml: MetadataSourceConfig.MaxSize must not be negative, got %d", cfg.MaxSize))
	case cfg.MaxSize == 0:
		cfg.MaxSize = DefaultMetadataMaxSize
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: cfg.Timeout, CheckRedirect: cfg.checkRedirect}
	}
	return errors.Join(errs...)
}

func (cfg *MetadataSourceConfig) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("more than 5 redirects")
	}
	return checkMetadataURL(req.URL.String(), cfg.AllowHTTP)
}

// CheckMetadataURL reports whether s can be a MetadataSourceConfig.URL: an
// https URL with a host and no credentials, or, with allowHTTP, an http
// URL on a loopback address. Its error quotes s and says what is wrong.
func CheckMetadataURL(s string, allowHTTP bool) error { return checkMetadataURL(s, allowHTTP) }

// IsLoopbackURL reports whether s is a URL whose host is a loopback
// address or "localhost": the only place MetadataSourceConfig.AllowHTTP
// lets plain http reach.
func IsLoopbackURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && isLoopback(u.Hostname())
}

// checkMetadataURL accepts an https URL, and an http URL on a loopback
// address when allowHTTP is set.
func checkMetadataURL(s string, allowHTTP bool) error {
	u, err := url.Parse(s)
	switch {
	case s == "":
		return errors.New("required: the URL of the IdP's metadata")
	case err != nil:
		return fmt.Errorf("%q is not a URL: %v", s, err)
	case u.Host == "":
		return fmt.Errorf("%q has no host", s)
	case u.User != nil:
		return fmt.Errorf("%q must not hold credentials", s)
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && allowHTTP && isLoopback(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return fmt.Errorf("%q is http: metadata decides which certificates are trusted, so it must come over https", s)
	}
	return fmt.Errorf("%q must be an https URL", s)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Status returns what the source did last and trusts now.
func (s *MetadataSource) Status() MetadataStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.status
	st.IdP.Certificates = append([]*x509.Certificate(nil), st.IdP.Certificates...)
	return st
}

// IdentityProvider returns the IdP of the metadata in use, and false while
// there is none.
func (s *MetadataSource) IdentityProvider() (IdentityProvider, bool) {
	t := s.trust.load()
	if t == nil {
		return IdentityProvider{}, false
	}
	return t.idp, true
}

// Run refreshes the metadata on schedule (see MetadataSourceConfig's
// intervals) until ctx is done, and returns ctx's error. A failed refresh
// is logged and shown in Status; Run carries on with backoff. A Refresh
// called meanwhile (the admin's "Refresh now") moves the schedule.
func (s *MetadataSource) Run(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		next := s.Status().NextRefresh
		if wait := next.Sub(s.cfg.Clock()); !next.IsZero() && wait > 0 {
			if err := s.cfg.Sleep(ctx, wait); err != nil {
				return err
			}
			continue
		}
		_ = s.Refresh(ctx) // the error is in Status and the log
	}
}

// Refresh fetches the metadata now and, when it is good, trusts it. When
// the fetch or a check fails it keeps the metadata in use and returns why
// (also in Status). An unchanged answer (HTTP 304) counts as a success.
func (s *MetadataSource) Refresh(ctx context.Context) error {
	s.refreshing.Lock()
	defer s.refreshing.Unlock()
	now := s.cfg.Clock()
	data, validators, err := s.fetch(ctx)
	if err == nil && data != nil {
		err = s.accept(ctx, data, OriginURL, now)
		if err == nil {
			s.mu.Lock()
			s.etag, s.lastMod = validators[0], validators[1]
			s.mu.Unlock()
		}
	}
	st := s.record(now, err)
	if err != nil {
		s.log(ctx, slog.LevelWarn, "saml: IdP metadata refresh failed; the metadata in use is kept",
			"url", s.cfg.URL, "error", err, "failing_since", st.FailingSince, "next_refresh", st.NextRefresh)
	}
	if s.cfg.OnRefresh != nil {
		s.cfg.OnRefresh(ctx, st)
	}
	return err
}

// record notes the outcome of a refresh and schedules the next one.
func (s *MetadataSource) record(now time.Time, err error) MetadataStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.status
	st.LastAttempt, st.LastError = now, err
	if err == nil {
		st.LastSuccess, st.FailingSince, st.Failures = now, time.Time{}, 0
		st.NextRefresh = now.Add(s.successInterval(now, st.IdP))
	} else {
		if st.Failures == 0 {
			st.FailingSince = now
		}
		st.Failures++
		st.NextRefresh = now.Add(s.retryInterval(st.Failures))
	}
	out := *st
	out.IdP.Certificates = append([]*x509.Certificate(nil), st.IdP.Certificates...)
	return out
}

// successInterval is three quarters of the cacheDuration or of the time
// left until validUntil, whichever is shorter, within the configured
// bounds, less up to a tenth of jitter so that many service providers do
// not all come at once.
func (s *MetadataSource) successInterval(now time.Time, idp IdentityProvider) time.Duration {
	d := s.cfg.MaxRefreshInterval
	if c := idp.CacheDuration; c > 0 {
		d = min(d, c/4*3)
	}
	if !idp.ValidUntil.IsZero() {
		d = min(d, idp.ValidUntil.Sub(now)/4*3)
	}
	return jitter(max(d, s.cfg.MinRefreshInterval))
}

// retryInterval backs off exponentially from RetryInterval.
func (s *MetadataSource) retryInterval(failures int) time.Duration {
	d := s.cfg.RetryInterval
	for i := 1; i < failures && d < s.cfg.MaxRefreshInterval; i++ {
		d *= 2
	}
	return jitter(min(d, s.cfg.MaxRefreshInterval))
}

func jitter(d time.Duration) time.Duration {
	if d < 10 {
		return d
	}
	return d - time.Duration(rand.Int64N(int64(d/10)))
}

// fetch downloads the metadata. It returns nil data when the server says
// the metadata in use is unchanged, and the validators (ETag and
// Last-Modified) of what it returns.
func (s *MetadataSource) fetch(ctx context.Context) ([]byte, [2]string, error) {
	var validators [2]string
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.cfg.URL, nil)
	if err != nil {
		return nil, validators, fmt.Errorf("saml: metadata: %w", err)
	}
	req.Header.Set("Accept", "application/samlmetadata+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1")
	s.mu.Lock()
	conditional := s.status.Origin == OriginURL
	if conditional && s.etag != "" {
		req.Header.Set("If-None-Match", s.etag)
	}
	if conditional && s.lastMod != "" {
		req.Header.Set("If-Modified-Since", s.lastMod)
	}
	s.mu.Unlock()
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, validators, fmt.Errorf("saml: metadata: fetching %s: %w", s.cfg.URL, err)
	}
	defer resp.Body.Close()
	if err := checkMetadataURL(resp.Request.URL.String(), s.cfg.AllowHTTP); err != nil {
		return nil, validators, fmt.Errorf("saml: metadata: fetching %s ended at %v", s.cfg.URL, err)
	}
	switch {
	case resp.StatusCode == http.StatusNotModified && conditional:
		return nil, validators, nil
	case resp.StatusCode != http.StatusOK:
		return nil, validators, fmt.Errorf("saml: metadata: %s answered %s, want 200 OK", s.cfg.URL, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, s.cfg.MaxSize+1))
	if err != nil {
		return nil, validators, fmt.Errorf("saml: metadata: reading %s: %w", s.cfg.URL, err)
	}
	if int64(len(body)) > s.cfg.MaxSize {
		return nil, validators, fmt.Errorf("saml: metadata: %s serves more than the %d bytes allowed (MetadataSourceConfig.MaxSize)", s.cfg.URL, s.cfg.MaxSize)
	}
	validators = [2]string{resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")}
	return body, validators, nil
}

// accept checks data and, when it is good, makes it the metadata in use.
func (s *MetadataSource) accept(ctx context.Context, data []byte, origin string, now time.Time) error {
	current := s.trust.load()
	want := s.cfg.EntityID
	if want == "" && current != nil {
		want = current.idp.EntityID
	}
	md, err := parseMetadata(data, want, s.signers, s.cfg.AllowSHA1)
	var other *otherEntityError
	switch {
	case errors.As(err, &other):
		return entityChanged(origin, other.got, other.want)
	case err != nil:
		return fmt.Errorf("saml: metadata from %s: %w", origin, err)
	}
	idp := md.idp
	if current != nil && idp.EntityID != current.idp.EntityID {
		return entityChanged(origin, idp.EntityID, current.idp.EntityID)
	}
	if origin == OriginURL && !idp.ValidUntil.IsZero() && !now.Before(idp.ValidUntil) {
		return wrapError(CodeExpired, nil, "the metadata from %s expired at %s (validUntil); the IdP serves stale metadata", origin, stamp(idp.ValidUntil))
	}
	t, err := newTrust(*idp)
	if err != nil {
		return fmt.Errorf("saml: metadata from %s: %w", origin, err)
	}
	s.trust.p.Store(t)
	s.mu.Lock()
	changed := !bytes.Equal(s.saved, data)
	s.saved = data
	s.status.IdP, s.status.Origin, s.status.SignedBy, s.status.LoadedAt = t.idp, origin, md.signedBy, now
	s.mu.Unlock()
	if changed {
		s.logChange(ctx, origin, current, t)
	}
	if changed && origin == OriginURL && s.cfg.SaveBackingCopy != nil {
		err := s.cfg.SaveBackingCopy(ctx, data)
		s.mu.Lock()
		s.status.BackingCopyError = err
		s.mu.Unlock()
		if err != nil {
			s.log(ctx, slog.LevelWarn, "saml: storing the IdP metadata backing copy failed", "error", err)
		}
	}
	return nil
}

func entityChanged(origin, got, want string) error {
	return fmt.Errorf("%w: the metadata from %s names %q, the IdP in use is %q; another IdP needs a new service provider configuration", ErrEntityIDChanged, origin, got, want)
}

// logChange logs which signing certificates a new metadata added and
// removed: the moments of a rollover an admin may need to find later.
func (s *MetadataSource) logChange(ctx context.Context, origin string, old, now *trust) {
	var added, removed []string
	for _, c := range now.idp.Certificates {
		if old == nil || !containsCert(old.idp.Certificates, c) {
			added = append(added, certName(c))
		}
	}
	if old != nil {
		for _, c := range old.idp.Certificates {
			if !containsCert(now.idp.Certificates, c) {
				removed = append(removed, certName(c))
			}
		}
	}
	s.log(ctx, slog.LevelInfo, "saml: IdP metadata loaded", "origin", origin, "entity_id", now.idp.EntityID,
		"certificates_added", added, "certificates_removed", removed, "valid_until", now.idp.ValidUntil)
}

func (s *MetadataSource) log(ctx context.Context, level slog.Level, msg string, args ...any) {
	if s.cfg.Logger != nil {
		s.cfg.Logger.Log(ctx, level, msg, args...)
	}
}

// certName names a certificate for logs and alerts: its subject's common
// name (or whole subject) and serial number.
func certName(c *x509.Certificate) string {
	name := c.Subject.CommonName
	if name == "" {
		name = c.Subject.String()
	}
	return fmt.Sprintf("%q (serial %s)", name, c.SerialNumber)
}
