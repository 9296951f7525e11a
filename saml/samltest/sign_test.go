package samltest

import (
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSignatureMatrix signs with every Sign mode, signature method and
// digest method, on RSA and on each ECDSA curve, and checks that goxmldsig
// accepts exactly the signed parts and refuses them after one byte of the
// NameID changes.
func TestSignatureMatrix(t *testing.T) {
	t.Parallel()
	digests := []string{DigestSHA1, DigestSHA256, DigestSHA384, DigestSHA512}
	for _, k := range testKeys(t) {
		idp, err := New(WithKey(k.key))
		require.NoError(t, err)
		methods := []string{RSASHA1, RSASHA256, RSASHA384, RSASHA512}
		if k.size > 0 {
			methods = []string{ECDSASHA1, ECDSASHA256, ECDSASHA384, ECDSASHA512}
		}
		for _, mode := range []Sign{SignAssertion, SignResponse, SignBoth, SignNone} {
			for _, method := range methods {
				for _, digest := range digests {
					name := k.name + "/" + mode.String() + "/" + method[strings.IndexByte(method, '#')+1:] + "/" + digest[strings.IndexByte(digest, '#')+1:]
					t.Run(name, func(t *testing.T) {
						t.Parallel()
						checkSigned(t, idp, k, mode, method, digest)
					})
				}
			}
		}
	}
}

func checkSigned(t *testing.T, idp *IdP, k testKey, mode Sign, method, digest string) {
	resp, err := idp.Response(ResponseSpec{Sign: mode, SignatureMethod: method, DigestMethod: digest, InResponseTo: "_req"})
	require.NoError(t, err)
	doc := parse(t, resp.XML)
	root, assertion := doc.Root(), assertionOf(t, doc)

	for _, part := range []struct {
		name   string
		el     *etree.Element
		signed bool
	}{
		{"Response", root, mode == SignResponse || mode == SignBoth},
		{"Assertion", assertion, mode == SignAssertion || mode == SignBoth},
	} {
		sig := directSignature(part.el)
		if !part.signed {
			assert.Nil(t, sig, "%s has a Signature", part.name)
			assert.Error(t, goxmldsigValidate(idp.Certificate, part.el, k.size), part.name)
			continue
		}
		require.NotNil(t, sig, "%s has no Signature", part.name)
		assert.Equal(t, []string{"saml2:Issuer", "ds:Signature"}, childTags(part.el)[:2], part.name)
		assert.Equal(t, method, sig.FindElement("ds:SignedInfo/ds:SignatureMethod").SelectAttrValue("Algorithm", ""))
		assert.Equal(t, digest, sig.FindElement("ds:SignedInfo/ds:Reference/ds:DigestMethod").SelectAttrValue("Algorithm", ""))
		assert.NoError(t, goxmldsigValidate(idp.Certificate, part.el, k.size), part.name)
		if k.size > 0 {
			assert.Len(t, signatureValue(t, part.el), 2*k.size, "raw ECDSA r||s length")
		}
	}

	tampered := parse(t, tamperNameID(t, resp.XML))
	assert.Error(t, goxmldsigValidate(idp.Certificate, tampered.Root(), k.size), "tampered Response")
	assert.Error(t, goxmldsigValidate(idp.Certificate, assertionOf(t, tampered), k.size), "tampered Assertion")
}

// TestSignatureShape checks the XML-DSig structure against the shape of an
// xmlsec1-made signature (SAML-ATTACKS.md section 3) and of Okta's.
func TestSignatureShape(t *testing.T) {
	t.Parallel()
	idp, err := New()
	require.NoError(t, err)
	resp, err := idp.Response(ResponseSpec{Sign: SignBoth})
	require.NoError(t, err)
	doc := parse(t, resp.XML)

	for id, el := range map[string]*etree.Element{resp.ResponseID: doc.Root(), resp.AssertionID: assertionOf(t, doc)} {
		sig := directSignature(el)
		require.NotNil(t, sig)
		assert.Equal(t, nsDS, sig.SelectAttrValue("xmlns:ds", ""))
		assert.Equal(t, []string{"ds:SignedInfo", "ds:SignatureValue", "ds:KeyInfo"}, childTags(sig))
		si := sig.SelectElement("ds:SignedInfo")
		assert.Equal(t, []string{"ds:CanonicalizationMethod", "ds:SignatureMethod", "ds:Reference"}, childTags(si))
		assert.Equal(t, algExcC14N, si.SelectElement("ds:CanonicalizationMethod").SelectAttrValue("Algorithm", ""))
		assert.Empty(t, si.SelectElement("ds:CanonicalizationMethod").ChildElements())
		ref := si.SelectElement("ds:Reference")
		assert.Equal(t, "#"+id, ref.SelectAttrValue("URI", ""))
		assert.Equal(t, []string{"ds:Transforms", "ds:DigestMethod", "ds:DigestValue"}, childTags(ref))
		transforms := ref.FindElements("ds:Transforms/ds:Transform")
		require.Len(t, transforms, 2)
		assert.Equal(t, algEnveloped, transforms[0].SelectAttrValue("Algorithm", ""))
		assert.Equal(t, algExcC14N, transforms[1].SelectAttrValue("Algorithm", ""))
		assert.Equal(t, "xs", transforms[1].FindElement("ec:InclusiveNamespaces").SelectAttrValue("PrefixList", ""))
		assert.Equal(t, idp.Certificate.Raw, certOf(t, sig))
	}
	// The Response signature covers the Assertion's: signed second.
	assert.Equal(t, 2, strings.Count(string(resp.XML), "<ds:Signature "))
}

func certOf(t *testing.T, sig *etree.Element) []byte {
	t.Helper()
	c := sig.FindElement("ds:KeyInfo/ds:X509Data/ds:X509Certificate")
	require.NotNil(t, c)
	return decodeB64(t, c.Text())
}

func TestSignXML(t *testing.T) {
	t.Parallel()
	idp, err := New()
	require.NoError(t, err)
	unsigned, err := idp.Response(ResponseSpec{Sign: SignNone})
	require.NoError(t, err)

	t.Run("round trip keeps every other byte", func(t *testing.T) {
		t.Parallel()
		signed, err := idp.SignXML(unsigned.XML, unsigned.AssertionID, unsigned.ResponseID)
		require.NoError(t, err)
		// Removing the two signatures gives back the input, byte for byte.
		assert.Equal(t, string(unsigned.XML), stripSignatures(t, string(signed)))
		doc := parse(t, signed)
		assert.NoError(t, goxmldsigValidate(idp.Certificate, doc.Root(), 0))
		assert.NoError(t, goxmldsigValidate(idp.Certificate, assertionOf(t, doc), 0))
		assert.Equal(t, RSASHA256, doc.FindElement("//ds:SignatureMethod").SelectAttrValue("Algorithm", ""))
		// SignXML uses no InclusiveNamespaces.
		assert.Nil(t, doc.FindElement("//ec:InclusiveNamespaces"))
	})

	t.Run("hand-written XML, odd formatting kept", func(t *testing.T) {
		t.Parallel()
		in := "<?xml version='1.0'?>\n<!-- a comment -->\n<p:Root xmlns:p='urn:x' xmlns:a='urn:a' ID='r1'>\n" +
			"  <a:Issuer  a:k='v'>me</a:Issuer>\n" +
			"  <p:Item ID='i1' a:x=\"1\"><![CDATA[<raw>]]> &#x41;&amp; <!--c--></p:Item>\n" +
			"  <p:Empty ID='e1'/>\n" +
			"</p:Root>\n"
		signed, err := idp.SignXML([]byte(in), "i1", "e1", "r1")
		require.NoError(t, err)
		out := string(signed)
		// Only the self-closing tag had to change, to hold its Signature.
		assert.Equal(t, strings.Replace(in, "<p:Empty ID='e1'/>", "<p:Empty ID='e1'></p:Empty>", 1), stripSignatures(t, out))
		assert.Contains(t, out, "<a:Issuer  a:k='v'>me</a:Issuer><ds:Signature ", "after Issuer")
		assert.Contains(t, out, "<p:Item ID='i1' a:x=\"1\"><ds:Signature ", "first child without Issuer")
		assert.Contains(t, out, "<p:Empty ID='e1'><ds:Signature ", "self-closing element opened")
		doc := parse(t, signed)
		for _, path := range []string{"/p:Root", "/p:Root/p:Item", "/p:Root/p:Empty"} {
			el := doc.FindElement(path)
			require.NotNil(t, el, path)
			assert.NoError(t, goxmldsigValidateInContext(idp.Certificate, el), path)
		}
	})

	t.Run("first of a duplicated ID is signed", func(t *testing.T) {
		t.Parallel()
		in := `<R><A ID="x"><Issuer>i</Issuer>first</A><A ID="x"><Issuer>i</Issuer>second</A></R>`
		signed, err := idp.SignXML([]byte(in), "x")
		require.NoError(t, err)
		assert.Equal(t, 1, strings.Count(string(signed), "<ds:Signature "))
		assert.Regexp(t, `<Issuer>i</Issuer><ds:Signature .*</ds:Signature>first`, string(signed))
	})

	t.Run("uses the IdP algorithms", func(t *testing.T) {
		t.Parallel()
		idp2 := *idp
		idp2.SignatureMethod, idp2.DigestMethod = RSASHA512, DigestSHA384
		signed, err := idp2.SignXML(unsigned.XML, unsigned.AssertionID)
		require.NoError(t, err)
		doc := parse(t, signed)
		assert.Equal(t, RSASHA512, doc.FindElement("//ds:SignatureMethod").SelectAttrValue("Algorithm", ""))
		assert.Equal(t, DigestSHA384, doc.FindElement("//ds:DigestMethod").SelectAttrValue("Algorithm", ""))
		assert.NoError(t, goxmldsigValidate(idp.Certificate, assertionOf(t, doc), 0))
	})

	for name, c := range map[string]struct {
		doc string
		ids []string
		msg string
	}{
		"unknown ID":     {`<R ID="a"/>`, []string{"b"}, `no element has ID "b"`},
		"not XML":        {`<R ID="a">`, []string{"a"}, "parsing the document"},
		"prefixed ID":    {`<R xmlns:p="urn:p" p:ID="a"/>`, []string{"a"}, `no element has ID "a"`},
		"second missing": {`<R ID="a"/>`, []string{"a", "z"}, `no element has ID "z"`},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := idp.SignXML([]byte(c.doc), c.ids...)
			assert.ErrorContains(t, err, c.msg)
		})
	}
}

