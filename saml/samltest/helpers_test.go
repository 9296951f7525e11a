package samltest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
	"github.com/stretchr/testify/require"
)

// testKey is one key of the signature matrix.
type testKey struct {
	name string
	key  crypto.Signer
	// size is the ECDSA coordinate size in bytes, 0 for RSA.
	size int
}

// testKeys returns one RSA-2048 key and one ECDSA key on each supported
// curve.
func testKeys(t testing.TB) []testKey {
	t.Helper()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	keys := []testKey{{name: "RSA2048", key: rsaKey}}
	for _, c := range []struct {
		name  string
		curve elliptic.Curve
		size  int
	}{{"P256", elliptic.P256(), 32}, {"P384", elliptic.P384(), 48}, {"P521", elliptic.P521(), 66}} {
		k, err := ecdsa.GenerateKey(c.curve, rand.Reader)
		require.NoError(t, err)
		keys = append(keys, testKey{name: c.name, key: k, size: c.size})
	}
	return keys
}

// parse parses XML with etree and returns the document.
func parse(t testing.TB, xml []byte) *etree.Document {
	t.Helper()
	doc := etree.NewDocument()
	require.NoError(t, doc.ReadFromBytes(xml))
	return doc
}

// assertionOf returns the Assertion element of a parsed Response.
func assertionOf(t testing.TB, doc *etree.Document) *etree.Element {
	t.Helper()
	a := doc.Root().SelectElement("saml2:Assertion")
	require.NotNil(t, a, "no saml2:Assertion")
	return a
}

// directSignature returns el's ds:Signature child, or nil.
func directSignature(el *etree.Element) *etree.Element {
	return el.SelectElement("ds:Signature")
}

// goxmldsigValidate validates el's enveloped signature with goxmldsig
// v1.6.1, trusting cert. goxmldsig checks ECDSA signatures as ASN.1 DER,
// so a raw r||s SignatureValue (size bytes per coordinate) is converted to
// DER in a copy first: only here, to prove the raw encoding is right.
func goxmldsigValidate(cert *x509.Certificate, el *etree.Element, size int) error {
	return goxmldsigValidateAt(cert, el, size, time.Time{})
}

// goxmldsigValidateAt is goxmldsigValidate with goxmldsig's clock (which
// checks the certificate dates) at the given time; zero means now.
func goxmldsigValidateAt(cert *x509.Certificate, el *etree.Element, size int, at time.Time) error {
	el = el.Copy()
	if size > 0 {
		if sig := directSignature(el); sig != nil {
			if sv := sig.SelectElement("ds:SignatureValue"); sv != nil {
				raw, err := base64.StdEncoding.DecodeString(sv.Text())
				if err == nil && len(raw) == 2*size {
					der, err := asn1.Marshal(struct{ R, S *big.Int }{
						new(big.Int).SetBytes(raw[:size]), new(big.Int).SetBytes(raw[size:]),
					})
					if err != nil {
						return err
					}
					sv.SetText(base64.StdEncoding.EncodeToString(der))
				}
			}
		}
	}
	ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
	if !at.IsZero() {
		ctx.Clock = dsig.NewFakeClockAt(at)
	}
	_, err := ctx.Validate(el)
	return err
}

// signatureValue returns the decoded SignatureValue of el's direct
// Signature.
func signatureValue(t testing.TB, el *etree.Element) []byte {
	t.Helper()
	sig := directSignature(el)
	require.NotNil(t, sig, "no ds:Signature in <%s>", el.FullTag())
	sv := sig.SelectElement("ds:SignatureValue")
	require.NotNil(t, sv)
	raw, err := base64.StdEncoding.DecodeString(sv.Text())
	require.NoError(t, err)
	return raw
}

// childTags returns the full tags of el's child elements, in order.
func childTags(el *etree.Element) []string {
	var tags []string
	for _, c := range el.ChildElements() {
		tags = append(tags, c.FullTag())
	}
	return tags
}

// tamperNameID changes one byte of the NameID text "alice@example.com".
func tamperNameID(t testing.TB, xml []byte) []byte {
	t.Helper()
	s := string(xml)
	require.Equal(t, 1, strings.Count(s, ">alice@example.com<"))
	return []byte(strings.Replace(s, ">alice@example.com<", ">alicf@example.com<", 1))
}

func decodeB64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
	require.NoError(t, err)
	return b
}

// goxmldsigValidateInContext is goxmldsigValidate on a copy of el that
// declares the namespaces el inherits, for elements that do not declare
// their own (goxmldsig canonicalizes a detached copy).
func goxmldsigValidateInContext(cert *x509.Certificate, el *etree.Element) error {
	ctx, err := etreeutils.NSBuildParentContext(el)
	if err != nil {
		return err
	}
	detached, err := etreeutils.NSDetatch(ctx, el)
	if err != nil {
		return err
	}
	return goxmldsigValidate(cert, detached, 0)
}
