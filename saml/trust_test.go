package saml_test

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/saml"
	"github.com/siteadmin/integrations/saml/samltest"
)

// rotatedIdP returns the shared IdP after a key rollover: same entity ID,
// a new key and certificate valid at testNow.
func rotatedIdP(t testing.TB) (old, next *samltest.IdP) {
	t.Helper()
	old, err := sharedIdP()
	require.NoError(t, err)
	next, err = old.Rotate(samltest.WithCertificateValidity(testNow.AddDate(0, 0, -1), testNow.AddDate(3, 0, 0)))
	require.NoError(t, err)
	return old, next
}

// signedBy returns a fresh response signed by idp, for h's SP.
func signedBy(t testing.TB, idp *samltest.IdP) string {
	t.Helper()
	r, err := idp.Response(samltest.ResponseSpec{Now: testNow, InResponseTo: testRequest})
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(r.XML)
}

func TestSetIdentityProviderRollover(t *testing.T) {
	t.Parallel()
	old, next := rotatedIdP(t)
	h := newHarnessFor(t, old)
	verify := func(idp *samltest.IdP) error {
		_, err := h.sp.Verify(t.Context(), signedBy(t, idp), testRequest)
		return err
	}
	require.NoError(t, verify(old))
	assert.ErrorIs(t, verify(next), saml.ErrSignature, "the new key is not trusted yet")

	// The IdP announces its next certificate: both verify.
	require.NoError(t, h.sp.SetIdentityProvider(old.Publishing(next.Certificate).IdentityProvider()))
	assert.NoError(t, verify(old))
	assert.NoError(t, verify(next))
	assert.Len(t, h.sp.Config().IdP.Certificates, 2, "Config shows the IdP in use")

	// The old certificate is dropped: it no longer verifies.
	require.NoError(t, h.sp.SetIdentityProvider(next.IdentityProvider()))
	assert.ErrorIs(t, verify(old), saml.ErrSignature)
	assert.NoError(t, verify(next))
	assert.Equal(t, []*x509.Certificate{next.Certificate}, h.sp.IdentityProvider().Certificates)
}

func TestSetIdentityProviderRefusals(t *testing.T) {
	t.Parallel()
	old, next := rotatedIdP(t)
	other, err := newTestIdP(samltest.WithEntityID("https://other.example.com/idp"))
	require.NoError(t, err)
	noCerts := next.IdentityProvider()
	noCerts.Certificates = nil
	nilCert := next.IdentityProvider()
	nilCert.Certificates = []*x509.Certificate{nil}
	for _, tc := range []struct {
		name string
		idp  saml.IdentityProvider
		want string
	}{
		{"entity ID change", other.IdentityProvider(), "entity ID changed"},
		{"no certificate", noCerts, "at least one IdP signing certificate"},
		{"nil certificate", nilCert, "is nil"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarnessFor(t, old)
			err := h.sp.SetIdentityProvider(tc.idp)
			require.ErrorContains(t, err, tc.want)
			if tc.name == "entity ID change" {
				assert.ErrorIs(t, err, saml.ErrEntityIDChanged)
			}
			_, err = h.sp.Verify(t.Context(), signedBy(t, old), testRequest)
			assert.NoError(t, err, "the IdP in use is kept")
		})
	}
}

// TestSetIdentityProviderCopies checks that the caller's slices are not
// shared with the configuration in use.
func TestSetIdentityProviderCopies(t *testing.T) {
	t.Parallel()
	old, next := rotatedIdP(t)
	h := newHarnessFor(t, old)
	idp := old.Publishing(next.Certificate).IdentityProvider()
	require.NoError(t, h.sp.SetIdentityProvider(idp))
	idp.Certificates[1] = old.Certificate
	_, err := h.sp.Verify(t.Context(), signedBy(t, next), testRequest)
	assert.NoError(t, err)
}

// TestConcurrentVerifyDuringSwaps swaps the IdP back and forth while
// responses signed with the certificate every configuration keeps are
// verified: under -race this finds unsynchronized reads, and a Verify that
// saw half a configuration would fail.
func TestConcurrentVerifyDuringSwaps(t *testing.T) {
	t.Parallel()
	old, next := rotatedIdP(t)
	h := newHarnessFor(t, old, func(c *saml.Config) { c.Debug = false })
	const workers, each = 4, 25
	responses := make([][]string, workers)
	for w := range responses {
		for range each {
			responses[w] = append(responses[w], signedBy(t, old))
		}
	}
	both := old.Publishing(next.Certificate).IdentityProvider()
	only := old.IdentityProvider()
	var stop atomic.Bool
	var swaps atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			idp := only
			if i%2 == 0 {
				idp = both
			}
			assert.NoError(t, h.sp.SetIdentityProvider(idp))
			swaps.Add(1)
		}
	}()
	var verifiers sync.WaitGroup
	for w := range workers {
		verifiers.Add(1)
		go func() {
			defer verifiers.Done()
			for _, r := range responses[w] {
				_, err := h.sp.Verify(t.Context(), r, testRequest)
				assert.NoError(t, err)
				_, err = h.sp.AuthnRequest(saml.AuthnRequestOptions{})
				assert.NoError(t, err)
			}
		}()
	}
	verifiers.Wait()
	stop.Store(true)
	wg.Wait()
	assert.Positive(t, swaps.Load())
}

