package saml_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/saml"
	"github.com/siteadmin/integrations/saml/samltest"
)

// needXMLSec1 returns the path of xmlsec1, or skips the test without it
// (fails it under CI, where .ci/run installs it).
func needXMLSec1(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("xmlsec1")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("xmlsec1 is not installed; .ci/run installs it (apt-get install xmlsec1)")
		}
		t.Skip("xmlsec1 is not installed (apt-get install xmlsec1)")
	}
	return bin
}

// metadataSigner signs metadata with xmlsec1, an implementation
// independent of ours, with a key of its own (not the IdP's).
type metadataSigner struct {
	bin, dir, key string
	cert          *x509.Certificate
	n             atomic.Int64
}

func newMetadataSigner(t *testing.T) *metadataSigner {
	t.Helper()
	bin := needXMLSec1(t)
	signer, err := newTestIdP(samltest.WithEntityID("https://federation.example.com/metadata-signer"))
	require.NoError(t, err)
	dir := t.TempDir()
	der, err := x509.MarshalPKCS8PrivateKey(signer.Key)
	require.NoError(t, err)
	key := writePEM(t, dir, "signer.key", "PRIVATE KEY", der)
	cert := writePEM(t, dir, "signer.crt", "CERTIFICATE", signer.Certificate.Raw)
	return &metadataSigner{bin: bin, dir: dir, key: key + "," + cert, cert: signer.Certificate}
}

// sign returns idp's metadata, with opts' validUntil and cacheDuration,
// signed by xmlsec1.
func (s *metadataSigner) sign(t testing.TB, idp *samltest.IdP, opts samltest.MetadataOptions) []byte {
	t.Helper()
	opts.ID = "_md" + idp.Certificate.SerialNumber.String()
	md, err := idp.MetadataWith(opts)
	require.NoError(t, err)
	// The template goes right after the root's start tag: ds:Signature is
	// the first child of an md:EntityDescriptor.
	doc := string(md)
	root := strings.Index(doc, "<md:EntityDescriptor")
	at := strings.IndexByte(doc[root:], '>') + root + 1
	doc = doc[:at] + signatureTemplate(opts.ID, samltest.RSASHA256) + doc[at:]
	in := filepath.Join(s.dir, "in"+string(rune('a'+s.n.Add(1)%26))+".xml")
	require.NoError(t, os.WriteFile(in, []byte(doc), 0o600))
	out, err := exec.Command(s.bin, "--sign", "--privkey-pem", s.key,
		"--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor",
		"--node-xpath", "/*/*[local-name()='Signature']", in).Output()
	require.NoError(t, err, "xmlsec1 --sign")
	return out
}

// sourceFixture is an HTTPS metadata server, a metadata source that
// fetches from it, and a service provider that trusts the source.
type sourceFixture struct {
	server *samltest.MetadataServer
	clock  *samltest.Clock
	source *saml.MetadataSource
	saved  [][]byte
	mu     sync.Mutex
}

func newSourceFixture(t testing.TB, initial []byte, mod func(*saml.MetadataSourceConfig)) *sourceFixture {
	t.Helper()
	f := &sourceFixture{server: samltest.NewMetadataServer(initial), clock: samltest.NewClock(testNow)}
	t.Cleanup(f.server.Close)
	cfg := saml.MetadataSourceConfig{
		URL:        f.server.MetadataURL(),
		HTTPClient: f.server.Client(),
		Clock:      f.clock.Now,
		Sleep:      f.clock.Sleep,
		SaveBackingCopy: func(_ context.Context, md []byte) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.saved = append(f.saved, md)
			return nil
		},
	}
	if mod != nil {
		mod(&cfg)
	}
	src, err := saml.NewMetadataSource(cfg)
	require.NoError(t, err)
	f.source = src
	return f
}

func (f *sourceFixture) savedCopies() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]byte(nil), f.saved...)
}

// sp returns a service provider whose IdP comes from the source.
func (f *sourceFixture) sp(t testing.TB) *saml.ServiceProvider {
	t.Helper()
	sp, err := saml.NewServiceProvider(saml.Config{
		EntityID: samltest.DefaultAudience, ACSURL: samltest.DefaultACSURL,
		MetadataSource: f.source, Clock: f.clock.Now,
	})
	require.NoError(t, err)
	return sp
}

