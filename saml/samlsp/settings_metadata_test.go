package samlsp_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/saml"
	"github.com/siteadmin/integrations/saml/samlsp"
	"github.com/siteadmin/integrations/saml/samltest"
)

// TestSettingsMetadataURL builds the IdP from a metadata URL with a
// metadata-signing certificate, stores the backing copy back into the
// settings, and follows a rollover.
func TestSettingsMetadataURL(t *testing.T) {
	t.Parallel()
	idp, err := sharedIdP()
	require.NoError(t, err)
	next, err := idp.Rotate()
	require.NoError(t, err)
	signer, err := newTestIdP()
	require.NoError(t, err)
	sign := func(i *samltest.IdP) []byte {
		md, err := i.MetadataWith(samltest.MetadataOptions{SigningKey: signer.Key, SigningCertificate: signer.Certificate})
		require.NoError(t, err)
		return md
	}
	server := samltest.NewMetadataServer(sign(idp))
	defer server.Close()

	s := samlsp.Settings{
		Enabled: true, IdPMetadataURL: server.MetadataURL(),
		IdPMetadataSigningCertificate: pemCert(signer.Certificate.Raw),
	}
	require.NoError(t, s.Validate())
	var mu sync.Mutex
	base := saml.MetadataSourceConfig{
		HTTPClient: server.Client(),
		SaveBackingCopy: func(_ context.Context, md []byte) error {
			mu.Lock()
			defer mu.Unlock()
			s.IdPMetadata = string(md) // the host stores it with its settings
			return nil
		},
	}
	srcCfg, err := s.MetadataSourceConfig(base)
	require.NoError(t, err)
	assert.False(t, srcCfg.AllowHTTP)
	assert.Len(t, srcCfg.SigningCertificates, 1)
	src, err := saml.NewMetadataSource(srcCfg)
	require.NoError(t, err)
	require.NoError(t, src.Refresh(t.Context()))

	spBase := saml.Config{EntityID: samltest.DefaultAudience, ACSURL: samltest.DefaultACSURL, Clock: samltest.FixedClock(testNow)}
	_, err = s.ServiceProvider(spBase)
	assert.ErrorContains(t, err, "MetadataSource", "the source must be passed")
	spBase.MetadataSource = src
	sp, err := s.ServiceProvider(spBase)
	require.NoError(t, err)
	login := func(i *samltest.IdP) error {
		resp, err := i.Response(samltest.ResponseSpec{Now: testNow, InResponseTo: "_r"})
		require.NoError(t, err)
		_, err = sp.Verify(t.Context(), resp.Base64(), "_r")
		return err
	}
	require.NoError(t, login(idp))
	rolled := sign(next)
	server.SetMetadata(rolled)
	require.NoError(t, src.Refresh(t.Context()))
	assert.NoError(t, login(next))
	assert.ErrorIs(t, login(idp), saml.ErrSignature)

	// The stored copy is the signed metadata, and it validates.
	mu.Lock()
	stored := s
	mu.Unlock()
	assert.Equal(t, string(rolled), stored.IdPMetadata)
	assert.NoError(t, stored.Validate())
	// After a restart with the IdP down, the stored copy serves.
	server.Close()
	srcCfg, err = stored.MetadataSourceConfig(saml.MetadataSourceConfig{})
	require.NoError(t, err)
	src, err = saml.NewMetadataSource(srcCfg)
	require.NoError(t, err)
	got, ok := src.IdentityProvider()
	require.True(t, ok)
	assert.True(t, got.Certificates[0].Equal(next.Certificate))
}

func TestSettingsMetadataURLValidation(t *testing.T) {
	t.Parallel()
	idp, err := sharedIdP()
	require.NoError(t, err)
	signer, err := newTestIdP()
	require.NoError(t, err)
	fields := func(err error) []string {
		var out []string
		for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
			var fe *samlsp.FieldError
			require.True(t, errors.As(e, &fe), "%v", e)
			out = append(out, fe.Field)
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		s      samlsp.Settings
		fields []string
	}{
		{"http URL", samlsp.Settings{IdPMetadataURL: "http://idp.example.com/metadata"}, []string{"idp-metadata-url"}},
		{"not a URL", samlsp.Settings{IdPMetadataURL: "idp.example.com/metadata"}, []string{"idp-metadata-url"}},
		{"bad signing certificate", samlsp.Settings{IdPMetadataURL: "https://idp.example.com/md", IdPMetadataSigningCertificate: "nope"}, []string{"idp-metadata-signing-certificate"}},
		{"unsigned stored copy", samlsp.Settings{IdPMetadataURL: "https://idp.example.com/md", IdPMetadata: string(idp.Metadata()),
			IdPMetadataSigningCertificate: pemCert(signer.Certificate.Raw)}, []string{"idp-metadata"}},
		{"signing certificate without metadata", samlsp.Settings{IdPEntityID: "x", SSOURL: "https://idp.example.com/sso", IdPCertificate: pemCert(idp.Certificate.Raw),
			IdPMetadataSigningCertificate: pemCert(signer.Certificate.Raw)}, []string{"idp-metadata-signing-certificate"}},
		{"unsigned pasted metadata", samlsp.Settings{IdPMetadata: string(idp.Metadata()), IdPMetadataSigningCertificate: pemCert(signer.Certificate.Raw)}, []string{"idp-metadata"}},
	} {
		tc.s.Enabled = true
		err := tc.s.Validate()
		require.Error(t, err, tc.name)
		assert.Equal(t, tc.fields, fields(err), tc.name)
	}
	// A URL needs nothing else; http is fine on loopback.
	for _, u := range []string{"https://idp.example.com/md", "http://127.0.0.1:8000/idp/metadata", "http://localhost/md"} {
		s := samlsp.Settings{Enabled: true, IdPMetadataURL: u}
		assert.NoError(t, s.Validate(), u)
		cfg, err := s.MetadataSourceConfig(saml.MetadataSourceConfig{})
		require.NoError(t, err)
		assert.Equal(t, u != "https://idp.example.com/md", cfg.AllowHTTP, u)
	}
	_, err = samlsp.Settings{Enabled: true}.MetadataSourceConfig(saml.MetadataSourceConfig{})
	assert.ErrorContains(t, err, "idp-metadata-url")
	// Signed pasted metadata verifies.
	md, err := idp.MetadataWith(samltest.MetadataOptions{SigningKey: signer.Key, SigningCertificate: signer.Certificate})
	require.NoError(t, err)
	s := samlsp.Settings{Enabled: true, IdPMetadata: string(md), IdPMetadataSigningCertificate: pemCert(signer.Certificate.Raw)}
	assert.NoError(t, s.Validate())
}
