package samltest

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/saml"
)

func TestMetadataWithSigned(t *testing.T) {
	t.Parallel()
	idp, err := New()
	require.NoError(t, err)
	signer, err := New(WithEntityID("https://federation.example.com/signer"))
	require.NoError(t, err)
	until := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	md, err := idp.MetadataWith(MetadataOptions{
		ValidUntil: until, CacheDuration: 90 * time.Minute,
		SigningKey: signer.Key, SigningCertificate: signer.Certificate,
	})
	require.NoError(t, err)

	got, err := saml.ParseSignedIdPMetadata(md, "", []*x509.Certificate{signer.Certificate}, false)
	require.NoError(t, err)
	assert.Equal(t, idp.EntityID, got.EntityID)
	assert.Equal(t, until, got.ValidUntil)
	assert.Equal(t, 90*time.Minute, got.CacheDuration)
	require.Len(t, got.Certificates, 1)
	assert.True(t, got.Certificates[0].Equal(idp.Certificate))

	// The IdP's own certificate is not the metadata signer's.
	_, err = saml.ParseSignedIdPMetadata(md, "", []*x509.Certificate{idp.Certificate}, false)
	assert.ErrorIs(t, err, saml.ErrSignature)
	// Unsigned metadata is refused when a signer is pinned.
	_, err = saml.ParseSignedIdPMetadata(idp.Metadata(), "", []*x509.Certificate{signer.Certificate}, false)
	assert.ErrorIs(t, err, saml.ErrSignature)
	// A changed SSO URL breaks the signature.
	tampered := bytes.Replace(md, []byte(DefaultSSOURL), []byte("https://evil.example.com/sso"), 1)
	require.NotEqual(t, md, tampered)
	_, err = saml.ParseSignedIdPMetadata(tampered, "", []*x509.Certificate{signer.Certificate}, false)
	assert.ErrorIs(t, err, saml.ErrSignature)

	_, err = idp.MetadataWith(MetadataOptions{SigningKey: signer.Key})
	assert.Error(t, err, "a key without its certificate")
	plain, err := idp.MetadataWith(MetadataOptions{})
	require.NoError(t, err)
	assert.Equal(t, idp.Metadata(), plain, "the zero options are Metadata")
}

func TestRotate(t *testing.T) {
	t.Parallel()
	idp, err := New(WithEntityID("https://idp.example.org"), WithSSOURL("https://idp.example.org/sso"))
	require.NoError(t, err)
	next, err := idp.Rotate()
	require.NoError(t, err)
	assert.Equal(t, idp.EntityID, next.EntityID)
	assert.Equal(t, idp.SSOURL, next.SSOURL)
	assert.False(t, next.Certificate.Equal(idp.Certificate))
	assert.False(t, samePublicKey(next.Key.Public(), idp.Key.Public()))

	announce := idp.Publishing(next.Certificate)
	assert.Empty(t, idp.ExtraCertificates, "idp itself is unchanged")
	for _, step := range []struct {
		name  string
		idp   *IdP
		certs []*x509.Certificate
	}{
		{"announce", announce, []*x509.Certificate{idp.Certificate, next.Certificate}},
		{"switched", next.Publishing(idp.Certificate), []*x509.Certificate{next.Certificate, idp.Certificate}},
		{"done", next, []*x509.Certificate{next.Certificate}},
	} {
		got, err := saml.ParseIdPMetadata(step.idp.Metadata(), "")
		require.NoError(t, err, step.name)
		assert.Equal(t, step.certs, got.Certificates, step.name)
		assert.Equal(t, step.certs, step.idp.IdentityProvider().Certificates, step.name)
	}
	// The announcing IdP still signs with the old key.
	resp, err := announce.Response(ResponseSpec{})
	require.NoError(t, err)
	assert.NoError(t, goxmldsigValidate(idp.Certificate, assertionOf(t, parse(t, resp.XML)), 0))
}

func TestMetadataServer(t *testing.T) {
	t.Parallel()
	s := NewMetadataServer([]byte("<one/>"))
	defer s.Close()
	c := s.Client()
	get := func(etag string) (*http.Response, string) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.MetadataURL(), nil)
		require.NoError(t, err)
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		resp, err := c.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var b bytes.Buffer
		_, err = b.ReadFrom(resp.Body)
		require.NoError(t, err)
		return resp, b.String()
	}
	resp, body := get("")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "<one/>", body)
	etag := resp.Header.Get("ETag")
	require.NotEmpty(t, etag)
	resp, _ = get(etag)
	assert.Equal(t, http.StatusNotModified, resp.StatusCode)

	s.SetMetadata([]byte("<two/>"))
	resp, body = get(etag)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "a changed metadata has a new ETag")
	assert.Equal(t, "<two/>", body)

	s.Fail(http.StatusServiceUnavailable)
	resp, _ = get("")
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	s.Fail(0)
	resp, _ = get("")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, 5, s.Requests())
}

// TestSignedMetadataXMLSec1 has xmlsec1 verify the signed metadata.
func TestSignedMetadataXMLSec1(t *testing.T) {
	t.Parallel()
	xmlsec1, err := exec.LookPath("xmlsec1")
	if err != nil {
		t.Skip("xmlsec1 is not installed")
	}
	idp, err := New()
	require.NoError(t, err)
	signer, err := New()
	require.NoError(t, err)
	md, err := idp.MetadataWith(MetadataOptions{SigningKey: signer.Key, SigningCertificate: signer.Certificate})
	require.NoError(t, err)
	dir := t.TempDir()
	certFile := filepath.Join(dir, "signer.crt")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: signer.Certificate.Raw}), 0o600))
	verify := func(doc []byte) (string, error) {
		file := filepath.Join(dir, "md.xml")
		require.NoError(t, os.WriteFile(file, doc, 0o600))
		out, err := exec.Command(xmlsec1, "--verify", "--pubkey-cert-pem", certFile, "--enabled-key-data", "rsa",
			"--enabled-reference-uris", "same-doc", "--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor", file).CombinedOutput()
		return string(out), err
	}
	out, err := verify(md)
	assert.NoError(t, err, out)
	_, err = verify(bytes.Replace(md, []byte(DefaultSSOURL), []byte("https://evil.example.com/sso"), 1))
	assert.Error(t, err, "tampered")
}
