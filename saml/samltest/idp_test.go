package samltest

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/saml"
)

func TestNewDefaults(t *testing.T) {
	t.Parallel()
	before := time.Now()
	idp, err := New()
	require.NoError(t, err)

	assert.Equal(t, DefaultEntityID, idp.EntityID)
	assert.Equal(t, DefaultSSOURL, idp.SSOURL)
	assert.Equal(t, DefaultSLOURL, idp.SLOURL)
	key, ok := idp.Key.(*rsa.PrivateKey)
	require.True(t, ok, "key is %T", idp.Key)
	assert.Equal(t, 2048, key.N.BitLen())

	cert := idp.Certificate
	require.NotNil(t, cert)
	assert.True(t, samePublicKey(cert.PublicKey, key.Public()))
	assert.WithinDuration(t, before.Add(-time.Hour), cert.NotBefore, 2*time.Second)
	assert.WithinDuration(t, before.AddDate(10, 0, 0), cert.NotAfter, 2*time.Second)
	assert.Equal(t, x509.SHA256WithRSA, cert.SignatureAlgorithm)
	assert.NoError(t, cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature), "self-signed")
	assert.Equal(t, cert.Subject.String(), cert.Issuer.String())
	assert.Equal(t, DefaultEntityID, cert.Subject.CommonName)
	assert.Empty(t, idp.SignatureMethod)
	assert.Empty(t, idp.DigestMethod)
}

func TestNewOptions(t *testing.T) {
	t.Parallel()
	ecKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	nb, na := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)

	idp, err := New(
		WithEntityID("urn:idp"),
		WithKey(ecKey),
		WithCertificateValidity(nb, na),
		WithSSOURL("https://idp/sso"),
		WithSLOURL("https://idp/slo"),
		WithAlgorithms(ECDSASHA512, DigestSHA384),
	)
	require.NoError(t, err)
	assert.Equal(t, "urn:idp", idp.EntityID)
	assert.Same(t, ecKey, idp.Key)
	assert.Equal(t, "https://idp/sso", idp.SSOURL)
	assert.Equal(t, "https://idp/slo", idp.SLOURL)
	assert.Equal(t, nb, idp.Certificate.NotBefore)
	assert.Equal(t, na, idp.Certificate.NotAfter)
	assert.Equal(t, x509.ECDSAWithSHA384, idp.Certificate.SignatureAlgorithm)

	resp, err := idp.Response(ResponseSpec{})
	require.NoError(t, err)
	doc := parse(t, resp.XML)
	assert.Equal(t, ECDSASHA512, doc.FindElement("//ds:SignatureMethod").SelectAttrValue("Algorithm", ""))
	assert.Equal(t, DigestSHA384, doc.FindElement("//ds:DigestMethod").SelectAttrValue("Algorithm", ""))
	assert.Equal(t, "urn:idp", doc.FindElement(pAssertion+"/saml2:Issuer").Text())
	// goxmldsig checks the certificate dates against its clock.
	assert.ErrorContains(t, goxmldsigValidate(idp.Certificate, assertionOf(t, doc), 48), "Cert is not valid")
	assert.NoError(t, goxmldsigValidateAt(idp.Certificate, assertionOf(t, doc), 48, nb.AddDate(0, 6, 0)))
}

func TestWithCertificate(t *testing.T) {
	t.Parallel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	expired, err := NewCertificate(key, "old", time.Now().AddDate(-2, 0, 0), time.Now().AddDate(-1, 0, 0))
	require.NoError(t, err)

	idp, err := New(WithKey(key), WithCertificate(expired))
	require.NoError(t, err)
	assert.Same(t, expired, idp.Certificate)
	resp, err := idp.Response(ResponseSpec{})
	require.NoError(t, err)
	assert.Equal(t, expired.Raw, certOf(t, directSignature(assertionOf(t, parse(t, resp.XML)))))

	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	_, err = New(WithKey(other), WithCertificate(expired))
	assert.ErrorContains(t, err, "does not hold the public key")
	_, err = New(WithCertificate(expired))
	assert.ErrorContains(t, err, "needs WithKey")
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	require.NoError(t, err)
	for _, c := range []struct {
		name string
		opts []Option
		msg  string
	}{
		{"Ed25519 key", []Option{WithKey(edKey)}, "key type ed25519.PublicKey is not supported"},
		{"P-224 key", []Option{WithKey(p224)}, "curve P-224 is not supported"},
		{"empty entity ID", []Option{WithEntityID("")}, "entity ID is empty"},
		{"unknown algorithm", []Option{WithAlgorithms("urn:x", "")}, `signature method "urn:x" is not supported`},
		{"ECDSA algorithm for RSA", []Option{WithAlgorithms(ECDSASHA256, "")}, "does not fit"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(c.opts...)
			assert.ErrorContains(t, err, c.msg)
		})
	}
}

