package saml_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