// login verifies a fresh response signed by idp at the fixture's time.
func (f *sourceFixture) login(t testing.TB, sp *saml.ServiceProvider, idp *samltest.IdP) error {
	t.Helper()
	r, err := idp.Response(samltest.ResponseSpec{Now: f.clock.Now(), InResponseTo: testRequest})
	require.NoError(t, err)
	_, err = sp.Verify(t.Context(), base64.StdEncoding.EncodeToString(r.XML), testRequest)
	return err
}

// TestMetadataSourceRotation plays a full IdP key rollover through signed
// metadata: the new certificate announced, responses signed with it
// accepted after the next refresh, the old one dropped and then refused.
func TestMetadataSourceRotation(t *testing.T) {
	t.Parallel()
	signer := newMetadataSigner(t)
	old, next := rotatedIdP(t)
	f := newSourceFixture(t, signer.sign(t, old, samltest.MetadataOptions{}), func(c *saml.MetadataSourceConfig) {
		c.SigningCertificates = []*x509.Certificate{signer.cert}
	})
	require.NoError(t, f.source.Refresh(t.Context()))
	sp := f.sp(t)
	require.NoError(t, f.login(t, sp, old))
	assert.ErrorIs(t, f.login(t, sp, next), saml.ErrSignature, "not announced yet")

	steps := []struct {
		name      string
		idp       *samltest.IdP
		old, next bool // which keys' responses are accepted after the refresh
	}{
		{"announce", old.Publishing(next.Certificate), true, true},
		{"switch", next.Publishing(old.Certificate), true, true},
		{"drop the old certificate", next, false, true},
	}
	for _, step := range steps {
		f.server.SetMetadata(signer.sign(t, step.idp, samltest.MetadataOptions{}))
		// Nothing changes before the refresh.
		f.clock.Advance(time.Hour)
		require.NoError(t, f.source.Refresh(t.Context()), step.name)
		for _, k := range []struct {
			idp  *samltest.IdP
			want bool
		}{{old, step.old}, {next, step.next}} {
			err := f.login(t, sp, k.idp)
			if k.want {
				assert.NoError(t, err, step.name)
			} else {
				assert.ErrorIs(t, err, saml.ErrSignature, step.name)
			}
		}
		st := f.source.Status()
		assert.Equal(t, step.idp.IdentityProvider().Certificates, st.IdP.Certificates, step.name)
		assert.True(t, st.SignedBy.Equal(signer.cert), step.name)
		assert.Equal(t, saml.OriginURL, st.Origin)
		assert.NoError(t, st.LastError)
	}
	assert.Len(t, f.savedCopies(), 4, "each new metadata is handed to the host once")
}

