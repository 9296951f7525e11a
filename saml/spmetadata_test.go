package saml_test

import (
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
