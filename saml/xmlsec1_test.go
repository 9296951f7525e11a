package saml_test

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/saml"
	"github.com/siteadmin/integrations/saml/samltest"
)

// TestIndependentSigner has xmlsec1 (libxmlsec1, an independent XML-DSig
// and XML Encryption implementation) sign and encrypt responses, and checks
// that the service provider accepts them and refuses them once tampered.
// ECDSA signatures come out as the standard raw r||s. It runs when xmlsec1
// is installed (.ci/run installs it).
func TestIndependentSigner(t *testing.T) {
	t.Parallel()
	xmlsec1, err := exec.LookPath("xmlsec1")
	if err != nil {
		const msg = "xmlsec1 is not installed (apt-get install xmlsec1): the cross-check against an independent XML-DSig implementation is skipped"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + "; with CI=true a skip is a failure")
		}
		t.Skip(msg)
	}
	rsaIdP, err := sharedIdP()
	require.NoError(t, err)
	p256, err := newECDSAIdP("P256")
	require.NoError(t, err)
	p521, err := newECDSAIdP("P521")
	require.NoError(t, err)
	kp, err := sharedSPKey()
	require.NoError(t, err)
	dir := t.TempDir()
	spCert := writePEM(t, dir, "sp.crt", "CERTIFICATE", kp.cert.Raw)

	type mode struct {
		name              string
		response, asserts bool
		encrypt           string // xmlsec1 content algorithm URI, "" for none
	}
	modes := []mode{
		{"assertion", false, true, ""},
		{"response", true, false, ""},
		{"both", true, true, ""},
		{"both/aes256-gcm", true, true, samltest.AES256GCM},
		{"response/aes128-cbc", true, false, samltest.AES128CBC},
		{"assertion/aes128-gcm", false, true, samltest.AES128GCM},
	}
	for _, idp := range []struct {
		name   string
		idp    *samltest.IdP
		method string
	}{
		{"rsa", rsaIdP, samltest.RSASHA256},
		{"p256", p256, samltest.ECDSASHA256},
		{"p521", p521, samltest.ECDSASHA512},
	} {
		der, err := x509.MarshalPKCS8PrivateKey(idp.idp.Key)
		require.NoError(t, err)
		key := writePEM(t, dir, idp.name+".key", "PRIVATE KEY", der)
		cert := writePEM(t, dir, idp.name+".crt", "CERTIFICATE", idp.idp.Certificate.Raw)
		h := newHarnessFor(t, idp.idp, func(c *saml.Config) { c.DecryptionKeys = kp.keys() })
		for _, m := range modes {
			t.Run(idp.name+"/"+m.name, func(t *testing.T) {
				t.Parallel()
				x := &xmlsec{bin: xmlsec1, dir: t.TempDir(), key: key + "," + cert, spCert: spCert}
				doc := h.xml(t, func(s *samltest.ResponseSpec) {
					s.Sign = samltest.SignNone
					s.Attributes = []samltest.Attribute{{Name: "MemberOf", Values: []string{"eng", "ops"}}}
				})
				doc = insertSignatureTemplates(t, doc, idp.method, m.response, m.asserts)
				if m.asserts {
					doc = x.sign(t, doc, "/*/*[local-name()='Assertion']/*[local-name()='Signature']")
				}
				if m.encrypt != "" {
					doc = x.encrypt(t, doc, m.encrypt)
				}
				if m.response {
					doc = x.sign(t, doc, "/*/*[local-name()='Signature']")
				}
				a, err := h.verify(t, doc)
				require.NoError(t, err, "%s\n%s", reportOf(err), doc)
				assert.Equal(t, samltest.DefaultNameID, a.NameID.Value)
				assert.Equal(t, []string{"eng", "ops"}, a.Attributes["MemberOf"])
				if m.encrypt == "" {
					_, err = h.verify(t, evil(doc))
					assert.ErrorIs(t, err, saml.ErrSignature, "tampered")
				}
			})
		}
	}
}

