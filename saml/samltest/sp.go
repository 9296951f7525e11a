package samltest

import (
	"bytes"
	"compress/flate"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/siteadmin/integrations/saml"
)

// maxMessage caps a request the IdP reads, compressed or not.
const maxMessage = 1 << 20

// Request is a SAML request (AuthnRequest or LogoutRequest) or a
// LogoutResponse as the IdP received it from a service provider, decoded
// and, when signed, checked.
type Request struct {
	// Kind is the root element's name: "AuthnRequest", "LogoutRequest" or
	// "LogoutResponse".
	Kind string
	// Binding is saml.BindingHTTPRedirect or saml.BindingHTTPPOST.
	Binding string
	// XML is the message as decoded (inflated for HTTP-Redirect).
	XML []byte
	// RelayState is the RelayState sent along; empty when none.
	RelayState string
	// Signed reports a signature that verified with one of the SP
	// certificates given to ReadRequest. SigAlg is its SignatureMethod.
	Signed bool
	SigAlg string

	// ID, Version, IssueInstant, Destination and Issuer are the
	// message's.
	ID, Version, Destination, Issuer string
	IssueInstant                     time.Time

	// AuthnRequest fields.
	ACSURL, ProtocolBinding string
	ForceAuthn, IsPassive   bool
	// NameIDPolicyFormat and AllowCreate are the NameIDPolicy's; HasNameIDPolicy
	// says whether there is one.
	HasNameIDPolicy    bool
	NameIDPolicyFormat string
	AllowCreate        bool
	// AuthnContextComparison and AuthnContextClassRefs are the
	// RequestedAuthnContext's.
	AuthnContextComparison string
	AuthnContextClassRefs  []string

	// LogoutRequest fields: the NameID (and its Format) and SessionIndexes.
	NameID, NameIDFormat string
	SessionIndexes       []string

	// LogoutResponse fields.
	InResponseTo, StatusCode string
}

// ReadRequest reads what a service provider sent the IdP: from the query
// of a GET (HTTP-Redirect: base64 of DEFLATE, with SigAlg and Signature
// over the query when signed) or from the form of a POST (HTTP-POST:
// base64 XML, with an enveloped signature when signed). When spCerts are
// given the message must be signed by one of them; a signature that does
// not verify is always an error. The Destination, when present, must be
// the IdP's SSOURL (for an AuthnRequest) or SLOURL. It checks nothing
// else, so that tests can look at every field.
func (idp *IdP) ReadRequest(r *http.Request, spCerts ...*x509.Certificate) (*Request, error) {
	var req *Request
	var err error
	switch r.Method {
	case http.MethodGet:
		req, err = readRedirect(r.URL.RawQuery, spCerts)
	case http.MethodPost:
		r.Body = http.MaxBytesReader(nil, r.Body, 2*maxMessage)
		if err := r.ParseForm(); err != nil {
			return nil, fmt.Errorf("samltest: reading the form: %w", err)
		}
		req, err = readPOST(r.PostForm, spCerts)
	default:
		return nil, fmt.Errorf("samltest: %s is not a SAML binding", r.Method)
	}
	if err != nil {
		return nil, err
	}
	if len(spCerts) > 0 && !req.Signed {
		return nil, errors.New("samltest: the message is not signed, and SP certificates were given")
	}
	want := idp.SLOURL
	if req.Kind == "AuthnRequest" {
		want = idp.SSOURL
	}
	if req.Destination != "" && req.Destination != want {
		return nil, fmt.Errorf("samltest: the %s is for %q, the IdP's endpoint is %q", req.Kind, req.Destination, want)
	}
	return req, nil
}

