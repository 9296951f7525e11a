package saml

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/asn1"
	"encoding/base64"
	"math/big"
	"strings"

	"github.com/beevik/etree"
)

// Transform URIs: the only two a signature may list.
const (
	algExcC14N   = "http://www.w3.org/2001/10/xml-exc-c14n#"
	algEnveloped = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
)

// XML-DSig SignatureMethod URIs, for Config.SignatureMethod. Verification
// accepts every one of them; the SHA-1 ones only with Config.AllowSHA1.
const (
	SignatureRSASHA1     = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
	SignatureRSASHA256   = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	SignatureRSASHA384   = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384"
	SignatureRSASHA512   = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
	SignatureECDSASHA1   = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1"
	SignatureECDSASHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
	SignatureECDSASHA384 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"
	SignatureECDSASHA512 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512"
)

// XML-DSig DigestMethod URIs, for Config.DigestMethod. Verification
// accepts every one of them; SHA-1 only with Config.AllowSHA1.
const (
	DigestSHA1   = "http://www.w3.org/2000/09/xmldsig#sha1"
	DigestSHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
	DigestSHA384 = "http://www.w3.org/2001/04/xmldsig-more#sha384"
	DigestSHA512 = "http://www.w3.org/2001/04/xmlenc#sha512"
)

// signatureMethods maps each known SignatureMethod to whether it is SHA-1.
var signatureMethods = map[string]bool{
	SignatureRSASHA1: true, SignatureRSASHA256: false, SignatureRSASHA384: false, SignatureRSASHA512: false,
	SignatureECDSASHA1: true, SignatureECDSASHA256: false, SignatureECDSASHA384: false, SignatureECDSASHA512: false,
}

// digestMethods maps each known DigestMethod to whether it is SHA-1.
var digestMethods = map[string]bool{
	DigestSHA1: true, DigestSHA256: false, DigestSHA384: false, DigestSHA512: false,
}

// signature is a ds:Signature whose shape has been checked.
type signature struct {
	el      *etree.Element // the ds:Signature
	value   *etree.Element // its SignatureValue
	keyInfo *etree.Element // its KeyInfo, or nil
	method  string         // SignatureMethod Algorithm
	digest  string         // DigestMethod Algorithm
}

// checkShape checks that sig, the signature of signed, has the one shape we
// accept: SignedInfo, SignatureValue and an optional KeyInfo; in SignedInfo
// exc-c14n, an allowed SignatureMethod and one Reference to signed's ID,
// whose transforms are enveloped-signature then exc-c14n and whose digest is
// allowed. Anything else is how wrapping, transform and algorithm attacks
// begin (SAML-ATTACKS.md 15, 17, 18, 20).
func checkShape(signed, sig *etree.Element, allowSHA1 bool) (*signature, error) {
	name := signed.Tag
	out := &signature{el: sig}
	kids := sig.ChildElements()
	if len(kids) < 2 || len(kids) > 3 || !is(kids[0], nsDSig, "SignedInfo") || !is(kids[1], nsDSig, "SignatureValue") ||
		len(kids) == 3 && !is(kids[2], nsDSig, "KeyInfo") {
		return nil, newError(CodeStructure, "the %s signature must hold SignedInfo, SignatureValue and an optional KeyInfo, in that order, and nothing else", name)
	}
	out.value = kids[1]
	if len(kids) == 3 {
		out.keyInfo = kids[2]
	}
	info := kids[0].ChildElements()
	if len(info) != 3 || !is(info[0], nsDSig, "CanonicalizationMethod") || !is(info[1], nsDSig, "SignatureMethod") || !is(info[2], nsDSig, "Reference") {
		return nil, newError(CodeStructure, "the %s signature's SignedInfo must hold CanonicalizationMethod, SignatureMethod and exactly one Reference", name)
	}
	if alg, _ := attr(info[0], "Algorithm"); alg != algExcC14N {
		return nil, newError(CodeAlgorithm, "the %s signature uses canonicalization %q; only exclusive c14n without comments (%s) is accepted", name, alg, algExcC14N)
	}
	out.method, _ = attr(info[1], "Algorithm")
	sha1, known := signatureMethods[out.method]
	if !known || len(info[1].Child) > 0 && len(info[1].ChildElements()) > 0 {
		return nil, newError(CodeAlgorithm, "the %s signature method %q is not accepted; use RSA or ECDSA with SHA-256, SHA-384 or SHA-512", name, out.method)
	}
	if sha1 && !allowSHA1 {
		return nil, newError(CodeAlgorithm, "the %s is signed with SHA-1 (%s); set the IdP to SHA-256, or allow SHA-1 in the service provider's settings", name, out.method)
	}
	return out, checkReference(signed, info[2], out, allowSHA1)
}