// TestMetadataSourceKeepsLastGood refuses every kind of bad refresh while
// a metadata-signing certificate is set, and keeps the metadata in use.
func TestMetadataSourceKeepsLastGood(t *testing.T) {
	t.Parallel()
	signer := newMetadataSigner(t)
	other := newMetadataSigner(t)
	old, next := rotatedIdP(t)
	good := signer.sign(t, old, samltest.MetadataOptions{})
	stranger, err := newTestIdP(samltest.WithEntityID("https://stranger.example.com/idp"))
	require.NoError(t, err)
	tampered := signer.sign(t, old.Publishing(next.Certificate), samltest.MetadataOptions{})
	// Swap the announced certificate for the attacker's, after signing.
	tampered = bytes.Replace(tampered, []byte(base64.StdEncoding.EncodeToString(next.Certificate.Raw)),
		[]byte(base64.StdEncoding.EncodeToString(stranger.Certificate.Raw)), 1)
	noSigning := bytes.ReplaceAll(signer.sign(t, old, samltest.MetadataOptions{}), []byte(`use="signing"`), []byte(`use="encryption"`))
	noSigningResigned := signer.signRaw(t, noSigning)

	cases := []struct {
		name   string
		serve  []byte
		status int
		want   string
		is     error
	}{
		{"unsigned", old.Publishing(next.Certificate).Metadata(), 0, "not signed", saml.ErrSignature},
		{"tampered", tampered, 0, "does not verify", saml.ErrSignature},
		{"signed by another key", other.sign(t, old.Publishing(next.Certificate), samltest.MetadataOptions{}), 0, "does not verify", saml.ErrSignature},
		{"entity ID change", signer.sign(t, stranger, samltest.MetadataOptions{}), 0, "entity ID changed", saml.ErrEntityIDChanged},
		{"no signing certificate", noSigningResigned, 0, "no signing certificate", nil},
		{"already expired", signer.sign(t, next, samltest.MetadataOptions{ValidUntil: testNow.Add(-time.Minute)}), 0, "expired", saml.ErrExpired},
		{"server error", good, http.StatusServiceUnavailable, "503", nil},
		{"not XML", []byte("<html>maintenance</html"), 0, "not well-formed", nil},
		{"DOCTYPE", []byte(`<!DOCTYPE x [<!ENTITY a "b">]><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"/>`), 0, "DOCTYPE", nil},
		{"too large", append(bytes.Repeat([]byte(" "), 2<<20), good...), 0, "more than the", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newSourceFixture(t, good, func(c *saml.MetadataSourceConfig) {
				c.SigningCertificates = []*x509.Certificate{signer.cert}
				c.MaxSize = 1 << 20
			})
			require.NoError(t, f.source.Refresh(t.Context()))
			sp := f.sp(t)
			f.server.SetMetadata(tc.serve)
			f.server.Fail(tc.status)
			f.clock.Advance(time.Hour)
			err := f.source.Refresh(t.Context())
			require.ErrorContains(t, err, tc.want)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
			st := f.source.Status()
			assert.Equal(t, err, st.LastError)
			assert.Equal(t, 1, st.Failures)
			assert.Equal(t, f.clock.Now(), st.FailingSince)
			assert.Equal(t, testNow, st.LastSuccess)
			assert.Equal(t, []*x509.Certificate{old.Certificate}, st.IdP.Certificates, "the last good metadata is kept")
			assert.NoError(t, f.login(t, sp, old))
			assert.ErrorIs(t, f.login(t, sp, next), saml.ErrSignature)
			assert.Len(t, f.savedCopies(), 1, "nothing bad is stored")
		})
	}
}

// signRaw signs metadata bytes that already hold an ID and no signature.
func (s *metadataSigner) signRaw(t testing.TB, signed []byte) []byte {
	t.Helper()
	doc := string(signed)
	i := strings.Index(doc, "<ds:Signature")
	j := strings.Index(doc, "</ds:Signature>") + len("</ds:Signature>")
	id := attrValue(t, doc, "ID")
	doc = doc[:i] + signatureTemplate(id, samltest.RSASHA256) + doc[j:]
	in := filepath.Join(s.dir, "raw.xml")
	require.NoError(t, os.WriteFile(in, []byte(doc), 0o600))
	out, err := exec.Command(s.bin, "--sign", "--privkey-pem", s.key,
		"--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor",
		"--node-xpath", "/*/*[local-name()='Signature']", in).Output()
	require.NoError(t, err, "xmlsec1 --sign")
	return out
}

