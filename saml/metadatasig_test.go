package saml_test

import (
	"crypto/x509"
	"testing"
	"time"

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