func TestParseIdPMetadataByteOrderMark(t *testing.T) {
	t.Parallel()
	idp, err := sharedIdP()
	require.NoError(t, err)
	// Microsoft Entra ID's per-application metadata URL serves this.
	withBOM := append([]byte("\xef\xbb\xbf"), idp.Metadata()...)
	got, err := saml.ParseIdPMetadata(withBOM, "")
	require.NoError(t, err)
	assert.Equal(t, idp.EntityID, got.EntityID)
	// Only one, only first.
	_, err = saml.ParseIdPMetadata(append([]byte("\xef\xbb\xbf"), withBOM...), "")
	assert.ErrorContains(t, err, "text outside the root element")
	_, err = saml.ParseIdPMetadata(append(append([]byte{}, idp.Metadata()...), "\xef\xbb\xbf"...), "")
	assert.ErrorContains(t, err, "text outside the root element")
}

func TestParseIdPMetadataCacheDuration(t *testing.T) {
	t.Parallel()
	idp, err := sharedIdP()
	require.NoError(t, err)
	md, err := idp.MetadataWith(samltest.MetadataOptions{CacheDuration: 150 * 60e9})
	require.NoError(t, err)
	got, err := saml.ParseIdPMetadata(md, "")
	require.NoError(t, err)
	assert.Equal(t, "2h30m0s", got.CacheDuration.String())

	// The shortest on the way wins: the aggregate's here.
	for _, tc := range []struct{ attr, want string }{
		{`cacheDuration="PT1H"`, "1h0m0s"},
		{`cacheDuration="P1D"`, "2h30m0s"},
		{`cacheDuration="P1Y2M3DT4H5M6.5S"`, "10300h5m6.5s"},
		{`cacheDuration="PT0.25S"`, "250ms"},
		{``, "2h30m0s"},
	} {
		agg := `<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" ` + tc.attr + `>` +
			string(md[len(`<?xml version="1.0" encoding="UTF-8"?>`):]) + `</md:EntitiesDescriptor>`
		got, err := saml.ParseIdPMetadata([]byte(agg), "")
		require.NoError(t, err, tc.attr)
		if tc.attr == `cacheDuration="P1Y2M3DT4H5M6.5S"` {
			assert.Equal(t, "2h30m0s", got.CacheDuration.String(), "the entity's is shorter")
			continue
		}
		assert.Equal(t, tc.want, got.CacheDuration.String(), tc.attr)
	}
	for _, bad := range []string{"1H", "P", "PT", "-PT1H", "P1H", "PT1D", "PT1M1H", "P1.5D", "PT.5S", "PT5.S", "PTH", "P1DT"} {
		agg := `<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" cacheDuration="` + bad + `">` +
			string(md[len(`<?xml version="1.0" encoding="UTF-8"?>`):]) + `</md:EntitiesDescriptor>`
		_, err := saml.ParseIdPMetadata([]byte(agg), "")
		assert.ErrorContains(t, err, "cacheDuration", bad)
	}
}

// TestSPKeyRollover publishes the next SP certificates ahead of a switch
// and decrypts what the IdP encrypts to either one.
func TestSPKeyRollover(t *testing.T) {
	t.Parallel()
	cur, err := sharedSPKey()
	require.NoError(t, err)
	next, err := newSPKeyPair()
	require.NoError(t, err)
	h := newHarness(t, func(c *saml.Config) {
		c.SigningKey, c.SigningCertificate, c.NextSigningCertificate = cur.key, cur.cert, next.cert
		c.DecryptionKeys = []*rsa.PrivateKey{cur.key, next.key}
		c.EncryptionCertificate, c.NextEncryptionCertificate = cur.cert, next.cert
	})
	data, err := h.sp.Metadata(saml.MetadataOptions{})
	require.NoError(t, err)
	md, err := samltest.ParseSPMetadata(data)
	require.NoError(t, err)
	assert.Equal(t, []*x509.Certificate{cur.cert, next.cert}, md.SigningCertificates)
	assert.Equal(t, []*x509.Certificate{cur.cert, next.cert}, md.EncryptionCertificates)

	for _, cert := range []*x509.Certificate{cur.cert, next.cert} {
		xml := h.xml(t, func(s *samltest.ResponseSpec) {
			s.Encrypt = &samltest.Encryption{Certificate: cert, Content: samltest.AES256GCM}
		})
		_, err := h.verify(t, xml)
		assert.NoError(t, err)
	}
	// Requests are still signed with the current key.
	m, err := h.sp.AuthnRequest(saml.AuthnRequestOptions{})
	require.NoError(t, err)
	_, err = h.idp.ReadRequest(deliver(t, m), cur.cert)
	assert.NoError(t, err)
	_, err = h.idp.ReadRequest(deliver(t, m), next.cert)
	assert.Error(t, err, "not signed with the next key yet")
}

func TestNextCertificateValidation(t *testing.T) {
	t.Parallel()
	cur, err := sharedSPKey()
	require.NoError(t, err)
	next, err := newSPKeyPair()
	require.NoError(t, err)
	idp, err := sharedIdP()
	require.NoError(t, err)
	base := saml.Config{EntityID: samltest.DefaultAudience, ACSURL: samltest.DefaultACSURL, IdP: idp.IdentityProvider()}
	for _, tc := range []struct {
		name string
		mod  func(*saml.Config)
		want string
	}{
		{"next signing without current", func(c *saml.Config) { c.NextSigningCertificate = next.cert }, "NextSigningCertificate"},
		{"next encryption without its key", func(c *saml.Config) {
			c.DecryptionKeys, c.EncryptionCertificate, c.NextEncryptionCertificate = []*rsa.PrivateKey{cur.key}, cur.cert, next.cert
		}, "holds none of DecryptionKeys"},
		{"next encryption without current", func(c *saml.Config) {
			c.DecryptionKeys, c.NextEncryptionCertificate = []*rsa.PrivateKey{cur.key, next.key}, next.cert
		}, "EncryptionCertificate is not"},
	} {
		cfg := base
		tc.mod(&cfg)
		_, err := saml.NewServiceProvider(cfg)
		assert.ErrorContains(t, err, tc.want, tc.name)
	}
}
