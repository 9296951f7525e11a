package saml_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations"
	"github.com/siteadmin/integrations/mapping"
	"github.com/siteadmin/integrations/saml"
	"github.com/siteadmin/integrations/saml/samltest"
)

func TestMetadataRoundTrip(t *testing.T) {
	t.Parallel()
	key, cert := rsaSigner(t)
	enc, err := sharedSPKey()
	require.NoError(t, err)
	h := signingSP(t, key, cert, func(c *saml.Config) {
		c.WantAssertionsSigned = true
		c.DecryptionKeys = append(c.DecryptionKeys, enc.key)
		c.EncryptionCertificate = enc.cert
	})
	until := testNow.Add(48 * time.Hour)
	data, err := h.sp.Metadata(saml.MetadataOptions{
		ValidUntil: until, CacheDuration: 90 * time.Minute,
		NameIDFormats: []string{samltest.NameIDFormatEmail, samltest.NameIDFormatPersistent},
	})
	require.NoError(t, err)
	md, err := samltest.ParseSPMetadata(data)
	require.NoError(t, err)
	assert.Equal(t, samltest.DefaultAudience, md.EntityID)
	assert.Equal(t, []saml.Endpoint{{Binding: saml.BindingHTTPPOST, Location: samltest.DefaultACSURL}}, md.ACS)
	assert.Equal(t, []saml.Endpoint{
		{Binding: saml.BindingHTTPRedirect, Location: testSLOURL},
		{Binding: saml.BindingHTTPPOST, Location: testSLOURL},
	}, md.SLO)
	require.Len(t, md.SigningCertificates, 1)
	assert.True(t, md.SigningCertificates[0].Equal(cert))
	require.Len(t, md.EncryptionCertificates, 1)
	assert.True(t, md.EncryptionCertificates[0].Equal(enc.cert))
	assert.True(t, md.AuthnRequestsSigned)
	assert.True(t, md.WantAssertionsSigned)
	assert.Equal(t, []string{samltest.NameIDFormatEmail, samltest.NameIDFormatPersistent}, md.NameIDFormats)
	assert.Equal(t, until, md.ValidUntil)
	assert.Equal(t, "PT1H30M", md.CacheDuration)

	// An SP's metadata is not an IdP's.
	_, err = saml.ParseIdPMetadata(data, "")
	assert.ErrorContains(t, err, "IDPSSODescriptor")
}

func TestMetadataMinimal(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	data, err := h.sp.Metadata(saml.MetadataOptions{})
	require.NoError(t, err)
	md, err := samltest.ParseSPMetadata(data)
	require.NoError(t, err)
	assert.False(t, md.AuthnRequestsSigned)
	assert.False(t, md.WantAssertionsSigned)
	assert.Empty(t, md.SLO)
	assert.Empty(t, md.SigningCertificates)
	assert.True(t, md.ValidUntil.IsZero())
	assert.Empty(t, md.CacheDuration)
	assert.NotContains(t, string(data), "validUntil")
}

func TestMetadataRefusesOtherSchemes(t *testing.T) {
	t.Parallel()
	for _, acs := range []string{"ftp://sp.example.com/acs", "/saml/acs", "javascript:alert(1)", "https://user:pw@sp.example.com/acs"} {
		t.Run(acs, func(t *testing.T) {
			h := newHarness(t, func(c *saml.Config) { c.ACSURL = acs })
			_, err := h.sp.Metadata(saml.MetadataOptions{})
			assert.Error(t, err)
		})
	}
	h := newHarness(t)
	_, err := h.sp.Metadata(saml.MetadataOptions{CacheDuration: -time.Second})
	assert.Error(t, err)
}

func TestSafeRedirect(t *testing.T) {
	t.Parallel()
	allowed := []string{"https://app.example.com", "http://localhost:8080", "https://[2001:db8::1]"}
	const fb = "/home"
	cases := []struct{ in, want string }{
		{"/orgs/acme?tab=teams#x", "/orgs/acme?tab=teams#x"},
		{"/", "/"},
		{"https://app.example.com/x", "https://app.example.com/x"},
		{"HTTPS://APP.EXAMPLE.COM:443/x", "HTTPS://APP.EXAMPLE.COM:443/x"},
		{"http://localhost:8080/", "http://localhost:8080/"},
		{"https://[2001:db8::1]/a", "https://[2001:db8::1]/a"},
		{"", fb},
		{"//evil.com", fb},
		{"///evil.com", fb},
		{"/\\evil.com", fb},
		{"\\\\evil.com", fb},
		{"/\t/evil.com", fb},
		{"/\n/evil.com", fb},
		{" /x", fb},
		{"https://evil.com", fb},
		{"https://app.example.com.evil.com/", fb},
		{"https://app.example.com@evil.com/", fb},
		{"https://evil.com\\@app.example.com/", fb},
		{"http://app.example.com/", fb},
		{"https://app.example.com:8443/", fb},
		{"http://localhost/", fb},
		{"javascript:alert(1)", fb},
		{"data:text/html,hi", fb},
		{"relative/path", fb},
		{"evil.com", fb},
		{"https:evil.com", fb},
		{"/%0d%0aSet-Cookie:x", "/%0d%0aSet-Cookie:x"},
		{"/é", fb},
		{"/" + strings.Repeat("a", 3000), fb},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, saml.SafeRedirect(tc.in, allowed, fb), "SafeRedirect(%q)", tc.in)
	}
}

