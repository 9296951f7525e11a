package saml

import (
	"bytes"
	"compress/flate"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/url"
	"strings"
	"time"
)

// MaxRelayStateLength is the longest RelayState SAML bindings 3.4.3 and
// 3.5.3 allow: 80 bytes.
const MaxRelayStateLength = 80

// maxRedirectQuery caps the raw query string of an HTTP-Redirect message.
// Browsers stop at about 8 KB of URL; the margin is for odd proxies.
const maxRedirectQuery = 64 << 10

// sigHashes maps each known SignatureMethod to its hash, and whether the
// key is ECDSA.
var sigHashes = map[string]struct {
	hash  crypto.Hash
	ecdsa bool
}{
	SignatureRSASHA1: {crypto.SHA1, false}, SignatureRSASHA256: {crypto.SHA256, false},
	SignatureRSASHA384: {crypto.SHA384, false}, SignatureRSASHA512: {crypto.SHA512, false},
	SignatureECDSASHA1: {crypto.SHA1, true}, SignatureECDSASHA256: {crypto.SHA256, true},
	SignatureECDSASHA384: {crypto.SHA384, true}, SignatureECDSASHA512: {crypto.SHA512, true},
}

// digestHashes maps each known DigestMethod to its hash.
var digestHashes = map[string]crypto.Hash{
	DigestSHA1: crypto.SHA1, DigestSHA256: crypto.SHA256, DigestSHA384: crypto.SHA384, DigestSHA512: crypto.SHA512,
}

// newID returns a fresh message ID: "_" and 40 hex digits from crypto/rand.
// It starts with "_", so it is a valid xs:ID (an NCName), whatever the
// digits.
func newID() (string, error) {
	var b [20]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("saml: random ID: %w", err)
	}
	return "_" + hex.EncodeToString(b[:]), nil
}

// xmlTime formats t as SAML's xs:dateTime in UTC.
func xmlTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// signing returns the SignatureMethod and DigestMethod this service
// provider signs with, defaults applied. Config validation made sure they
// fit the key.
func (sp *ServiceProvider) signing() (method, digest string) {
	method, digest = sp.cfg.SignatureMethod, sp.cfg.DigestMethod
	if method == "" {
		method = SignatureRSASHA256
		if sp.cfg.SigningKey != nil {
			if _, ok := sp.cfg.SigningKey.Public().(*ecdsa.PublicKey); ok {
				method = SignatureECDSASHA256
			}
		}
	}
	if digest == "" {
		digest = DigestSHA256
	}
	return method, digest
}

// validateSigning checks the fields of Config that outgoing messages use.
// NewServiceProvider runs it with the rest of the validation.
func (cfg *Config) validateSigning() []error {
	var errs []error
	field := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("saml: Config.%s: %s", name, fmt.Sprintf(format, args...)))
	}
	if cfg.SLOURL != "" {
		if err := checkEndpointURL(cfg.SLOURL); err != nil {
			field("SLOURL", "%v", err)
		}
	}
	if m := cfg.SignatureMethod; m != "" {
		alg, ok := sigHashes[m]
		switch {
		case !ok:
			field("SignatureMethod", "%q is not a supported method; use RSA or ECDSA with SHA-256, SHA-384 or SHA-512", m)
		case cfg.SigningKey != nil:
			if _, isEC := cfg.SigningKey.Public().(*ecdsa.PublicKey); isEC != alg.ecdsa {
				field("SignatureMethod", "%q does not fit SigningKey, a %T", m, cfg.SigningKey.Public())
			}
		}
	}
	if d := cfg.DigestMethod; d != "" {
		if _, ok := digestHashes[d]; !ok {
			field("DigestMethod", "%q is not a supported digest; use SHA-256, SHA-384 or SHA-512", d)
		}
	}
	return errs
}

// Validate reports whether Location is a URL a browser can be sent to: an
// absolute http or https URL with a host, without user info or fragment.
// Its error quotes Location and says what is wrong.
func (e Endpoint) Validate() error { return checkEndpointURL(e.Location) }

// checkEndpointURL accepts an absolute http or https URL, the only kinds a
// browser can be sent to.
func checkEndpointURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Errorf("%q is not a URL: %v", s, err)
	case u.Scheme != "https" && u.Scheme != "http":
		return fmt.Errorf("%q must be an https (or http) URL", s)
	case u.Host == "":
		return fmt.Errorf("%q has no host", s)
	case u.User != nil:
		return fmt.Errorf("%q must not hold credentials", s)
	case u.Fragment != "":
		return fmt.Errorf("%q must not have a fragment", s)
	}
	return nil
}

