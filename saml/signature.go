package saml

import (
	"bytes"
	"encoding/base64"
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

// signature is a ds:Signature whose shape has been checked, with what its
// SignedInfo says, read from the canonical copy that SignatureValue signs.
type signature struct {
	el          *etree.Element // the ds:Signature
	keyInfo     *etree.Element // its KeyInfo, or nil
	value       []byte         // the decoded SignatureValue
	signedInfo  []byte         // the canonical SignedInfo, which value signs
	method      string         // SignatureMethod Algorithm
	digest      string         // DigestMethod Algorithm
	digestValue []byte         // the decoded DigestValue
	prefixList  string         // InclusiveNamespaces PrefixList of the c14n transform
	// c14nPrefixList is the InclusiveNamespaces PrefixList of the
	// CanonicalizationMethod, which SignedInfo is canonicalized with.
	c14nPrefixList string
}

// checkShape checks that sig, the signature of signed, has the one shape we
// accept: SignedInfo, SignatureValue and an optional KeyInfo; in SignedInfo
// exc-c14n, an allowed SignatureMethod and one Reference to signed's ID,
// whose transforms are enveloped-signature then exc-c14n and whose digest is
// allowed. Anything else is how wrapping, transform and algorithm attacks
// begin (SAML-ATTACKS.md 15, 17, 18, 20). The rules are checked on the
// SignedInfo as it came, which bounds it to a dozen small elements, and
// again on its canonical copy, so that what is read from it is what the
// signature covers. SignedInfo is canonicalized here, once whatever the
// number of pinned certificates.
func checkShape(signed, sig *etree.Element, allowSHA1 bool) (*signature, error) {
	name := signed.Tag
	out := &signature{el: sig}
	kids := sig.ChildElements()
	if len(kids) < 2 || len(kids) > 3 || !is(kids[0], nsDSig, "SignedInfo") || !is(kids[1], nsDSig, "SignatureValue") ||
		len(kids) == 3 && !is(kids[2], nsDSig, "KeyInfo") {
		return nil, newError(CodeStructure, "the %s signature must hold SignedInfo, SignatureValue and an optional KeyInfo, in that order, and nothing else", name)
	}
	if len(kids) == 3 {
		out.keyInfo = kids[2]
	}
	var err error
	if out.value, err = decodeBase64(text(kids[1])); err != nil || len(out.value) == 0 || len(kids[1].ChildElements()) > 0 {
		return nil, newError(CodeSignature, "the %s SignatureValue is not base64", name)
	}
	if err := checkSignedInfo(signed, kids[0], out, allowSHA1); err != nil {
		return nil, err
	}
	var canonical bytes.Buffer
	info, err := canonicalize(&canonical, kids[0], nil, out.c14nPrefixList, maxSignedInfo)
	if err != nil {
		return nil, err
	}
	out.signedInfo = canonical.Bytes()
	return out, checkSignedInfo(signed, info, out, allowSHA1)
}

// maxSignedInfo caps the canonical SignedInfo. Checked as it is, it holds
// algorithm URIs, an ID and a digest: a few hundred bytes.
const maxSignedInfo = 64 << 10

// maxPrefixList caps the prefixes of an InclusiveNamespaces PrefixList.
// IdPs name one to five ("xs", "#default saml ds xs xsi"); each costs a
// look-up at every element canonicalized.
const maxPrefixList = 32

// checkSignedInfo checks a SignedInfo and records its algorithms, digest
// and PrefixLists in out.
func checkSignedInfo(signed, signedInfo *etree.Element, out *signature, allowSHA1 bool) error {
	name := signed.Tag
	info := signedInfo.ChildElements()
	if len(info) != 3 || !is(info[0], nsDSig, "CanonicalizationMethod") || !is(info[1], nsDSig, "SignatureMethod") || !is(info[2], nsDSig, "Reference") {
		return newError(CodeStructure, "the %s signature's SignedInfo must hold CanonicalizationMethod, SignatureMethod and exactly one Reference", name)
	}
	if alg, _ := attr(info[0], "Algorithm"); alg != algExcC14N {
		return newError(CodeAlgorithm, "the %s signature uses canonicalization %q; only exclusive c14n without comments (%s) is accepted", name, alg, algExcC14N)
	}
	var err error
	if out.c14nPrefixList, err = inclusiveNamespaces(info[0], name); err != nil {
		return err
	}
	out.method, _ = attr(info[1], "Algorithm")
	sha1, known := signatureMethods[out.method]
	if !known || len(info[1].ChildElements()) > 0 {
		return newError(CodeAlgorithm, "the %s signature method %q is not accepted; use RSA or ECDSA with SHA-256, SHA-384 or SHA-512", name, out.method)
	}
	if sha1 && !allowSHA1 {
		return newError(CodeAlgorithm, "the %s is signed with SHA-1 (%s); set the IdP to SHA-256, or allow SHA-1 in the service provider's settings", name, out.method)
	}
	return checkReference(signed, info[2], out, allowSHA1)
}

// inclusiveNamespaces returns the PrefixList of the InclusiveNamespaces
// element an exc-c14n method or transform may hold, and refuses anything
// else inside it.
func inclusiveNamespaces(method *etree.Element, name string) (string, error) {
	kids := method.ChildElements()
	if len(kids) == 0 {
		return "", nil
	}
	if len(kids) > 1 || !is(kids[0], algExcC14N, "InclusiveNamespaces") || len(kids[0].ChildElements()) > 0 {
		return "", newError(CodeAlgorithm, "the %s signature's exclusive c14n holds an unexpected <%s>; only one InclusiveNamespaces is allowed", name, kids[0].Tag)
	}
	list, _ := attr(kids[0], "PrefixList")
	if n := len(prefixList(list)); n > maxPrefixList {
		return "", newError(CodeAlgorithm, "the %s signature's InclusiveNamespaces names %d prefixes, more than the %d allowed", name, n, maxPrefixList)
	}
	return list, nil
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
	var err error
	if out.prefixList, err = inclusiveNamespaces(transforms[1], name); err != nil {
		return err
	}
	out.digest, _ = attr(kids[1], "Algorithm")
	sha1, known := digestMethods[out.digest]
	if !known {
		return newError(CodeAlgorithm, "the %s signature's digest %q is not accepted; use SHA-256, SHA-384 or SHA-512", name, out.digest)
	}
	if sha1 && !allowSHA1 {
		return newError(CodeAlgorithm, "the %s signature's digest is SHA-1; set the IdP to SHA-256, or allow SHA-1 in the service provider's settings", name)
	}
	if len(kids[1].ChildElements()) > 0 {
		return newError(CodeAlgorithm, "the %s signature's DigestMethod holds an unexpected element", name)
	}
	if out.digestValue, err = decodeBase64(text(kids[2])); err != nil || len(out.digestValue) != digestHashes[out.digest].Size() || len(kids[2].ChildElements()) > 0 {
		return newError(CodeSignature, "the %s signature's DigestValue is not a base64 %s digest", name, digestHashes[out.digest])
	}
	return nil
}

// verify checks sig over signed with the pinned certificates and returns
// the verified element: a detached copy of exactly what the digest covered
// (signed without its enveloped signature and without comments), which is
// the only place values may be read from.
//
// The work is done once whatever the number of pinned certificates: the
// canonical SignedInfo (from checkShape) is hashed once and its signature
// tried with each pinned key, KeyInfo's certificate only deciding which
// comes first; then, and only when one key verifies, signed is
// canonicalized and digested once. Nothing of KeyInfo is trusted.
//
// maxCanonical caps the canonical form: exclusive c14n declares a
// namespace again on every element that uses it below one that does not,
// so a long URI declared once could be written thousands of times. Real
// documents grow by far less than the factor of 3 the callers allow.
func (t *trust) verify(signed *etree.Element, sig *signature, maxCanonical int) (*etree.Element, *trustedCert, error) {
	tc := t.signer(sig)
	if tc == nil {
		which := "the configured IdP certificate"
		if len(t.certs) > 1 {
			which = "any of the configured IdP certificates"
		}
		return nil, nil, newError(CodeSignature, "the %s signature does not verify with %s; was the response changed, or did the IdP's signing certificate change?", signed.Tag, which)
	}
	h := digestHashes[sig.digest].New()
	verified, err := canonicalize(h, signed, sig.el, sig.prefixList, maxCanonical)
	if err != nil {
		return nil, nil, err
	}
	if !bytes.Equal(h.Sum(nil), sig.digestValue) {
		return nil, nil, newError(CodeSignature, "the %s signature does not verify: its SignedInfo is genuine but the %s's digest differs, so the %s was changed after the IdP signed it", signed.Tag, signed.Tag, signed.Tag)
	}
	return verified, tc, nil
}

// signer returns the pinned certificate whose key made sig's
// SignatureValue over its canonical SignedInfo, or nil.
func (t *trust) signer(sig *signature) *trustedCert {
	alg := sigHashes[sig.method]
	h := alg.hash.New()
	h.Write(sig.signedInfo)
	digest := h.Sum(nil)
	first := t.namedCert(sig.keyInfo)
	for n := range t.certs {
		tc := &t.certs[(first+n)%len(t.certs)]
		if verifyDigest(tc.cert, alg.ecdsa, alg.hash, digest, sig.value) {
			return tc
		}
	}
	return nil
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