func TestSettings(t *testing.T) {
	t.Parallel()
	idp, err := sharedIdP()
	require.NoError(t, err)
	kp, err := sharedSPKey()
	require.NoError(t, err)
	base := saml.Config{EntityID: samltest.DefaultAudience, ACSURL: samltest.DefaultACSURL, SLOURL: testSLOURL, Clock: samltest.FixedClock(testNow)}

	t.Run("disabled", func(t *testing.T) {
		assert.NoError(t, saml.Settings{}.Validate())
		_, err := saml.Settings{}.ServiceProvider(base)
		assert.Error(t, err)
	})
	t.Run("every problem at once", func(t *testing.T) {
		s := saml.Settings{
			Enabled: true, SSOURL: "ftp://x", SLOURL: "nope", IdPOldCertificate: "garbage",
			AuthnRequestsSigned: true, SPPrivateKey: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
			SignatureMethod: "MD5", DigestMethod: "sha256",
			TeamAttribute: "X", UsernameAttribute: "X",
		}
		err := s.Validate()
		require.Error(t, err)
		var fields []string
		for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
			var fe *saml.FieldError
			require.True(t, errors.As(e, &fe), "%v", e)
			fields = append(fields, fe.Field)
		}
		assert.ElementsMatch(t, []string{"idp-entity-id", "idp-certificate", "sso-url", "slo-url", "idp-old-certificate",
			"sp-certificate", "sp-private-key", "signature-method", "digest-method", "username-attribute"}, fields)
		assert.NotContains(t, err.Error(), "AAAA")
	})
	t.Run("from metadata", func(t *testing.T) {
		s := saml.Settings{Enabled: true, IdPMetadata: string(idp.Metadata()), Debug: true, TeamSync: true, TeamAttribute: "groups"}
		sp, err := s.ServiceProvider(base)
		require.NoError(t, err)
		cfg := sp.Config()
		assert.Equal(t, idp.EntityID, cfg.IdP.EntityID)
		assert.True(t, cfg.Debug)
		assert.False(t, cfg.AllowSHA1)
		assert.Nil(t, cfg.SigningKey)
		assert.Equal(t, mapping.Config{TeamSync: true, TeamAttribute: "groups"}, s.MappingConfig())
		resp, err := idp.Response(samltest.ResponseSpec{Now: testNow, InResponseTo: "_r"})
		require.NoError(t, err)
		_, err = sp.Verify(context.Background(), resp.Base64(), "_r")
		assert.NoError(t, err)
	})
	t.Run("by hand, signing, rotation", func(t *testing.T) {
		old, err := newTestIdP()
		require.NoError(t, err)
		s := saml.Settings{
			Enabled: true, IdPEntityID: idp.EntityID, SSOURL: idp.SSOURL, SLOURL: idp.SLOURL,
			IdPCertificate: pemCert(idp.Certificate.Raw), IdPOldCertificate: pemCert(old.Certificate.Raw),
			AuthnRequestsSigned: true, SPCertificate: pemCert(kp.cert.Raw), SPPrivateKey: integrations.Secret(pemKey(t, kp.key)),
			SignatureMethod: "SHA1", DigestMethod: "SHA512", WantAssertionsSigned: true, AllowIdPInitiated: true,
		}
		require.NoError(t, s.Validate())
		sp, err := s.ServiceProvider(base)
		require.NoError(t, err)
		cfg := sp.Config()
		assert.Len(t, cfg.IdP.Certificates, 2)
		assert.True(t, cfg.AllowSHA1)
		assert.True(t, cfg.AllowIdPInitiated)
		assert.True(t, cfg.WantAssertionsSigned)
		assert.Equal(t, samltest.RSASHA1, cfg.SignatureMethod)
		assert.Equal(t, samltest.DigestSHA512, cfg.DigestMethod)
		m, err := sp.AuthnRequest(saml.AuthnRequestOptions{})
		require.NoError(t, err)
		got, err := idp.ReadRequest(httptest.NewRequest(http.MethodGet, m.URL, nil), kp.cert)
		require.NoError(t, err)
		assert.Equal(t, samltest.RSASHA1, got.SigAlg)

		// The private key never prints.
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q"} {
			assert.NotContains(t, fmt.Sprintf(verb, s), "PRIVATE KEY", verb)
		}
	})
	t.Run("decryption keys", func(t *testing.T) {
		next, err := newSPKeyPair()
		require.NoError(t, err)
		s := saml.Settings{
			Enabled: true, IdPMetadata: string(idp.Metadata()),
			SPEncryptionCertificate: pemCert(next.cert.Raw),
			SPDecryptionKeys:        integrations.Secret(pemKey(t, next.key) + pemKey(t, kp.key)),
		}
		sp, err := s.ServiceProvider(base)
		require.NoError(t, err)
		cfg := sp.Config()
		require.Len(t, cfg.DecryptionKeys, 2)
		assert.True(t, cfg.EncryptionCertificate.Equal(next.cert))
		for _, old := range []spKeyPair{next, kp} { // the current key and the one rotated out
			resp, err := idp.Response(samltest.ResponseSpec{Now: testNow, InResponseTo: "_r", Sign: samltest.SignBoth,
				Encrypt: &samltest.Encryption{Certificate: old.cert}})
			require.NoError(t, err)
			_, err = sp.Verify(context.Background(), resp.Base64(), "_r")
			assert.NoError(t, err)
		}
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			assert.NotContains(t, fmt.Sprintf(verb, s), "PRIVATE KEY", verb)
		}

		s.SPDecryptionKeys = integrations.Secret(pemKey(t, kp.key)) // not the certificate's key
		assert.ErrorContains(t, s.Validate(), "sp-encryption-certificate")
		s.SPDecryptionKeys = ""
		assert.ErrorContains(t, s.Validate(), "sp-decryption-keys")
		s.SPDecryptionKeys, s.SPEncryptionCertificate = "garbage", ""
		assert.ErrorContains(t, s.Validate(), "sp-decryption-keys")
	})
}

