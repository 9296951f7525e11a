package main

import (
	"encoding/pem"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/saml/samltest"
)

// metadataFixture serves the fixture IdP's metadata, signed by a
// metadata-signing key of its own, over HTTPS.
type metadataFixture struct {
	*fixture
	server     *samltest.MetadataServer
	signer     *samltest.IdP
	signerCert string // PEM file
	ca         string // PEM file: the server's certificate
}

func newMetadataFixture(t *testing.T) *metadataFixture {
	t.Helper()
	f := &metadataFixture{fixture: newFixture(t)}
	var err error
	f.signer, err = samltest.New(samltest.WithEntityID("https://federation.example.com/signer"))
	require.NoError(t, err)
	md, err := f.idp.MetadataWith(samltest.MetadataOptions{
		SigningKey: f.signer.Key, SigningCertificate: f.signer.Certificate,
		ValidUntil: now.Add(10 * 24 * time.Hour), CacheDuration: 6 * time.Hour,
	})
	require.NoError(t, err)
	f.server = samltest.NewMetadataServer(md)
	t.Cleanup(f.server.Close)
	f.signerCert = f.write(t, "signer.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.signer.Certificate.Raw})))
	f.ca = f.write(t, "ca.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.server.Certificate().Raw})))
	return f
}

func (f *metadataFixture) args(extra ...string) []string {
	return append([]string{"-idp-metadata-url", f.server.MetadataURL(), "-metadata-ca", f.ca, "-now", now.Format(time.RFC3339)}, extra...)
}

func TestMetadataURLPrintsTrust(t *testing.T) {
	t.Parallel()
	f := newMetadataFixture(t)
	code, lines, stderr := samlcheck(t, "", f.args("-idp-metadata-signing-cert", f.signerCert)...)
	require.Equal(t, exitValid, code, stderr)
	require.Len(t, lines, 1)
	l := lines[0]
	assert.ElementsMatch(t, []string{"metadataURL", "valid", "idp", "signed", "signedBy"}, keys(l))
	assert.Equal(t, f.server.MetadataURL(), l["metadataURL"])
	assert.Equal(t, true, l["valid"])
	assert.Equal(t, true, l["signed"])
	assert.Equal(t, "CN=https://federation.example.com/signer,O=samltest", l["signedBy"].(map[string]any)["subject"])
	idp := l["idp"].(map[string]any)
	assert.Equal(t, f.idp.EntityID, idp["entityID"])
	assert.Equal(t, now.Add(10*24*time.Hour).Format(time.RFC3339), idp["validUntil"])
	assert.Equal(t, "6h0m0s", idp["cacheDuration"])
	certs := idp["certificates"].([]any)
	require.Len(t, certs, 1)
	c := certs[0].(map[string]any)
	assert.ElementsMatch(t, []string{"subject", "serial", "notBefore", "notAfter", "sha256"}, keys(c))
	assert.Equal(t, f.idp.Certificate.SerialNumber.String(), c["serial"])
	assert.Len(t, idp["ssoServices"], 2)

	// Without a metadata-signing certificate it says that TLS alone vouched.
	code, lines, _ = samlcheck(t, "", f.args()...)
	require.Equal(t, exitValid, code)
	assert.Equal(t, false, lines[0]["signed"])
	assert.Contains(t, lines[0]["warnings"].([]any)[0], "TLS alone")
}

func TestMetadataURLRefusals(t *testing.T) {
	t.Parallel()
	f := newMetadataFixture(t)
	unsigned := newMetadataFixture(t)
	unsigned.server.SetMetadata(unsigned.idp.Metadata())
	down := newMetadataFixture(t)
	down.server.Close()
	for _, tc := range []struct {
		name string
		args []string
		code string
	}{
		{"unsigned", unsigned.args("-idp-metadata-signing-cert", unsigned.signerCert), "signature"},
		{"signed by another", f.args("-idp-metadata-signing-cert", unsigned.signerCert), "signature"},
		{"server down", down.args(), "metadata"},
		{"wrong entity", f.args("-idp-entity-id", "https://other.example.com"), "metadata"},
	} {
		code, lines, stderr := samlcheck(t, "", tc.args...)
		assert.Equal(t, exitInvalid, code, "%s: %s", tc.name, stderr)
		require.Len(t, lines, 1, tc.name)
		l := lines[0]
		assert.ElementsMatch(t, []string{"metadataURL", "valid", "signed", "error"}, keys(l), tc.name)
		assert.Equal(t, tc.code, l["error"].(map[string]any)["code"], tc.name)
	}
	// A plain http URL is a usage error unless on loopback with -allow-http.
	code, _, stderr := samlcheck(t, "", "-idp-metadata-url", "http://idp.example.com/metadata")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "https")
	code, _, _ = samlcheck(t, "", "-idp-metadata-url", f.server.MetadataURL(), "-idp-metadata", f.md)
	assert.Equal(t, exitUsage, code)
	// The test server's certificate is not trusted without -metadata-ca.
	code, lines, _ := samlcheck(t, "", "-idp-metadata-url", f.server.MetadataURL())
	assert.Equal(t, exitInvalid, code)
	assert.Contains(t, lines[0]["error"].(map[string]any)["message"], "certificate")
}

// TestMetadataURLVerifies verifies responses against the fetched trust,
// with the usual output lines.
func TestMetadataURLVerifies(t *testing.T) {
	t.Parallel()
	f := newMetadataFixture(t)
	good := f.response(t, "good", false, nil)
	other, err := samltest.New(samltest.WithEntityID(f.idp.EntityID))
	require.NoError(t, err)
	forged, err := other.Response(samltest.ResponseSpec{Now: now, InResponseTo: "_req-1"})
	require.NoError(t, err)
	bad := f.write(t, "forged", forged.Base64())
	code, lines, stderr := samlcheck(t, "", f.args("-idp-metadata-signing-cert", f.signerCert,
		"-sp-entity-id", samltest.DefaultAudience, "-acs-url", samltest.DefaultACSURL, "-request-id", "_req-1", good, bad)...)
	assert.Equal(t, exitInvalid, code, stderr)
	require.Len(t, lines, 2)
	assert.ElementsMatch(t, []string{"file", "valid", "assertion"}, keys(lines[0]))
	assert.Equal(t, "signature", lines[1]["error"].(map[string]any)["code"])

	unsigned := newMetadataFixture(t)
	unsigned.server.SetMetadata(unsigned.idp.Metadata())
	code, _, stderr = samlcheck(t, "", unsigned.args("-idp-metadata-signing-cert", unsigned.signerCert,
		"-sp-entity-id", samltest.DefaultAudience, "-acs-url", samltest.DefaultACSURL, good)...)
	assert.Equal(t, exitUsage, code, "no trust, nothing verified")
	assert.Contains(t, stderr, "not signed")
}