// signBytes signs data with the service provider's key and method. ECDSA
// signatures come out as the raw r‖s of XML-DSig 1.1, as xmlsec1 and
// Shibboleth expect them.
func (sp *ServiceProvider) signBytes(data []byte, method string) ([]byte, error) {
	alg := sigHashes[method]
	h := alg.hash.New()
	h.Write(data)
	sig, err := sp.cfg.SigningKey.Sign(rand.Reader, h.Sum(nil), alg.hash)
	if err != nil {
		return nil, fmt.Errorf("saml: signing: %w", err)
	}
	if pub, ok := sp.cfg.SigningKey.Public().(*ecdsa.PublicKey); ok {
		return ecdsaRaw(sig, (pub.Curve.Params().BitSize+7)/8)
	}
	return sig, nil
}

// ecdsaRaw turns an ASN.1 DER ECDSA signature into r‖s, each size bytes.
func ecdsaRaw(der []byte, size int) ([]byte, error) {
	var rs struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &rs)
	if err != nil || len(rest) != 0 || rs.R.Sign() <= 0 || rs.S.Sign() <= 0 ||
		rs.R.BitLen() > 8*size || rs.S.BitLen() > 8*size {
		return nil, errors.New("saml: the ECDSA signer returned a malformed signature")
	}
	out := make([]byte, 2*size)
	rs.R.FillBytes(out[:size])
	rs.S.FillBytes(out[size:])
	return out, nil
}

// redirectURL encodes xml for the HTTP-Redirect binding (SAML bindings
// 3.4.4): DEFLATE, base64, URL-encoding, then RelayState and, when the
// service provider has a signing key, SigAlg and a Signature over the query
// in that order (3.4.4.1).
func (sp *ServiceProvider) redirectURL(endpoint, param string, xml []byte, relayState string) (string, error) {
	var deflated bytes.Buffer
	fw, err := flate.NewWriter(&deflated, flate.BestCompression)
	if err != nil {
		return "", err
	}
	if _, err := fw.Write(xml); err != nil {
		return "", err
	}
	if err := fw.Close(); err != nil {
		return "", err
	}
	q := param + "=" + url.QueryEscape(base64.StdEncoding.EncodeToString(deflated.Bytes()))
	if relayState != "" {
		q += "&RelayState=" + url.QueryEscape(relayState)
	}
	if sp.cfg.SigningKey != nil {
		method, _ := sp.signing()
		q += "&SigAlg=" + url.QueryEscape(method)
		sig, err := sp.signBytes([]byte(q), method)
		if err != nil {
			return "", err
		}
		q += "&Signature=" + url.QueryEscape(base64.StdEncoding.EncodeToString(sig))
	}
	sep := "?"
	if strings.Contains(endpoint, "?") {
		sep = "&"
	}
	return endpoint + sep + q, nil
}

// redirectMessage is a message received through the HTTP-Redirect binding.
type redirectMessage struct {
	param      string // "SAMLRequest" or "SAMLResponse"
	xml        []byte // inflated
	relayState string
	sigAlg     string // empty when unsigned
	signature  []byte
	signed     []byte // the query octets the signature covers
}

// parseRedirectQuery decodes an HTTP-Redirect query string. It keeps the
// parameters exactly as received, because the signature covers them in that
// form (SAML bindings 3.4.4.1), refuses a repeated SAML parameter, and caps
// the inflated XML at maxXML bytes so that a DEFLATE bomb stops early.
func parseRedirectQuery(rawQuery string, maxXML int) (*redirectMessage, error) {
	if len(rawQuery) > maxRedirectQuery {
		return nil, newError(CodeMalformed, "the query string is %d bytes, more than the %d allowed", len(rawQuery), maxRedirectQuery)
	}
	raw := map[string]string{}
	for _, part := range strings.Split(rawQuery, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			continue
		}
		switch key {
		case "SAMLRequest", "SAMLResponse", "RelayState", "SigAlg", "Signature":
		default:
			continue // other parameters are the host's; the signature does not cover them
		}
		if _, dup := raw[key]; dup {
			return nil, newError(CodeMalformed, "the query carries %s twice", key)
		}
		raw[key] = v
	}
	m := &redirectMessage{}
	var encoded string
	for _, p := range []string{"SAMLRequest", "SAMLResponse"} {
		if v, ok := raw[p]; ok {
			if m.param != "" {
				return nil, newError(CodeMalformed, "the query carries both SAMLRequest and SAMLResponse")
			}
			m.param, encoded = p, v
		}
	}
	if m.param == "" {
		return nil, newError(CodeMalformed, "the query carries no SAMLRequest or SAMLResponse")
	}
	value := func(key string) (string, error) {
		s, err := url.QueryUnescape(raw[key])
		if err != nil {
			return "", wrapError(CodeMalformed, err, "the %s parameter is not URL-encoded properly: %v", key, err)
		}
		return s, nil
	}
	b64, err := value(m.param)
	if err != nil {
		return nil, err
	}
	// A '+' the sender left unencoded reads as a space; base64 has none.
	b64 = strings.ReplaceAll(b64, " ", "+")
	deflated, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(b64), ""))
	if err != nil {
		return nil, wrapError(CodeMalformed, err, "the %s parameter is not base64: %v", m.param, err)
	}
	if m.xml, err = inflate(deflated, maxXML); err != nil {
		return nil, err
	}
	if m.relayState, err = value("RelayState"); err != nil {
		return nil, err
	}
	sigAlg, hasAlg := raw["SigAlg"]
	sig, hasSig := raw["Signature"]
	if hasAlg != hasSig {
		return nil, newError(CodeSignature, "the query carries SigAlg or Signature without the other")
	}
	if !hasSig {
		return m, nil
	}
	if m.sigAlg, err = value("SigAlg"); err != nil {
		return nil, err
	}
	sigText, err := url.QueryUnescape(sig)
	if err != nil {
		return nil, wrapError(CodeMalformed, err, "the Signature parameter is not URL-encoded properly: %v", err)
	}
	sigText = strings.ReplaceAll(sigText, " ", "+")
	if m.signature, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(sigText), "")); err != nil {
		return nil, wrapError(CodeMalformed, err, "the Signature parameter is not base64: %v", err)
	}
	signed := m.param + "=" + encoded
	if rs, ok := raw["RelayState"]; ok {
		signed += "&RelayState=" + rs
	}
	m.signed = []byte(signed + "&SigAlg=" + sigAlg)
	return m, nil
}

