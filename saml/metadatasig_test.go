package saml_test

import (
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/saml"
	"github.com/siteadmin/integrations/saml/samltest"
)

// FuzzParseSignedIdPMetadata mutates signed metadata: no input may panic,
// and accepted metadata must say exactly what was signed.
func FuzzParseSignedIdPMetadata(f *testing.F) {
	// ECDSA keys: RSA key generation is slow in every fuzzing worker.
	idp, err := newECDSAIdP("P256")
	if err != nil {
		f.Fatal(err)
	}
	signer, err := newECDSAIdP("P256")
	if err != nil {
		f.Fatal(err)
	}
	for _, opts := range []samltest.MetadataOptions{
		{},
		{CacheDuration: 90 * time.Minute, ValidUntil: testNow.Add(48 * time.Hour)},
	} {
		opts.SigningKey, opts.SigningCertificate = signer.Key, signer.Certificate
		md, err := idp.MetadataWith(opts)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(md)
		f.Add(append([]byte("\xef\xbb\xbf"), md...))
	}
	signers := []*x509.Certificate{signer.Certificate}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := saml.ParseSignedIdPMetadata(data, "", signers, false)
		if err != nil {
			return
		}
		if got.EntityID != idp.EntityID || len(got.Certificates) != 1 || !got.Certificates[0].Equal(idp.Certificate) || got.CacheDuration < 0 {
			t.Fatalf("accepted metadata that says something else than what was signed: %+v", got)
		}
	})
}

// TestParseSignedIdPMetadataRules holds metadata signatures to the rules
// of response signatures.
func TestParseSignedIdPMetadataRules(t *testing.T) {
	t.Parallel()
	idp, err := sharedIdP()
	require.NoError(t, err)
	signer, err := newTestIdP(samltest.WithEntityID("https://federation.example.com/signer"))
	require.NoError(t, err)
	signers := []*x509.Certificate{signer.Certificate}
	sign := func(i *samltest.IdP) string {
		md, err := i.MetadataWith(samltest.MetadataOptions{ID: "_md1", SigningKey: signer.Key, SigningCertificate: signer.Certificate})
		require.NoError(t, err)
		return string(md)
	}
	good := sign(idp)
	_, err = saml.ParseSignedIdPMetadata([]byte(good), "", signers, false)
	require.NoError(t, err)

	sha1IdP := *idp
	sha1IdP.SignatureMethod, sha1IdP.DigestMethod = samltest.RSASHA1, samltest.DigestSHA1
	sha1 := sign(&sha1IdP)
	_, err = saml.ParseSignedIdPMetadata([]byte(sha1), "", signers, false)
	assert.ErrorIs(t, err, saml.ErrAlgorithm, "SHA-1 only when allowed")
	_, err = saml.ParseSignedIdPMetadata([]byte(sha1), "", signers, true)
	assert.NoError(t, err)

	sigStart, sigEnd := strings.Index(good, "<ds:Signature"), strings.Index(good, "</ds:Signature>")+len("</ds:Signature>")
	sig := good[sigStart:sigEnd]
	unsigned := good[:sigStart] + good[sigEnd:]
	role := strings.Index(unsigned, "<md:IDPSSODescriptor")
	roleEnd := strings.Index(unsigned[role:], ">") + role + 1
	for _, tc := range []struct {
		name string
		doc  string
		is   error
	}{
		{"signature moved into the role", unsigned[:roleEnd] + sig + unsigned[roleEnd:], saml.ErrSignature},
		{"two signatures", good[:sigEnd] + sig + good[sigEnd:], saml.ErrStructure},
		{"reference to another ID", strings.Replace(good, `ID="_md1"`, `ID="_md2"`, 1), saml.ErrSignature},
		{"DOCTYPE", strings.Replace(good, "<md:EntityDescriptor", `<!DOCTYPE x><md:EntityDescriptor`, 1), nil},
		{"inclusive c14n", strings.Replace(good, `<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"`,
			`<ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"`, 1), saml.ErrAlgorithm},
	} {
		_, err := saml.ParseSignedIdPMetadata([]byte(tc.doc), "", signers, false)
		require.Error(t, err, tc.name)
		if tc.is != nil {
			assert.ErrorIs(t, err, tc.is, tc.name)
		}
	}
	_, err = saml.ParseSignedIdPMetadata([]byte(good), "", nil, false)
	assert.ErrorContains(t, err, "no metadata-signing certificate")
}