func pemCert(der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func pemKey(t testing.TB, key any) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// TestMetadataEncryptionMethods checks the EncryptionMethods the SP
// metadata lists for its encryption certificate (left from issue 6): by
// default RSA-OAEP and AES-GCM then AES-CBC, the legacy RSA PKCS#1 v1.5
// and Triple DES only when allowed, and that the SP decrypts every pair
// it lists, which is what an IdP reading the metadata relies on.
func TestMetadataEncryptionMethods(t *testing.T) {
	t.Parallel()
	defaults := []string{
		samltest.RSAOAEP, samltest.RSAOAEPMGF1P,
		samltest.AES256GCM, samltest.AES192GCM, samltest.AES128GCM,
		samltest.AES256CBC, samltest.AES192CBC, samltest.AES128CBC,
	}
	for _, legacy := range []bool{false, true} {
		t.Run(fmt.Sprintf("legacy=%v", legacy), func(t *testing.T) {
			t.Parallel()
			h, kp := encHarness(t, func(c *saml.Config) {
				c.AllowLegacyEncryption = legacy
				c.ReplayCache = forgetfulCache{}
			})
			data, err := h.sp.Metadata(saml.MetadataOptions{})
			require.NoError(t, err)
			md, err := samltest.ParseSPMetadata(data)
			require.NoError(t, err)
			want := defaults
			if legacy {
				want = append(append([]string{}, defaults...), samltest.RSA15, samltest.TripleDESCBC)
			}
			require.Equal(t, want, md.EncryptionMethods)

			var transports, ciphers []string
			for _, m := range md.EncryptionMethods {
				if strings.Contains(m, "#rsa-") {
					transports = append(transports, m)
				} else {
					ciphers = append(ciphers, m)
				}
			}
			for _, transport := range transports {
				for _, cipher := range ciphers {
					e := samltest.Encryption{Certificate: kp.cert, KeyTransport: transport, Content: cipher}
					_, err := h.verify(t, h.xml(t, encrypted(kp, e, samltest.SignResponse)))
					assert.NoError(t, err, "%s with %s is listed, so it must be decrypted", transport, cipher)
				}
			}
		})
	}

	t.Run("no encryption certificate", func(t *testing.T) {
		t.Parallel()
		data, err := newHarness(t).sp.Metadata(saml.MetadataOptions{})
		require.NoError(t, err)
		assert.NotContains(t, string(data), "EncryptionMethod")
	})
}