// inflate undoes DEFLATE, reading at most max bytes of output.
func inflate(deflated []byte, max int) ([]byte, error) {
	r := flate.NewReader(bytes.NewReader(deflated))
	defer r.Close()
	out, err := io.ReadAll(io.LimitReader(r, int64(max)+1))
	if err != nil {
		return nil, wrapError(CodeMalformed, err, "the message is not DEFLATE-compressed as the HTTP-Redirect binding requires: %v", err)
	}
	if len(out) > max {
		return nil, newError(CodeMalformed, "the message inflates to more than the %d bytes allowed", max)
	}
	return out, nil
}

// verifyRedirect checks the signature of an HTTP-Redirect message with the
// pinned IdP certificates.
func (sp *ServiceProvider) verifyRedirect(t *trust, m *redirectMessage) error {
	alg, known := sigHashes[m.sigAlg]
	if !known {
		return newError(CodeAlgorithm, "the message is signed with SigAlg %q; use RSA or ECDSA with SHA-256, SHA-384 or SHA-512", m.sigAlg)
	}
	if signatureMethods[m.sigAlg] && !sp.cfg.AllowSHA1 {
		return newError(CodeAlgorithm, "the message is signed with SHA-1 (%s); set the IdP to SHA-256, or allow SHA-1 in the service provider's settings", m.sigAlg)
	}
	h := alg.hash.New()
	h.Write(m.signed)
	digest := h.Sum(nil)
	for _, tc := range t.certs {
		if verifyDigest(tc.cert, alg.ecdsa, alg.hash, digest, m.signature) {
			return nil
		}
	}
	return newError(CodeSignature, "the %s signature over the query does not verify with the configured IdP certificate(s); was the URL changed, or did the IdP's signing certificate change?", m.param)
}

// verifyDigest checks one signature value against one certificate. ECDSA
// values may be raw r‖s (XML-DSig 1.1) or ASN.1 DER.
func verifyDigest(cert *x509.Certificate, isECDSA bool, hash crypto.Hash, digest, sig []byte) bool {
	switch pub := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		return !isECDSA && rsa.VerifyPKCS1v15(pub, hash, digest, sig) == nil
	case *ecdsa.PublicKey:
		if !isECDSA {
			return false
		}
		size := (pub.Curve.Params().BitSize + 7) / 8
		if len(sig) == 2*size {
			r, s := new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
			if ecdsa.Verify(pub, digest, r, s) {
				return true
			}
		}
		return ecdsa.VerifyASN1(pub, digest, sig)
	}
	return false
}

// decodePOST decodes a SAML message posted in the HTTP-POST binding: plain
// base64 (line breaks allowed), at most max bytes once decoded.
func decodePOST(param, value string, max int) ([]byte, error) {
	s := strings.Join(strings.Fields(value), "")
	if s == "" {
		return nil, newError(CodeMalformed, "the %s form field is empty", param)
	}
	if base64.StdEncoding.DecodedLen(len(s)) > max+3 {
		return nil, newError(CodeMalformed, "the %s is about %d bytes, more than the %d allowed", param, base64.StdEncoding.DecodedLen(len(s)), max)
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, wrapError(CodeMalformed, err, "the %s form field is not base64: %v", param, err)
	}
	if len(raw) > max {
		return nil, newError(CodeMalformed, "the %s is %d bytes, more than the %d allowed", param, len(raw), max)
	}
	return raw, nil
}