func TestIdentityProvider(t *testing.T) {
	t.Parallel()
	idp, err := New(WithEntityID("urn:idp"), WithSSOURL("https://idp/sso"), WithSLOURL("https://idp/slo"))
	require.NoError(t, err)
	got := idp.IdentityProvider()
	assert.Equal(t, saml.IdentityProvider{
		EntityID: "urn:idp",
		SSOServices: []saml.Endpoint{
			{Binding: saml.BindingHTTPRedirect, Location: "https://idp/sso"},
			{Binding: saml.BindingHTTPPOST, Location: "https://idp/sso"},
		},
		SLOServices: []saml.Endpoint{
			{Binding: saml.BindingHTTPRedirect, Location: "https://idp/slo"},
			{Binding: saml.BindingHTTPPOST, Location: "https://idp/slo"},
		},
		Certificates: []*x509.Certificate{idp.Certificate},
	}, got)
}

func TestMetadata(t *testing.T) {
	t.Parallel()
	idp, err := New(WithEntityID("https://idp.example.com/m?a=1&b=2"))
	require.NoError(t, err)
	doc := parse(t, idp.Metadata())

	root := doc.Root()
	assert.Equal(t, "md:EntityDescriptor", root.FullTag())
	assert.Equal(t, nsMetadata, root.SelectAttrValue("xmlns:md", ""))
	assert.Equal(t, "https://idp.example.com/m?a=1&b=2", root.SelectAttrValue("entityID", ""))
	assert.Empty(t, root.SelectAttrValue("validUntil", ""))

	d := root.SelectElement("md:IDPSSODescriptor")
	require.NotNil(t, d)
	assert.Equal(t, nsProtocol, d.SelectAttrValue("protocolSupportEnumeration", ""))
	assert.Equal(t, []string{
		"md:KeyDescriptor",
		"md:SingleLogoutService", "md:SingleLogoutService",
		"md:NameIDFormat",
		"md:SingleSignOnService", "md:SingleSignOnService",
	}, childTags(d))

	kd := d.SelectElement("md:KeyDescriptor")
	assert.Equal(t, "signing", kd.SelectAttrValue("use", ""))
	assert.Equal(t, nsDS, kd.SelectElement("ds:KeyInfo").SelectAttrValue("xmlns:ds", ""))
	c := kd.FindElement("ds:KeyInfo/ds:X509Data/ds:X509Certificate")
	require.NotNil(t, c)
	cert, err := x509.ParseCertificate(decodeB64(t, c.Text()))
	require.NoError(t, err)
	assert.True(t, cert.Equal(idp.Certificate))

	type endpoint struct{ Binding, Location string }
	endpoints := func(tag string) []endpoint {
		var out []endpoint
		for _, e := range d.SelectElements(tag) {
			out = append(out, endpoint{e.SelectAttrValue("Binding", ""), e.SelectAttrValue("Location", "")})
		}
		return out
	}
	assert.Equal(t, []endpoint{{saml.BindingHTTPRedirect, DefaultSSOURL}, {saml.BindingHTTPPOST, DefaultSSOURL}}, endpoints("md:SingleSignOnService"))
	assert.Equal(t, []endpoint{{saml.BindingHTTPRedirect, DefaultSLOURL}, {saml.BindingHTTPPOST, DefaultSLOURL}}, endpoints("md:SingleLogoutService"))
	assert.Equal(t, NameIDFormatEmail, d.SelectElement("md:NameIDFormat").Text())
}