func readRedirect(rawQuery string, certs []*x509.Certificate) (*Request, error) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, fmt.Errorf("samltest: the query: %w", err)
	}
	param := "SAMLRequest"
	if !q.Has(param) {
		param = "SAMLResponse"
	}
	if len(q[param]) != 1 {
		return nil, errors.New("samltest: the query must carry exactly one SAMLRequest or SAMLResponse")
	}
	deflated, err := base64.StdEncoding.DecodeString(q.Get(param))
	if err != nil {
		return nil, fmt.Errorf("samltest: the %s is not base64: %w", param, err)
	}
	xml, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(deflated)), maxMessage+1))
	if err != nil {
		return nil, fmt.Errorf("samltest: the %s does not inflate: %w", param, err)
	}
	if len(xml) > maxMessage {
		return nil, errors.New("samltest: the message inflates to more than 1 MiB")
	}
	req, err := parseRequest(xml)
	if err != nil {
		return nil, err
	}
	req.Binding = saml.BindingHTTPRedirect
	req.RelayState = q.Get("RelayState")
	if !q.Has("Signature") {
		return req, nil
	}
	// The signed octets are the parameters as they came, in the order of
	// SAML bindings 3.4.4.1, whatever their order in the query.
	raw := map[string]string{}
	for _, kv := range strings.Split(rawQuery, "&") {
		k, v, _ := strings.Cut(kv, "=")
		raw[k] = v
	}
	signed := param + "=" + raw[param]
	if _, ok := raw["RelayState"]; ok {
		signed += "&RelayState=" + raw["RelayState"]
	}
	signed += "&SigAlg=" + raw["SigAlg"]
	sig, err := base64.StdEncoding.DecodeString(q.Get("Signature"))
	if err != nil {
		return nil, fmt.Errorf("samltest: the Signature is not base64: %w", err)
	}
	req.SigAlg = q.Get("SigAlg")
	if err := verifyBytes(certs, req.SigAlg, []byte(signed), sig); err != nil {
		return nil, err
	}
	req.Signed = true
	return req, nil
}

func readPOST(form url.Values, certs []*x509.Certificate) (*Request, error) {
	param := "SAMLRequest"
	if !form.Has(param) {
		param = "SAMLResponse"
	}
	xml, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(form.Get(param)), ""))
	if err != nil {
		return nil, fmt.Errorf("samltest: the %s is not base64: %w", param, err)
	}
	req, err := parseRequest(xml)
	if err != nil {
		return nil, err
	}
	req.Binding = saml.BindingHTTPPOST
	req.RelayState = form.Get("RelayState")
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(xml); err != nil {
		return nil, err
	}
	sig := doc.Root().SelectElement("Signature")
	if sig == nil {
		return req, nil
	}
	if sm := sig.FindElement("./SignedInfo/SignatureMethod"); sm != nil {
		req.SigAlg = sm.SelectAttrValue("Algorithm", "")
	}
	if err := verifyXML(doc.Root(), sig, certs); err != nil {
		return nil, err
	}
	req.Signed = true
	return req, nil
}

// verifyXML checks the enveloped signature of root with goxmldsig, trying
// each certificate. ECDSA values in raw r||s are turned into the DER that
// goxmldsig expects.
func verifyXML(root, sig *etree.Element, certs []*x509.Certificate) error {
	if len(certs) == 0 {
		return errors.New("samltest: the message is signed but no SP certificate was given to check it")
	}
	value := sig.SelectElement("SignatureValue")
	if value == nil {
		return errors.New("samltest: the signature has no SignatureValue")
	}
	sent := strings.Join(strings.Fields(value.Text()), "")
	var lastErr error
	for _, c := range certs {
		v := sent
		if pub, ok := c.PublicKey.(*ecdsa.PublicKey); ok {
			if raw, err := base64.StdEncoding.DecodeString(sent); err == nil && len(raw) == 2*curveBytes(pub) {
				v = base64.StdEncoding.EncodeToString(derFromRaw(raw))
			}
		}
		value.SetText(v)
		ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{c}})
		ctx.Clock = dsig.NewFakeClockAt(c.NotBefore)
		if _, err := ctx.Validate(root); err == nil {
			return nil
		} else {
			lastErr = err
		}
	}
	return fmt.Errorf("samltest: the XML signature does not verify with the SP certificate(s): %w", lastErr)
}