// stripSignatures removes every ds:Signature element from s.
func stripSignatures(t *testing.T, s string) string {
	t.Helper()
	for {
		i := strings.Index(s, "<ds:Signature ")
		if i < 0 {
			return s
		}
		j := strings.Index(s[i:], "</ds:Signature>")
		require.Positive(t, j)
		s = s[:i] + s[i+j+len("</ds:Signature>"):]
	}
}

func TestRawECDSA(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		der  []byte
		size int
		want []byte
		err  string
	}{
		{"padded", []byte{0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x07}, 4, []byte{0, 0, 0, 5, 0, 0, 0, 7}, ""},
		{"leading zero byte", []byte{0x30, 0x08, 0x02, 0x02, 0x00, 0x80, 0x02, 0x02, 0x00, 0xff}, 2, []byte{0, 0x80, 0, 0xff}, ""},
		{"too big", []byte{0x30, 0x07, 0x02, 0x02, 0x01, 0x00, 0x02, 0x01, 0x01}, 1, nil, "out-of-range"},
		{"trailing data", []byte{0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x07, 0x00}, 4, nil, "malformed"},
		{"zero", []byte{0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x07}, 4, nil, "out-of-range"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := rawECDSA(c.der, c.size)
			if c.err != "" {
				assert.ErrorContains(t, err, c.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}
}