// TestMetadataSourceBackingCopy starts with the IdP unreachable: the
// host's backing copy serves, and the first good refresh replaces it.
func TestMetadataSourceBackingCopy(t *testing.T) {
	t.Parallel()
	signer := newMetadataSigner(t)
	old, next := rotatedIdP(t)
	stored := signer.sign(t, old, samltest.MetadataOptions{})
	f := newSourceFixture(t, nil, func(c *saml.MetadataSourceConfig) {
		c.SigningCertificates = []*x509.Certificate{signer.cert}
		c.BackingCopy = stored
	})
	f.server.Close() // down at start

	err := f.source.Refresh(t.Context())
	require.Error(t, err)
	sp := f.sp(t)
	assert.NoError(t, f.login(t, sp, old), "the backing copy serves")
	st := f.source.Status()
	assert.Equal(t, saml.OriginBackingCopy, st.Origin)
	assert.Equal(t, 1, st.Failures)
	assert.Equal(t, testNow.Add(saml.DefaultRetryInterval), st.NextRefresh.Round(saml.DefaultRetryInterval), "retried within a minute")
	assert.Empty(t, f.savedCopies(), "the backing copy is not stored back")

	// Up again, with a rollover under way.
	up := samltest.NewMetadataServer(signer.sign(t, old.Publishing(next.Certificate), samltest.MetadataOptions{}))
	defer up.Close()
	g := newSourceFixture(t, nil, func(c *saml.MetadataSourceConfig) {
		c.URL, c.HTTPClient = up.MetadataURL(), up.Client()
		c.SigningCertificates = []*x509.Certificate{signer.cert}
		c.BackingCopy = stored
	})
	sp = g.sp(t)
	assert.ErrorIs(t, g.login(t, sp, next), saml.ErrSignature)
	require.NoError(t, g.source.Refresh(t.Context()))
	assert.NoError(t, g.login(t, sp, next))
	assert.Equal(t, saml.OriginURL, g.source.Status().Origin)
	require.Len(t, g.savedCopies(), 1)

	// Without metadata from anywhere there is no service provider, and the
	// error says why.
	h := newSourceFixture(t, nil, nil)
	h.server.Close()
	require.Error(t, h.source.Refresh(t.Context()))
	_, err = saml.NewServiceProvider(saml.Config{EntityID: samltest.DefaultAudience, ACSURL: samltest.DefaultACSURL, MetadataSource: h.source})
	assert.ErrorContains(t, err, "holds no IdP metadata yet")

	// A backing copy that is not signed by the pinned signer is refused.
	k := newSourceFixture(t, nil, func(c *saml.MetadataSourceConfig) {
		c.SigningCertificates = []*x509.Certificate{signer.cert}
		c.BackingCopy = old.Metadata()
	})
	_, ok := k.source.IdentityProvider()
	assert.False(t, ok)
	assert.ErrorIs(t, k.source.Status().LastError, saml.ErrSignature)
}

// TestMetadataSourceDownUntilValidUntil keeps the last metadata while the
// IdP is unreachable, until its validUntil passes: logins then fail with
// CodeExpired, and work again after the next good refresh.
func TestMetadataSourceDownUntilValidUntil(t *testing.T) {
	t.Parallel()
	signer := newMetadataSigner(t)
	old, _ := rotatedIdP(t)
	f := newSourceFixture(t, signer.sign(t, old, samltest.MetadataOptions{ValidUntil: testNow.Add(4 * time.Hour)}), func(c *saml.MetadataSourceConfig) {
		c.SigningCertificates = []*x509.Certificate{signer.cert}
	})
	require.NoError(t, f.source.Refresh(t.Context()))
	sp := f.sp(t)
	next := f.source.Status().NextRefresh
	assert.WithinRange(t, next, testNow.Add(162*time.Minute), testNow.Add(3*time.Hour), "three quarters of the time left")

	f.server.Fail(http.StatusBadGateway)
	f.clock.Advance(3 * time.Hour)
	require.Error(t, f.source.Refresh(t.Context()))
	assert.NoError(t, f.login(t, sp, old), "still valid")

	f.clock.Advance(time.Hour)
	require.Error(t, f.source.Refresh(t.Context()))
	err := f.login(t, sp, old)
	require.ErrorIs(t, err, saml.ErrExpired)
	assert.ErrorContains(t, err, "validUntil")
	st := f.source.Status()
	assert.Equal(t, 2, st.Failures)
	assert.Equal(t, testNow.Add(3*time.Hour), st.FailingSince)

	f.server.SetMetadata(signer.sign(t, old, samltest.MetadataOptions{ValidUntil: f.clock.Now().Add(48 * time.Hour)}))
	f.server.Fail(0)
	require.NoError(t, f.source.Refresh(t.Context()))
	assert.NoError(t, f.login(t, sp, old))
}