func checkReference(signed, ref *etree.Element, out *signature, allowSHA1 bool) error {
	name := signed.Tag
	id, _ := attr(signed, "ID")
	uri, _ := attr(ref, "URI")
	if id == "" || uri != "#"+id {
		return newError(CodeSignature, "the %s signature references %q, not the %s itself (ID %q)", name, uri, name, id)
	}
	kids := ref.ChildElements()
	if len(kids) != 3 || !is(kids[0], nsDSig, "Transforms") || !is(kids[1], nsDSig, "DigestMethod") || !is(kids[2], nsDSig, "DigestValue") {
		return newError(CodeStructure, "the %s signature's Reference must hold Transforms, DigestMethod and DigestValue", name)
	}
	transforms := kids[0].ChildElements()
	if len(transforms) != 2 || !is(transforms[0], nsDSig, "Transform") || !is(transforms[1], nsDSig, "Transform") {
		return newError(CodeAlgorithm, "the %s signature must use exactly two transforms, enveloped-signature then exclusive c14n", name)
	}
	if alg, _ := attr(transforms[0], "Algorithm"); alg != algEnveloped || len(transforms[0].ChildElements()) > 0 {
		return newError(CodeAlgorithm, "the %s signature's first transform is %q; only %s is accepted there", name, alg, algEnveloped)
	}
	if alg, _ := attr(transforms[1], "Algorithm"); alg != algExcC14N {
		return newError(CodeAlgorithm, "the %s signature's second transform is %q; only exclusive c14n without comments (%s) is accepted", name, alg, algExcC14N)
	}
	for _, c := range transforms[1].ChildElements() {
		if c.Tag != "InclusiveNamespaces" || c.NamespaceURI() != algExcC14N {
			return newError(CodeAlgorithm, "the %s signature's c14n transform holds an unexpected <%s>", name, c.Tag)
		}
	}
	out.digest, _ = attr(kids[1], "Algorithm")
	sha1, known := digestMethods[out.digest]
	if !known {
		return newError(CodeAlgorithm, "the %s signature's digest %q is not accepted; use SHA-256, SHA-384 or SHA-512", name, out.digest)
	}
	if sha1 && !allowSHA1 {
		return newError(CodeAlgorithm, "the %s signature's digest is SHA-1; set the IdP to SHA-256, or allow SHA-1 in the service provider's settings", name)
	}
	return nil
}

// verify checks sig over signed with the pinned certificates and returns
// the element goxmldsig verified: a fresh parse of exactly the bytes the
// digest covered, which is the only place values may be read from. The
// signature's KeyInfo is removed first, so that goxmldsig uses the pinned
// certificate whatever KeyInfo says (a certificate, a bare KeyValue or
// nothing); its certificate only decides which pinned one to try first.
func (t *trust) verify(signed *etree.Element, sig *signature) (*etree.Element, *trustedCert, error) {
	first := t.namedCert(sig.keyInfo)
	if sig.keyInfo != nil {
		sig.el.RemoveChild(sig.keyInfo)
		sig.keyInfo = nil
	}
	sent := text(sig.value)
	value := sent
	if strings.ContainsAny(value, " \t\r\n") {
		value = strings.Join(strings.Fields(value), "")
	}
	var lastErr error
	for n := range t.certs {
		tc := &t.certs[(first+n)%len(t.certs)]
		if v := signatureValueFor(tc, sig.method, value); v != sent {
			sig.value.SetText(v)
			sent = v
		}
		verified, err := tc.ctx.Validate(signed)
		if err == nil {
			return verified, tc, nil
		}
		lastErr = err
	}
	which := "the configured IdP certificate"
	if len(t.certs) > 1 {
		which = "any of the configured IdP certificates"
	}
	return nil, nil, wrapError(CodeSignature, lastErr, "the %s signature does not verify with %s (%v); was the response changed, or did the IdP's signing certificate change?", signed.Tag, which, lastErr)
}

// namedCert returns the index of the pinned certificate that KeyInfo
// carries, so that it is tried first, or 0.
func (t *trust) namedCert(keyInfo *etree.Element) int {
	if len(t.certs) < 2 || keyInfo == nil {
		return 0
	}
	el := keyInfo.FindElement("./X509Data/X509Certificate")
	if el == nil {
		return 0
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(text(el)), ""))
	if err != nil {
		return 0
	}
	for i, c := range t.certs {
		if bytes.Equal(c.cert.Raw, der) {
			return i
		}
	}
	return 0
}

// signatureValueFor returns the SignatureValue to hand goxmldsig. XML-DSig
// 1.1 and RFC 4050 encode an ECDSA signature as the raw r‖s, each padded to
// the curve size, as xmlsec1 and Shibboleth send it; goxmldsig v1.6.1
// expects ASN.1 DER, so a raw value is converted. A value already in DER (as
// goxmldsig itself signs) is passed through.
func signatureValueFor(tc *trustedCert, method, value string) string {
	key, ok := tc.cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !strings.Contains(method, "ecdsa") {
		return value
	}
	raw, err := base64.StdEncoding.DecodeString(value)
	size := (key.Curve.Params().BitSize + 7) / 8
	if err != nil || len(raw) != 2*size {
		return value
	}
	der, err := asn1.Marshal(struct{ R, S *big.Int }{
		new(big.Int).SetBytes(raw[:size]), new(big.Int).SetBytes(raw[size:]),
	})
	if err != nil {
		return value
	}
	return base64.StdEncoding.EncodeToString(der)
}

// inheritNamespaces declares on el every namespace prefix it inherits from
// its ancestors and does not declare itself, so that goxmldsig, which
// copies el out of the tree, canonicalizes it as it stood in the document.
// A redeclaration of an in-scope prefix with the same URI does not change
// the exclusive canonical form of el. It runs only after the Response
// signature, which covers el, has been checked.
func inheritNamespaces(el *etree.Element) {
	for p := el.Parent(); p != nil; p = p.Parent() {
		for _, a := range p.Attr {
			if !(a.Space == "xmlns" || a.Space == "" && a.Key == "xmlns") {
				continue
			}
			if !declares(el, a.Space, a.Key) {
				el.CreateAttr(a.FullKey(), a.Value)
			}
		}
	}
}

func declares(el *etree.Element, space, key string) bool {
	for _, a := range el.Attr {
		if a.Space == space && a.Key == key {
			return true
		}
	}
	return false
}
