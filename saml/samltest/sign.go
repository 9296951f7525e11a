package samltest

import (
	"bytes"
	"cmp"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	_ "crypto/sha1" // SHA-1 signatures and digests, for algorithm tests
	_ "crypto/sha256"
	_ "crypto/sha512"
	"encoding/asn1"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// XML-DSig SignatureMethod URIs the IdP can sign with (RFC 6931). The SHA-1
// ones are here for tests that check a verifier refuses them. ECDSA
// signature values are the raw r||s of XML-DSig 1.1.
const (
	RSASHA1     = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
	RSASHA256   = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	RSASHA384   = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384"
	RSASHA512   = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
	ECDSASHA1   = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1"
	ECDSASHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
	ECDSASHA384 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"
	ECDSASHA512 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512"
)

// XML-DSig DigestMethod URIs the IdP can digest with (RFC 6931).
const (
	DigestSHA1   = "http://www.w3.org/2000/09/xmldsig#sha1"
	DigestSHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
	DigestSHA384 = "http://www.w3.org/2001/04/xmldsig-more#sha384"
	DigestSHA512 = "http://www.w3.org/2001/04/xmlenc#sha512"
)

const (
	nsDS          = "http://www.w3.org/2000/09/xmldsig#"
	algExcC14N    = "http://www.w3.org/2001/10/xml-exc-c14n#"
	algEnveloped  = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
	signatureOpen = `<ds:Signature xmlns:ds="` + nsDS + `">`
)

var signatureMethods = map[string]struct {
	kind keyType
	hash crypto.Hash
}{
	RSASHA1:     {keyRSA, crypto.SHA1},
	RSASHA256:   {keyRSA, crypto.SHA256},
	RSASHA384:   {keyRSA, crypto.SHA384},
	RSASHA512:   {keyRSA, crypto.SHA512},
	ECDSASHA1:   {keyECDSA, crypto.SHA1},
	ECDSASHA256: {keyECDSA, crypto.SHA256},
	ECDSASHA384: {keyECDSA, crypto.SHA384},
	ECDSASHA512: {keyECDSA, crypto.SHA512},
}

var digestMethods = map[string]crypto.Hash{
	DigestSHA1:   crypto.SHA1,
	DigestSHA256: crypto.SHA256,
	DigestSHA384: crypto.SHA384,
	DigestSHA512: crypto.SHA512,
}

// algs is a resolved pair of signature and digest algorithms.
type algs struct {
	sigMethod, digestMethod string
	sigHash, digestHash     crypto.Hash
}

// algorithms resolves the SignatureMethod and DigestMethod URIs to use:
// the arguments, else the IdP's fields, else the defaults for its key.
func (idp *IdP) algorithms(sigMethod, digestMethod string) (algs, error) {
	kind, err := keyKind(idp.Key.Public())
	if err != nil {
		return algs{}, err
	}
	sigMethod = cmp.Or(sigMethod, idp.SignatureMethod)
	if sigMethod == "" {
		sigMethod = RSASHA256
		if kind == keyECDSA {
			sigMethod = ECDSASHA256
		}
	}
	digestMethod = cmp.Or(cmp.Or(digestMethod, idp.DigestMethod), DigestSHA256)
	sm, ok := signatureMethods[sigMethod]
	if !ok {
		return algs{}, fmt.Errorf("samltest: signature method %q is not supported", sigMethod)
	}
	if sm.kind != kind {
		return algs{}, fmt.Errorf("samltest: signature method %q does not fit the IdP's %T key", sigMethod, idp.Key.Public())
	}
	dh, ok := digestMethods[digestMethod]
	if !ok {
		return algs{}, fmt.Errorf("samltest: digest method %q is not supported", digestMethod)
	}
	return algs{sigMethod: sigMethod, digestMethod: digestMethod, sigHash: sm.hash, digestHash: dh}, nil
}

// SignXML signs, in the order given, each element of doc whose ID attribute
// (unprefixed "ID") is in ids, and returns the signed document. Each
// ds:Signature goes right after the element's first Issuer child element,
// or becomes its first child when it has none. The signature uses the IdP's
// default algorithms (see IdP.SignatureMethod), exclusive c14n, the
// enveloped-signature and exc-c14n transforms, one Reference to "#"+ID, and
// a KeyInfo with the IdP certificate.
//
// Only the signature bytes are inserted: the rest of doc is kept byte for
// byte (except that a self-closing <x .../> that gets a signature becomes
// <x ...>...</x>), so tests can hand-edit XML (wrapping, comments, odd
// namespaces) before or after signing. Digests are computed on doc as
// etree parses it, in each element's namespace context. When an ID occurs
// more than once, the first element in document order is signed. Sign
// inner elements before outer ones (the Assertion before the Response), so
// that the outer signature covers the inner one.
func (idp *IdP) SignXML(doc []byte, ids ...string) ([]byte, error) {
	a, err := idp.algorithms("", "")
	if err != nil {
		return nil, err
	}
	return idp.signIDs(doc, a, "", ids)
}

func (idp *IdP) signIDs(doc []byte, a algs, prefixList string, ids []string) ([]byte, error) {
	for _, id := range ids {
		var err error
		if doc, err = idp.signID(doc, a, prefixList, id); err != nil {
			return nil, err
		}
	}
	return doc, nil
}

// signID signs the first element whose ID is id. It parses the document
// again for each signature so that the digest covers exactly what a
// verifier will parse, earlier signatures included.
func (idp *IdP) signID(doc []byte, a algs, prefixList, id string) ([]byte, error) {
	tree := etree.NewDocument()
	if err := tree.ReadFromBytes(doc); err != nil {
		return nil, fmt.Errorf("samltest: parsing the document: %w", err)
	}
	el := findByID(tree.Root(), id)
	if el == nil {
		return nil, fmt.Errorf("samltest: no element has ID %q", id)
	}
	pos, err := locate(doc, id)
	if err != nil {
		return nil, err
	}

	digest, err := canonicalHash(el, prefixList, a.digestHash)
	if err != nil {
		return nil, err
	}
	signedInfo := signedInfoXML(id, a, prefixList, digest)

	// Canonicalize SignedInfo where it will live: inside the Signature,
	// inside el, so that in-scope namespaces are exactly the verifier's.
	sigTree := etree.NewDocument()
	if err := sigTree.ReadFromString(signatureOpen + signedInfo + "</ds:Signature>"); err != nil {
		return nil, fmt.Errorf("samltest: building SignedInfo: %w", err)
	}
	sigEl := sigTree.Root()
	el.InsertChildAt(0, sigEl)
	signedInfoHash, err := canonicalHash(sigEl.ChildElements()[0], "", a.sigHash)
	if err != nil {
		return nil, err
	}
	sigValue, err := idp.signDigest(signedInfoHash, a.sigHash)
	if err != nil {
		return nil, err
	}

	var sig strings.Builder
	sig.WriteString(signatureOpen)
	sig.WriteString(signedInfo)
	sig.WriteString("<ds:SignatureValue>")
	sig.WriteString(base64.StdEncoding.EncodeToString(sigValue))
	sig.WriteString("</ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>")
	sig.WriteString(base64.StdEncoding.EncodeToString(idp.Certificate.Raw))
	sig.WriteString("</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>")
	return pos.insert(doc, sig.String()), nil
}

func signedInfoXML(id string, a algs, prefixList string, digest []byte) string {
	var b strings.Builder
	b.WriteString(`<ds:SignedInfo><ds:CanonicalizationMethod Algorithm="` + algExcC14N + `"/>`)
	b.WriteString(`<ds:SignatureMethod Algorithm="` + a.sigMethod + `"/>`)
	b.WriteString(`<ds:Reference URI="#`)
	writeEscaped(&b, id, true)
	b.WriteString(`"><ds:Transforms><ds:Transform Algorithm="` + algEnveloped + `"/>`)
	if prefixList == "" {
		b.WriteString(`<ds:Transform Algorithm="` + algExcC14N + `"/>`)
	} else {
		b.WriteString(`<ds:Transform Algorithm="` + algExcC14N + `"><ec:InclusiveNamespaces xmlns:ec="` + algExcC14N + `" PrefixList="`)
		writeEscaped(&b, prefixList, true)
		b.WriteString(`"/></ds:Transform>`)
	}
	b.WriteString(`</ds:Transforms><ds:DigestMethod Algorithm="` + a.digestMethod + `"/>`)
	b.WriteString(`<ds:DigestValue>` + base64.StdEncoding.EncodeToString(digest) + `</ds:DigestValue>`)
	b.WriteString(`</ds:Reference></ds:SignedInfo>`)
	return b.String()
}

// canonicalHash returns the hash of el's exclusive canonical form, computed
// in el's namespace context (as a detached copy that declares every
// namespace in scope; exc-c14n keeps only those it uses). The copy is made
// here rather than with goxmldsig's etreeutils.NSDetatch, which stops at
// 1,000 elements: the test IdP must sign responses as large as a real IdP
// does.
func canonicalHash(el *etree.Element, prefixList string, h crypto.Hash) ([]byte, error) {
	c14n, err := dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList(prefixList).Canonicalize(detach(el))
	if err != nil {
		return nil, fmt.Errorf("samltest: canonicalizing <%s>: %w", el.FullTag(), err)
	}
	hh := h.New()
	hh.Write(c14n)
	return hh.Sum(nil), nil
}

// detach returns a copy of el that declares, besides its own, every
// namespace its ancestors declare (the innermost declaration of a prefix
// wins).
func detach(el *etree.Element) *etree.Element {
	out := el.Copy()
	declared := map[string]bool{}
	for _, a := range el.Attr {
		if a.Space == "xmlns" || a.Space == "" && a.Key == "xmlns" {
			declared[a.FullKey()] = true
		}
	}
	for p := el.Parent(); p != nil; p = p.Parent() {
		for _, a := range p.Attr {
			if a.Space == "xmlns" || a.Space == "" && a.Key == "xmlns" {
				if k := a.FullKey(); !declared[k] {
					declared[k] = true
					out.CreateAttr(k, a.Value)
				}
			}
		}
	}
	return out
}

// signDigest signs a digest with the IdP key: PKCS #1 v1.5 for RSA, and for
// ECDSA the fixed-size r||s of XML-DSig 1.1 and RFC 4050 (each integer
// left-padded to the curve size), not the ASN.1 DER that crypto.Signer
// returns.
func (idp *IdP) signDigest(digest []byte, h crypto.Hash) ([]byte, error) {
	sig, err := idp.Key.Sign(rand.Reader, digest, h)
	if err != nil {
		return nil, fmt.Errorf("samltest: signing: %w", err)
	}
	pub, ok := idp.Key.Public().(*ecdsa.PublicKey)
	if !ok {
		return sig, nil
	}
	return rawECDSA(sig, (pub.Curve.Params().BitSize+7)/8)
}

// rawECDSA turns an ASN.1 DER ECDSA signature into r||s, each size bytes.
func rawECDSA(der []byte, size int) ([]byte, error) {
	var rs struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &rs)
	if err != nil || len(rest) != 0 {
		return nil, errors.New("samltest: the ECDSA signer returned a malformed signature")
	}
	if rs.R.Sign() <= 0 || rs.S.Sign() <= 0 || rs.R.BitLen() > 8*size || rs.S.BitLen() > 8*size {
		return nil, errors.New("samltest: the ECDSA signer returned an out-of-range signature")
	}
	out := make([]byte, 2*size)
	rs.R.FillBytes(out[:size])
	rs.S.FillBytes(out[size:])
	return out, nil
}