func TestMetadataSourceSchedule(t *testing.T) {
	t.Parallel()
	idp, err := sharedIdP()
	require.NoError(t, err)
	md := func(opts samltest.MetadataOptions) []byte {
		b, err := idp.MetadataWith(opts)
		require.NoError(t, err)
		return b
	}
	for _, tc := range []struct {
		name     string
		opts     samltest.MetadataOptions
		from, to time.Duration
	}{
		{"nothing said: the maximum", samltest.MetadataOptions{}, saml.DefaultMaxRefreshInterval * 9 / 10, saml.DefaultMaxRefreshInterval},
		{"cacheDuration", samltest.MetadataOptions{CacheDuration: time.Hour}, 40 * time.Minute, 45 * time.Minute},
		{"long cacheDuration: the maximum", samltest.MetadataOptions{CacheDuration: 72 * time.Hour}, saml.DefaultMaxRefreshInterval * 9 / 10, saml.DefaultMaxRefreshInterval},
		{"short cacheDuration: the minimum", samltest.MetadataOptions{CacheDuration: time.Minute}, saml.DefaultMinRefreshInterval * 9 / 10, saml.DefaultMinRefreshInterval},
		{"validUntil sooner", samltest.MetadataOptions{CacheDuration: 3 * time.Hour, ValidUntil: testNow.Add(2 * time.Hour)}, 81 * time.Minute, 90 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newSourceFixture(t, md(tc.opts), nil)
			require.NoError(t, f.source.Refresh(t.Context()))
			assert.WithinRange(t, f.source.Status().NextRefresh, testNow.Add(tc.from), testNow.Add(tc.to))
		})
	}

	t.Run("backoff", func(t *testing.T) {
		t.Parallel()
		f := newSourceFixture(t, md(samltest.MetadataOptions{}), func(c *saml.MetadataSourceConfig) {
			c.RetryInterval = time.Minute
			c.MaxRefreshInterval = 10 * time.Minute
			c.MinRefreshInterval = time.Minute
		})
		require.NoError(t, f.source.Refresh(t.Context()))
		f.server.Fail(http.StatusInternalServerError)
		for _, want := range []time.Duration{1, 2, 4, 8, 10, 10} {
			now := f.clock.Now()
			require.Error(t, f.source.Refresh(t.Context()))
			assert.WithinRange(t, f.source.Status().NextRefresh, now.Add(want*time.Minute*9/10), now.Add(want*time.Minute))
			f.clock.Advance(time.Minute)
		}
		f.server.Fail(0)
		require.NoError(t, f.source.Refresh(t.Context()))
		st := f.source.Status()
		assert.Zero(t, st.Failures)
		assert.True(t, st.FailingSince.IsZero())
	})
}

// TestMetadataSourceRun runs the schedule on the fake clock: Run sleeps
// until each refresh, backs off while the server fails, and stops with
// its context.
func TestMetadataSourceRun(t *testing.T) {
	t.Parallel()
	idp, err := sharedIdP()
	require.NoError(t, err)
	md, err := idp.MetadataWith(samltest.MetadataOptions{CacheDuration: time.Hour})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	var f *sourceFixture
	var statuses []saml.MetadataStatus
	f = newSourceFixture(t, md, func(c *saml.MetadataSourceConfig) {
		c.OnRefresh = func(_ context.Context, st saml.MetadataStatus) {
			statuses = append(statuses, st)
			switch len(statuses) {
			case 2:
				f.server.Fail(http.StatusServiceUnavailable)
			case 4:
				f.server.Fail(0)
			case 6:
				cancel()
			}
		}
	})
	assert.ErrorIs(t, f.source.Run(ctx), context.Canceled)
	require.Len(t, statuses, 6)
	var failed []bool
	for _, st := range statuses {
		failed = append(failed, st.LastError != nil)
	}
	assert.Equal(t, []bool{false, false, true, true, false, false}, failed)
	sleeps := f.clock.Sleeps()
	require.Len(t, sleeps, 5)
	assert.InDelta(t, 42*time.Minute, sleeps[0], float64(3*time.Minute), "within the cacheDuration")
	assert.InDelta(t, time.Minute, sleeps[2], float64(6*time.Second), "retry after a minute")
	assert.InDelta(t, 2*time.Minute, sleeps[3], float64(12*time.Second), "then two")
	assert.Equal(t, 6, f.server.Requests())
}