// verifyBytes checks a signature over data, as the HTTP-Redirect binding
// signs the query.
func verifyBytes(certs []*x509.Certificate, sigAlg string, data, sig []byte) error {
	if len(certs) == 0 {
		return errors.New("samltest: the message is signed but no SP certificate was given to check it")
	}
	m, ok := signatureMethods[sigAlg]
	if !ok {
		return fmt.Errorf("samltest: SigAlg %q is not supported", sigAlg)
	}
	h := m.hash.New()
	h.Write(data)
	digest := h.Sum(nil)
	for _, c := range certs {
		switch pub := c.PublicKey.(type) {
		case *rsa.PublicKey:
			if m.kind == keyRSA && rsa.VerifyPKCS1v15(pub, m.hash, digest, sig) == nil {
				return nil
			}
		case *ecdsa.PublicKey:
			n := curveBytes(pub)
			if m.kind == keyECDSA && len(sig) == 2*n &&
				ecdsa.Verify(pub, digest, new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:])) {
				return nil
			}
		}
	}
	return errors.New("samltest: the query signature does not verify with the SP certificate(s)")
}

func curveBytes(pub *ecdsa.PublicKey) int { return (pub.Curve.Params().BitSize + 7) / 8 }

func derFromRaw(raw []byte) []byte {
	n := len(raw) / 2
	der, _ := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(raw[:n]), new(big.Int).SetBytes(raw[n:])})
	return der
}