// findByID returns the first element in document order whose unprefixed ID
// attribute is id.
func findByID(el *etree.Element, id string) *etree.Element {
	for _, a := range el.Attr {
		if a.Space == "" && a.Key == "ID" && a.Value == id {
			return el
		}
	}
	for _, c := range el.ChildElements() {
		if found := findByID(c, id); found != nil {
			return found
		}
	}
	return nil
}

// insertion is where a Signature goes in the document's bytes.
type insertion struct {
	at int
	// selfClosing is set when the signed element is written <x .../>: the
	// signature then goes between a new start and end tag.
	selfClosing bool
	tag         string
}

func (p insertion) insert(doc []byte, sig string) []byte {
	var out bytes.Buffer
	out.Grow(len(doc) + len(sig) + len(p.tag) + 3)
	if p.selfClosing {
		out.Write(doc[:p.at-2])
		out.WriteString(">" + sig + "</" + p.tag + ">")
	} else {
		out.Write(doc[:p.at])
		out.WriteString(sig)
	}
	out.Write(doc[p.at:])
	return out.Bytes()
}

// locate finds, with byte offsets from encoding/xml's tokenizer, where the
// Signature of the first element whose ID is id goes: after the end tag of
// its first Issuer child element, else right after its start tag.
func locate(doc []byte, id string) (insertion, error) {
	d := xml.NewDecoder(bytes.NewReader(doc))
	depth, target, issuer := 0, 0, 0
	var p insertion
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			return insertion{}, fmt.Errorf("samltest: no element has ID %q", id)
		}
		if err != nil {
			return insertion{}, fmt.Errorf("samltest: tokenizing the document: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch {
			case target == 0 && hasID(t, id):
				target = depth
				off := int(d.InputOffset())
				p = insertion{at: off, tag: rawName(t.Name)}
				if off >= 2 && string(doc[off-2:off]) == "/>" {
					p.selfClosing = true
					return p, nil
				}
			case target > 0 && issuer == 0 && depth == target+1 && t.Name.Local == "Issuer":
				issuer = depth
			}
		case xml.EndElement:
			switch {
			case issuer > 0 && depth == issuer:
				p.at = int(d.InputOffset())
				return p, nil
			case target > 0 && depth == target:
				return p, nil // no Issuer child: the signature goes first
			}
			depth--
		}
	}
}

func hasID(t xml.StartElement, id string) bool {
	for _, a := range t.Attr {
		if a.Name.Space == "" && a.Name.Local == "ID" && a.Value == id {
			return true
		}
	}
	return false
}

func rawName(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}