// TestMetadataSourceConditionalGet revalidates with the ETag: an unchanged
// answer counts as a success and changes nothing.
func TestMetadataSourceConditionalGet(t *testing.T) {
	t.Parallel()
	idp, err := sharedIdP()
	require.NoError(t, err)
	f := newSourceFixture(t, idp.Metadata(), nil)
	require.NoError(t, f.source.Refresh(t.Context()))
	loaded := f.source.Status().LoadedAt
	f.clock.Advance(time.Hour)
	require.NoError(t, f.source.Refresh(t.Context()))
	st := f.source.Status()
	assert.Equal(t, loaded, st.LoadedAt, "304: the same metadata")
	assert.Equal(t, f.clock.Now(), st.LastSuccess)
	assert.Len(t, f.savedCopies(), 1)
}

func TestMetadataSourceURLRules(t *testing.T) {
	t.Parallel()
	idp, err := sharedIdP()
	require.NoError(t, err)
	for _, tc := range []struct {
		url       string
		allowHTTP bool
		want      string
	}{
		{"", false, "required"},
		{"http://idp.example.com/metadata", false, "must come over https"},
		{"http://idp.example.com/metadata", true, "must come over https"},
		{"http://127.0.0.1:1/metadata", false, "must come over https"},
		{"ftp://idp.example.com/metadata", false, "must be an https URL"},
		{"https://user:pw@idp.example.com/metadata", false, "credentials"},
		{"https:///metadata", false, "no host"},
	} {
		_, err := saml.NewMetadataSource(saml.MetadataSourceConfig{URL: tc.url, AllowHTTP: tc.allowHTTP})
		assert.ErrorContains(t, err, tc.want, tc.url)
	}
	_, err = saml.NewMetadataSource(saml.MetadataSourceConfig{URL: "https://idp.example.com/m", MinRefreshInterval: time.Hour, MaxRefreshInterval: time.Minute})
	assert.ErrorContains(t, err, "shorter than MinRefreshInterval")

	// Plain http on loopback, for tests, with AllowHTTP.
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(idp.Metadata()) }))
	defer plain.Close()
	src, err := saml.NewMetadataSource(saml.MetadataSourceConfig{URL: plain.URL, AllowHTTP: true})
	require.NoError(t, err)
	assert.NoError(t, src.Refresh(t.Context()))

	// An https URL that redirects to http is refused, even through a
	// client of the host's that follows the redirect.
	downgraded := httptest.NewTLSServer(http.RedirectHandler(plain.URL, http.StatusFound))
	defer downgraded.Close()
	src, err = saml.NewMetadataSource(saml.MetadataSourceConfig{URL: downgraded.URL, HTTPClient: downgraded.Client()})
	require.NoError(t, err)
	assert.ErrorContains(t, src.Refresh(t.Context()), "must come over https")
}

// TestMetadataSourceConcurrentVerify verifies logins while refreshes swap
// the metadata between the announce and the switch steps of a rollover:
// run with -race.
func TestMetadataSourceConcurrentVerify(t *testing.T) {
	t.Parallel()
	old, next := rotatedIdP(t)
	announce := old.Publishing(next.Certificate).Metadata()
	switched := next.Publishing(old.Certificate).Metadata()
	f := newSourceFixture(t, announce, nil)
	require.NoError(t, f.source.Refresh(t.Context()))
	sp := f.sp(t)
	var responses []string
	for i := range 40 {
		idp := old
		if i%2 == 1 {
			idp = next
		}
		r, err := idp.Response(samltest.ResponseSpec{Now: testNow, InResponseTo: testRequest})
		require.NoError(t, err)
		responses = append(responses, base64.StdEncoding.EncodeToString(r.XML))
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			f.server.SetMetadata([][]byte{announce, switched}[i%2])
			assert.NoError(t, f.source.Refresh(context.Background()))
		}
	}()
	var verifiers sync.WaitGroup
	for w := range 4 {
		verifiers.Add(1)
		go func() {
			defer verifiers.Done()
			for i := w; i < len(responses); i += 4 {
				_, err := sp.Verify(context.Background(), responses[i], testRequest)
				assert.NoError(t, err)
				_ = f.source.Status()
			}
		}()
	}
	verifiers.Wait()
	stop.Store(true)
	wg.Wait()
}