func (kp spKeyPair) keys() []*rsa.PrivateKey { return []*rsa.PrivateKey{kp.key} }

func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
	return p
}

// signatureTemplate is what xmlsec1 fills in: exclusive c14n, one
// reference with the two transforms, an empty X509Data for the certificate.
func signatureTemplate(id, method string) string {
	return `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>` +
		`<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>` +
		`<ds:SignatureMethod Algorithm="` + method + `"/><ds:Reference URI="#` + id + `"><ds:Transforms>` +
		`<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>` +
		`<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms>` +
		`<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference>` +
		`</ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature>`
}

// insertSignatureTemplates puts a template right after the Issuer of the
// Response and/or of the Assertion.
func insertSignatureTemplates(t *testing.T, doc, method string, response, assertion bool) string {
	t.Helper()
	const issuerEnd = "</saml2:Issuer>"
	if assertion {
		a := strings.Index(doc, "<saml2:Assertion")
		i := strings.Index(doc[a:], issuerEnd) + a + len(issuerEnd)
		doc = doc[:i] + signatureTemplate(attrValue(t, doc[a:], "ID"), method) + doc[i:]
	}
	if response {
		i := strings.Index(doc, issuerEnd) + len(issuerEnd)
		doc = doc[:i] + signatureTemplate(attrValue(t, doc, "ID"), method) + doc[i:]
	}
	return doc
}

// xmlsec runs xmlsec1 in a directory of its own.
type xmlsec struct {
	bin, dir, key, spCert string
	n                     int
}

func (x *xmlsec) run(t *testing.T, doc string, args ...string) string {
	t.Helper()
	x.n++
	in := filepath.Join(x.dir, "in"+string(rune('0'+x.n))+".xml")
	require.NoError(t, os.WriteFile(in, []byte(doc), 0o600))
	out, err := exec.Command(x.bin, append(args, in)...).Output()
	var stderr string
	if ee, ok := err.(*exec.ExitError); ok {
		stderr = string(ee.Stderr)
	}
	require.NoError(t, err, "xmlsec1 %v: %s", args, stderr)
	return string(out)
}

func (x *xmlsec) sign(t *testing.T, doc, xpath string) string {
	t.Helper()
	return x.run(t, doc, "--sign", "--privkey-pem", x.key,
		"--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
		"--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:protocol:Response",
		"--node-xpath", xpath)
}

// encrypt replaces the Assertion with an EncryptedAssertion that xmlsec1
// fills: RSA-OAEP key transport and the given content algorithm.
func (x *xmlsec) encrypt(t *testing.T, doc, content string) string {
	t.Helper()
	i := strings.Index(doc, "<saml2:Assertion")
	j := strings.Index(doc, "</saml2:Assertion>") + len("</saml2:Assertion>")
	data := doc[:i] + `<saml2:EncryptedAssertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion">` + doc[i:j] + `</saml2:EncryptedAssertion>` + doc[j:]
	dataFile := filepath.Join(x.dir, "data.xml")
	require.NoError(t, os.WriteFile(dataFile, []byte(data), 0o600))
	session := "aes-256"
	if strings.Contains(content, "128") {
		session = "aes-128"
	}
	tmpl := `<xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" Type="http://www.w3.org/2001/04/xmlenc#Element">` +
		`<xenc:EncryptionMethod Algorithm="` + content + `"/><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><xenc:EncryptedKey>` +
		`<xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"/><xenc:CipherData><xenc:CipherValue/></xenc:CipherData>` +
		`</xenc:EncryptedKey></ds:KeyInfo><xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedData>`
	return x.run(t, tmpl, "--encrypt", "--pubkey-cert-pem", x.spCert, "--session-key", session,
		"--xml-data", dataFile, "--node-xpath", "/*/*[local-name()='EncryptedAssertion']/*[local-name()='Assertion']")
}