// parseRequest reads the fields of a request. It refuses DOCTYPEs.
func parseRequest(xml []byte) (*Request, error) {
	if bytes.Contains(xml, []byte("<!DOCTYPE")) {
		return nil, errors.New("samltest: the message holds a DOCTYPE")
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(xml); err != nil {
		return nil, fmt.Errorf("samltest: the message is not XML: %w", err)
	}
	root := doc.Root()
	if root == nil || root.NamespaceURI() != nsProtocol {
		return nil, errors.New("samltest: the message is not a SAML protocol message")
	}
	req := &Request{
		Kind: root.Tag, XML: xml,
		ID:              root.SelectAttrValue("ID", ""),
		Version:         root.SelectAttrValue("Version", ""),
		Destination:     root.SelectAttrValue("Destination", ""),
		ACSURL:          root.SelectAttrValue("AssertionConsumerServiceURL", ""),
		ProtocolBinding: root.SelectAttrValue("ProtocolBinding", ""),
		ForceAuthn:      root.SelectAttrValue("ForceAuthn", "") == "true",
		IsPassive:       root.SelectAttrValue("IsPassive", "") == "true",
		InResponseTo:    root.SelectAttrValue("InResponseTo", ""),
	}
	if t, err := time.Parse(time.RFC3339, root.SelectAttrValue("IssueInstant", "")); err == nil {
		req.IssueInstant = t
	}
	for _, c := range root.ChildElements() {
		switch c.Tag {
		case "Issuer":
			req.Issuer = strings.TrimSpace(c.Text())
		case "NameIDPolicy":
			req.HasNameIDPolicy = true
			req.NameIDPolicyFormat = c.SelectAttrValue("Format", "")
			req.AllowCreate = c.SelectAttrValue("AllowCreate", "") == "true"
		case "RequestedAuthnContext":
			req.AuthnContextComparison = c.SelectAttrValue("Comparison", "")
			for _, ref := range c.SelectElements("AuthnContextClassRef") {
				req.AuthnContextClassRefs = append(req.AuthnContextClassRefs, strings.TrimSpace(ref.Text()))
			}
		case "NameID":
			req.NameID = strings.TrimSpace(c.Text())
			req.NameIDFormat = c.SelectAttrValue("Format", "")
		case "SessionIndex":
			req.SessionIndexes = append(req.SessionIndexes, strings.TrimSpace(c.Text()))
		case "Status":
			if sc := c.SelectElement("StatusCode"); sc != nil {
				req.StatusCode = sc.SelectAttrValue("Value", "")
			}
		}
	}
	return req, nil
}

// Message is a message the IdP sends a service provider, for one binding.
type Message struct {
	// ID is the message's ID.
	ID string
	// Binding is saml.BindingHTTPRedirect or saml.BindingHTTPPOST.
	Binding string
	// XML is the message (signed in HTTP-POST unless the spec said
	// Unsigned).
	XML []byte
	// URL is, for HTTP-Redirect, the whole URL to send the browser to.
	URL string
	// Form is, for HTTP-POST, the form to post to the destination.
	Form url.Values
	// Destination is where the message goes.
	Destination string
}

// Request returns an http.Request that delivers m, as a browser would:
// a GET of URL, or a POST of Form to Destination.
func (m *Message) Request() *http.Request {
	if m.Binding == saml.BindingHTTPRedirect {
		r, _ := http.NewRequest(http.MethodGet, m.URL, nil)
		return r
	}
	r, _ := http.NewRequest(http.MethodPost, m.Destination, strings.NewReader(m.Form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// LogoutSpec describes a LogoutRequest or LogoutResponse from the IdP. Every
// zero value means the documented default.
type LogoutSpec struct {
	// Destination is the service provider's SLO URL, where the message
	// goes. Required; Omit leaves the attribute out (and the message then
	// goes to a relative URL).
	Destination string
	// Binding is saml.BindingHTTPRedirect (the default) or
	// saml.BindingHTTPPOST.
	Binding string
	// RelayState is sent along when not empty.
	RelayState string
	// Unsigned sends the message without a signature. Default false:
	// signed over the query (HTTP-Redirect) or in the XML (HTTP-POST).
	Unsigned bool
	// SignatureMethod is the signature algorithm URI. Default: the IdP's.
	SignatureMethod string
	// Now is the IssueInstant. Default: time.Now().
	Now time.Time
	// ID is the message ID. Default: NewID().
	ID string
	// Issuer is the Issuer. Default: the IdP's entity ID; Omit leaves it
	// out.
	Issuer string

	// NameID is the LogoutRequest's NameID. Default: DefaultNameID.
	NameID string
	// NameIDFormat is its Format. Default: NameIDFormatEmail.
	NameIDFormat string
	// SessionIndex, when not empty, is the LogoutRequest's SessionIndex.
	SessionIndex string
	// NotOnOrAfter, when not zero, is the LogoutRequest's NotOnOrAfter.
	NotOnOrAfter time.Time

	// InResponseTo is the LogoutResponse's InResponseTo.
	InResponseTo string
	// StatusCode is the LogoutResponse's status. Default: StatusSuccess.
	StatusCode string
}

// LogoutRequest returns a LogoutRequest from the IdP to a service
// provider's SLO URL: the IdP asks it to end spec.NameID's session.
func (idp *IdP) LogoutRequest(spec LogoutSpec) (*Message, error) {
	return idp.logoutMessage("LogoutRequest", "SAMLRequest", spec)
}

// LogoutResponse returns the IdP's LogoutResponse to a service provider's
// LogoutRequest spec.InResponseTo.
func (idp *IdP) LogoutResponse(spec LogoutSpec) (*Message, error) {
	return idp.logoutMessage("LogoutResponse", "SAMLResponse", spec)
}

func (idp *IdP) logoutMessage(kind, param string, s LogoutSpec) (*Message, error) {
	a, err := idp.algorithms(s.SignatureMethod, "")
	if err != nil {
		return nil, err
	}
	if s.Now.IsZero() {
		s.Now = time.Now()
	}
	if s.ID == "" {
		if s.ID, err = NewID(); err != nil {
			return nil, err
		}
	}
	if s.Issuer == "" {
		s.Issuer = idp.EntityID
	}
	if s.Binding == "" {
		s.Binding = saml.BindingHTTPRedirect
	}
	w := &xmlWriter{}
	w.raw(`<samlp:` + kind + ` xmlns:samlp="` + nsProtocol + `" xmlns:saml="` + nsAssertion + `"`)
	w.attr("ID", s.ID)
	w.raw(` Version="2.0"`)
	w.attr("IssueInstant", formatTime(s.Now))
	w.attr("Destination", s.Destination)
	w.optAttr("InResponseTo", s.InResponseTo)
	if kind == "LogoutRequest" && !s.NotOnOrAfter.IsZero() {
		w.attr("NotOnOrAfter", formatTime(s.NotOnOrAfter))
	}
	w.raw(`>`)
	w.element("saml:Issuer", "", s.Issuer)
	if kind == "LogoutRequest" {
		nameID := s.NameID
		if nameID == "" {
			nameID = DefaultNameID
		}
		format := s.NameIDFormat
		if format == "" {
			format = NameIDFormatEmail
		}
		w.raw(`<saml:NameID`)
		w.attr("Format", format)
		w.raw(`>`)
		w.text(nameID)
		w.raw(`</saml:NameID>`)
		if s.SessionIndex != "" {
			w.element("samlp:SessionIndex", "", s.SessionIndex)
		}
	} else {
		status := s.StatusCode
		if status == "" {
			status = StatusSuccess
		}
		w.raw(`<samlp:Status><samlp:StatusCode`)
		w.attr("Value", status)
		w.raw(`/></samlp:Status>`)
	}
	w.raw(`</samlp:` + kind + `>`)
	if w.err != nil {
		return nil, w.err
	}
	doc := []byte(w.b.String())
	to := s.Destination
	if to == Omit {
		to = ""
	}
	m := &Message{ID: s.ID, Binding: s.Binding, Destination: to}
	switch s.Binding {
	case saml.BindingHTTPRedirect:
		m.XML = doc
		m.URL, err = idp.redirectURL(to, param, doc, s.RelayState, a, s.Unsigned)
		if err != nil {
			return nil, err
		}
	case saml.BindingHTTPPOST:
		if !s.Unsigned {
			if doc, err = idp.signIDs(doc, a, "", []string{s.ID}); err != nil {
				return nil, err
			}
		}
		m.XML = doc
		m.Form = url.Values{param: {base64.StdEncoding.EncodeToString(doc)}}
		if s.RelayState != "" {
			m.Form.Set("RelayState", s.RelayState)
		}
	default:
		return nil, fmt.Errorf("samltest: binding %q is not supported", s.Binding)
	}
	return m, nil
}

// redirectURL encodes doc for the HTTP-Redirect binding and, unless
// unsigned, signs the query with the IdP key.
func (idp *IdP) redirectURL(dest, param string, doc []byte, relayState string, a algs, unsigned bool) (string, error) {
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.DefaultCompression)
	fw.Write(doc)
	fw.Close()
	q := param + "=" + url.QueryEscape(base64.StdEncoding.EncodeToString(buf.Bytes()))
	if relayState != "" {
		q += "&RelayState=" + url.QueryEscape(relayState)
	}
	if !unsigned {
		q += "&SigAlg=" + url.QueryEscape(a.sigMethod)
		h := a.sigHash.New()
		h.Write([]byte(q))
		sig, err := idp.signDigest(h.Sum(nil), a.sigHash)
		if err != nil {
			return "", err
		}
		q += "&Signature=" + url.QueryEscape(base64.StdEncoding.EncodeToString(sig))
	}
	sep := "?"
	if strings.Contains(dest, "?") {
		sep = "&"
	}
	return dest + sep + q, nil
}

// SignQuery returns the Signature, base64, of the HTTP-Redirect octets
// signed (such as "SAMLRequest=...&RelayState=...&SigAlg=..."), made with
// the IdP key and sigAlg (empty for the IdP's default), for tests that
// build a query by hand.
func (idp *IdP) SignQuery(signed, sigAlg string) (string, error) {
	a, err := idp.algorithms(sigAlg, "")
	if err != nil {
		return "", err
	}
	h := a.sigHash.New()
	h.Write([]byte(signed))
	sig, err := idp.signDigest(h.Sum(nil), a.sigHash)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// SPMetadata is what an IdP reads from a service provider's metadata.
type SPMetadata struct {
	// EntityID is the SP's entity ID.
	EntityID string
	// ACS and SLO are the AssertionConsumerService and
	// SingleLogoutService endpoints, in document order.
	ACS, SLO []saml.Endpoint
	// SigningCertificates and EncryptionCertificates are the KeyDescriptor
	// certificates by use (no use counts as both).
	SigningCertificates, EncryptionCertificates []*x509.Certificate
	// EncryptionMethods are the Algorithm URIs of the EncryptionMethod
	// elements of the KeyDescriptors for encryption, in document order:
	// the key transports and ciphers the SP accepts.
	EncryptionMethods []string
	// AuthnRequestsSigned and WantAssertionsSigned are the SPSSODescriptor's.
	AuthnRequestsSigned, WantAssertionsSigned bool
	// NameIDFormats are the NameIDFormat values.
	NameIDFormats []string
	// ValidUntil and CacheDuration are the EntityDescriptor's, zero or
	// empty when absent.
	ValidUntil    time.Time
	CacheDuration string
}

// ParseSPMetadata reads a service provider's metadata (an EntityDescriptor
// with one SPSSODescriptor), as an IdP imports it. It refuses DOCTYPEs.
func ParseSPMetadata(data []byte) (*SPMetadata, error) {
	if bytes.Contains(data, []byte("<!DOCTYPE")) {
		return nil, errors.New("samltest: the metadata holds a DOCTYPE")
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, fmt.Errorf("samltest: the metadata is not XML: %w", err)
	}
	root := doc.Root()
	if root == nil || root.Tag != "EntityDescriptor" || root.NamespaceURI() != nsMetadata {
		return nil, errors.New("samltest: the metadata root is not an md:EntityDescriptor")
	}
	md := &SPMetadata{EntityID: root.SelectAttrValue("entityID", ""), CacheDuration: root.SelectAttrValue("cacheDuration", "")}
	if v := root.SelectAttrValue("validUntil", ""); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return nil, fmt.Errorf("samltest: validUntil %q: %w", v, err)
		}
		md.ValidUntil = t
	}
	roles := root.SelectElements("SPSSODescriptor")
	if len(roles) != 1 {
		return nil, fmt.Errorf("samltest: the metadata has %d SPSSODescriptors, want 1", len(roles))
	}
	role := roles[0]
	md.AuthnRequestsSigned = role.SelectAttrValue("AuthnRequestsSigned", "") == "true"
	md.WantAssertionsSigned = role.SelectAttrValue("WantAssertionsSigned", "") == "true"
	for _, kd := range role.SelectElements("KeyDescriptor") {
		el := kd.FindElement("./KeyInfo/X509Data/X509Certificate")
		if el == nil {
			continue
		}
		der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(el.Text()), ""))
		if err != nil {
			return nil, fmt.Errorf("samltest: a KeyDescriptor certificate is not base64: %w", err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("samltest: a KeyDescriptor certificate: %w", err)
		}
		use := kd.SelectAttrValue("use", "")
		if use != "encryption" {
			md.SigningCertificates = append(md.SigningCertificates, c)
		}
		if use != "signing" {
			md.EncryptionCertificates = append(md.EncryptionCertificates, c)
			for _, m := range kd.SelectElements("EncryptionMethod") {
				md.EncryptionMethods = append(md.EncryptionMethods, m.SelectAttrValue("Algorithm", ""))
			}
		}
	}
	for _, e := range role.SelectElements("SingleLogoutService") {
		md.SLO = append(md.SLO, saml.Endpoint{Binding: e.SelectAttrValue("Binding", ""), Location: e.SelectAttrValue("Location", "")})
	}
	for _, e := range role.SelectElements("NameIDFormat") {
		md.NameIDFormats = append(md.NameIDFormats, strings.TrimSpace(e.Text()))
	}
	for _, e := range role.SelectElements("AssertionConsumerService") {
		md.ACS = append(md.ACS, saml.Endpoint{Binding: e.SelectAttrValue("Binding", ""), Location: e.SelectAttrValue("Location", "")})
	}
	if len(md.ACS) == 0 {
		return nil, errors.New("samltest: the metadata has no AssertionConsumerService")
	}
	return md, nil
}
