package samlsp_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/siteadmin/integrations"
	"github.com/siteadmin/integrations/mapping"
	"github.com/siteadmin/integrations/saml"
	"github.com/siteadmin/integrations/saml/samlsp"
	"github.com/siteadmin/integrations/saml/samltest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSettings(t *testing.T) {
	t.Parallel()
	idp, err := sharedIdP()
	require.NoError(t, err)
	kp, err := sharedSPKey()
	require.NoError(t, err)
	base := saml.Config{EntityID: samltest.DefaultAudience, ACSURL: samltest.DefaultACSURL, SLOURL: testSLOURL, Clock: samltest.FixedClock(testNow)}

	t.Run("disabled", func(t *testing.T) {
		assert.NoError(t, samlsp.Settings{}.Validate())
		_, err := samlsp.Settings{}.ServiceProvider(base)
		assert.Error(t, err)
	})
	t.Run("every problem at once", func(t *testing.T) {
		s := samlsp.Settings{
			Enabled: true, SSOURL: "ftp://x", SLOURL: "nope", IdPOldCertificate: "garbage",
			AuthnRequestsSigned: true, SPPrivateKey: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
			SignatureMethod: "MD5", DigestMethod: "sha256",
			TeamAttribute: "X", UsernameAttribute: "X",
		}
		err := s.Validate()
		require.Error(t, err)
		var fields []string
		for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
			var fe *samlsp.FieldError
			require.True(t, errors.As(e, &fe), "%v", e)
			fields = append(fields, fe.Field)
		}
		assert.ElementsMatch(t, []string{"idp-entity-id", "idp-certificate", "sso-url", "slo-url", "idp-old-certificate",
			"sp-certificate", "sp-private-key", "signature-method", "digest-method", "username-attribute"}, fields)
		assert.NotContains(t, err.Error(), "AAAA")
	})
	t.Run("from metadata", func(t *testing.T) {
		s := samlsp.Settings{Enabled: true, IdPMetadata: string(idp.Metadata()), Debug: true, TeamSync: true, TeamAttribute: "groups"}
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
	t.Run("encryption allowances and comma split", func(t *testing.T) {
		s := samlsp.Settings{Enabled: true, IdPMetadata: string(idp.Metadata()),
			AllowCBCInUnsignedResponse: true, AllowLegacyEncryption: true, TeamSync: true, NoCommaSplit: true}
		cfg, err := s.Config(base)
		require.NoError(t, err)
		assert.True(t, cfg.AllowCBCInUnsignedResponse)
		assert.True(t, cfg.AllowLegacyEncryption)
		assert.True(t, s.MappingConfig().NoCommaSplit)
		cfg, err = samlsp.Settings{Enabled: true, IdPMetadata: string(idp.Metadata())}.Config(base)
		require.NoError(t, err)
		assert.False(t, cfg.AllowCBCInUnsignedResponse, "off by default")
		assert.False(t, cfg.AllowLegacyEncryption, "off by default")
	})
	t.Run("by hand, signing, rotation", func(t *testing.T) {
		old, err := newTestIdP()
		require.NoError(t, err)
		s := samlsp.Settings{
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
		s := samlsp.Settings{
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
