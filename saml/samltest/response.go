package samltest

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Omit, as the value of a ResponseSpec or Attribute string field that says
// so, leaves that attribute or element out of the XML, for tests of how a
// verifier treats a missing value.
const Omit = "\x00omit"

// OmitTime returns the time that, as the value of a ResponseSpec time field
// that says so, leaves that attribute out of the XML. It is one nanosecond
// after the zero time (which means "default").
func OmitTime() time.Time { return time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC) }

// Defaults of ResponseSpec.
const (
	// DefaultACSURL is the default ResponseSpec.ACSURL: the Destination
	// and the Recipient.
	DefaultACSURL = "https://sp.example.com/saml/acs"
	// DefaultAudience is the default ResponseSpec.Audience.
	DefaultAudience = "https://sp.example.com/saml/metadata"
	// DefaultNameID is the default ResponseSpec.NameID.
	DefaultNameID = "alice@example.com"
	// DefaultValidity is how long after Now the Conditions and the
	// SubjectConfirmationData are valid by default.
	DefaultValidity = 5 * time.Minute
	// DefaultSessionLength is how long after Now SessionNotOnOrAfter is by
	// default.
	DefaultSessionLength = 8 * time.Hour
)

// NameID formats, for ResponseSpec.NameIDFormat (SAML core 8.3).
const (
	NameIDFormatEmail       = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
	NameIDFormatUnspecified = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
	NameIDFormatPersistent  = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
	NameIDFormatTransient   = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
)

// Attribute name formats, for Attribute.NameFormat (SAML core 8.2).
const (
	AttrNameFormatUnspecified = "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified"
	AttrNameFormatBasic       = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"
	AttrNameFormatURI         = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
)

// Top-level status codes, for ResponseSpec.StatusCode (SAML core 3.2.2.2).
const (
	StatusSuccess   = "urn:oasis:names:tc:SAML:2.0:status:Success"
	StatusRequester = "urn:oasis:names:tc:SAML:2.0:status:Requester"
	StatusResponder = "urn:oasis:names:tc:SAML:2.0:status:Responder"
)

// Other URIs a Response carries by default.
const (
	// MethodBearer is the default ResponseSpec.SubjectConfirmationMethod.
	MethodBearer = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
	// AuthnPasswordProtectedTransport is the default
	// ResponseSpec.AuthnContextClassRef.
	AuthnPasswordProtectedTransport = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
)

const (
	nsProtocol   = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsAssertion  = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsXS         = "http://www.w3.org/2001/XMLSchema"
	nsXSI        = "http://www.w3.org/2001/XMLSchema-instance"
	formatEntity = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
)

// Sign says which parts of a Response are signed.
type Sign int

const (
	// SignAssertion signs the Assertion only, as most IdPs do by default.
	SignAssertion Sign = iota
	// SignResponse signs the Response only.
	SignResponse
	// SignBoth signs the Assertion, then the Response (whose signature
	// thus covers the Assertion's).
	SignBoth
	// SignNone signs nothing, for a verifier's negative tests or for
	// hand-editing before IdP.SignXML.
	SignNone
)

// String returns the mode's name, such as "SignAssertion".
func (s Sign) String() string {
	switch s {
	case SignAssertion:
		return "SignAssertion"
	case SignResponse:
		return "SignResponse"
	case SignBoth:
		return "SignBoth"
	case SignNone:
		return "SignNone"
	}
	return fmt.Sprintf("Sign(%d)", int(s))
}

// Attribute is one saml2:Attribute of the AttributeStatement.
type Attribute struct {
	// Name is the Name attribute, such as "groups" or an OID URN.
	Name string
	// FriendlyName is written only when not empty.
	FriendlyName string
	// NameFormat defaults to AttrNameFormatUnspecified (as Okta sends);
	// Omit leaves it out.
	NameFormat string
	// Values become one AttributeValue each, in order, typed
	// xsi:type="xs:string" as Okta types them.
	Values []string
}

// ResponseSpec describes a Response for IdP.Response. Every zero value
// means the documented default, so a test sets only what it is about.
// Times are written in UTC, with milliseconds when they have a fraction
// (truncated) and whole seconds otherwise.
type ResponseSpec struct {
	// Now is the IssueInstant of the Response and Assertion and the
	// AuthnInstant, and the base of the default times. Default:
	// time.Now().UTC().
	Now time.Time
	// ACSURL is the default of Destination and Recipient. Default:
	// DefaultACSURL.
	ACSURL string
	// Audience is the one Audience of the AudienceRestriction. Default:
	// DefaultAudience. Omit leaves out the AudienceRestriction.
	Audience string
	// Destination is the Response's Destination. Default: ACSURL. Omit
	// leaves it out.
	Destination string
	// Recipient is the SubjectConfirmationData Recipient. Default: ACSURL.
	// Omit leaves it out.
	Recipient string
	// InResponseTo is the AuthnRequest ID the Response answers, on the
	// Response and (by default) on the SubjectConfirmationData. Empty
	// means unsolicited (IdP-initiated): the attribute is left out.
	InResponseTo string
	// SubjectInResponseTo is the SubjectConfirmationData InResponseTo.
	// Default: InResponseTo. Omit leaves it out.
	SubjectInResponseTo string
	// NameID is the Subject's NameID. Default: DefaultNameID. Omit leaves
	// out the NameID element.
	NameID string
	// NameIDFormat is the NameID Format. Default: NameIDFormatEmail. Omit
	// leaves it out.
	NameIDFormat string
	// NameQualifier and SPNameQualifier of the NameID are written only
	// when not empty.
	NameQualifier, SPNameQualifier string
	// SubjectConfirmationMethod is the SubjectConfirmation Method. Default:
	// MethodBearer. Omit leaves out the SubjectConfirmation element.
	SubjectConfirmationMethod string
	// SubjectNotOnOrAfter is the SubjectConfirmationData NotOnOrAfter.
	// Default: the Conditions NotOnOrAfter, or Now+DefaultValidity when
	// that is omitted. OmitTime() leaves it out.
	SubjectNotOnOrAfter time.Time
	// NotBefore of the Conditions. Default: Now minus one minute.
	// OmitTime() leaves it out.
	NotBefore time.Time
	// NotOnOrAfter of the Conditions. Default: Now+DefaultValidity.
	// OmitTime() leaves it out. When NotBefore, NotOnOrAfter and Audience
	// are all omitted, so is the Conditions element.
	NotOnOrAfter time.Time
	// SessionIndex of the AuthnStatement. Default: the assertion ID (as
	// ADFS does). Omit leaves it out.
	SessionIndex string
	// SessionNotOnOrAfter of the AuthnStatement. Default:
	// Now+DefaultSessionLength. OmitTime() leaves it out.
	SessionNotOnOrAfter time.Time
	// AuthnContextClassRef of the AuthnStatement. Default:
	// AuthnPasswordProtectedTransport.
	AuthnContextClassRef string
	// Issuer is the Response's Issuer. Default: the IdP's entity ID. Omit
	// leaves it out.
	Issuer string
	// AssertionIssuer is the Assertion's Issuer. Default: Issuer as given
	// (so Omit there omits both). Omit leaves it out.
	AssertionIssuer string
	// Attributes become the AttributeStatement, in order. Default: none,
	// and then no AttributeStatement.
	Attributes []Attribute
	// Sign says what is signed. Default (the zero value): SignAssertion.
	Sign Sign
	// SignatureMethod is the XML-DSig SignatureMethod URI, such as
	// RSASHA512. Default: the IdP's (RSASHA256 or ECDSASHA256).
	SignatureMethod string
	// DigestMethod is the XML-DSig DigestMethod URI, such as DigestSHA512.
	// Default: the IdP's (DigestSHA256).
	DigestMethod string
	// StatusCode is the top-level StatusCode Value. Default: StatusSuccess.
	// The Assertion is included whatever the status.
	StatusCode string
	// SubStatusCode, when not empty, is the Value of a second-level
	// StatusCode nested in the first.
	SubStatusCode string
	// StatusMessage, when not empty, is the StatusMessage.
	StatusMessage string
	// Encrypt, when set, encrypts the Assertion (after signing it) into
	// an EncryptedAssertion, before the Response is signed. Default: the
	// Assertion goes in the clear.
	Encrypt *Encryption
	// EncryptNameID, when set, sends the NameID as an EncryptedID.
	EncryptNameID *Encryption
	// EncryptAttributes, when set, sends each Attribute as an
	// EncryptedAttribute.
	EncryptAttributes *Encryption
	// ResponseSignatureLast puts the Response's signature last among the
	// Response's children, where Auth0 puts it, instead of right after
	// the Issuer. It applies with SignResponse and SignBoth.
	ResponseSignatureLast bool
	// ResponseID is the Response's ID. Default: "_" and 40 random hex
	// digits (from crypto/rand).
	ResponseID string
	// AssertionID is the Assertion's ID. Default: as ResponseID.
	AssertionID string
}

// Response is a Response made by IdP.Response.
type Response struct {
	// XML is the whole document, with its XML declaration, as the IdP
	// would post it before base64 encoding.
	XML []byte
	// ResponseID and AssertionID are the IDs used, defaults resolved.
	ResponseID, AssertionID string
}

// Base64 returns the XML as the HTTP-POST binding sends it in the
// SAMLResponse form field: standard base64 with padding, on one line.
func (r *Response) Base64() string { return base64.StdEncoding.EncodeToString(r.XML) }

// PostForm returns the form an IdP's auto-submitting page posts to the
// ACS: SAMLResponse, and RelayState when relayState is not empty. Send it
// with http.PostForm or httptest.NewRequest and strings.NewReader(form.Encode()).
func (r *Response) PostForm(relayState string) url.Values {
	v := url.Values{"SAMLResponse": {r.Base64()}}
	if relayState != "" {
		v.Set("RelayState", relayState)
	}
	return v
}

// Response returns a freshly signed SAML 2.0 Response shaped like Okta's:
// saml2p:Response (Destination, ID, InResponseTo, IssueInstant, Version),
// saml2:Issuer, the Response signature if any, Status, and one
// saml2:Assertion that declares its own namespaces and holds Issuer, its
// signature if any, Subject (NameID and a bearer SubjectConfirmation),
// Conditions with an AudienceRestriction, an AuthnStatement and the
// AttributeStatement. Signatures sit right after their Issuer and, as
// Okta's do, name "xs" in the exc-c14n InclusiveNamespaces PrefixList.
func (idp *IdP) Response(spec ResponseSpec) (*Response, error) {
	a, err := idp.algorithms(spec.SignatureMethod, spec.DigestMethod)
	if err != nil {
		return nil, err
	}
	s, err := idp.resolve(spec)
	if err != nil {
		return nil, err
	}
	w := &xmlWriter{}
	w.b.Grow(4096)
	writeResponse(w, &s)
	if w.err != nil {
		return nil, w.err
	}
	doc := []byte(w.b.String())
	var ids []string
	switch s.Sign {
	case SignAssertion:
		ids = []string{s.AssertionID}
	case SignResponse:
		ids = []string{s.ResponseID}
	case SignBoth:
		ids = []string{s.AssertionID, s.ResponseID}
	case SignNone:
	default:
		return nil, fmt.Errorf("samltest: unknown Sign mode %d", int(s.Sign))
	}
	if s.Encrypt != nil {
		if doc, err = idp.signAndEncrypt(doc, a, &s); err != nil {
			return nil, err
		}
	} else if doc, err = idp.signIDs(doc, a, "xs", ids); err != nil {
		return nil, err
	}
	if s.ResponseSignatureLast && (s.Sign == SignResponse || s.Sign == SignBoth) {
		doc = responseSignatureLast(doc)
	}
	return &Response{XML: doc, ResponseID: s.ResponseID, AssertionID: s.AssertionID}, nil
}

// responseSignatureLast moves the Response's signature, the first in the
// document (it follows the Response's Issuer), to the end of the Response.
// Its digest does not change: the enveloped-signature transform leaves the
// signature out wherever it sits, and its SignedInfo keeps the same
// namespace context.
func responseSignatureLast(doc []byte) []byte {
	start := bytes.Index(doc, []byte("<ds:Signature"))
	end := bytes.Index(doc, []byte("</ds:Signature>")) + len("</ds:Signature>")
	closing := bytes.LastIndex(doc, []byte("</saml2p:Response>"))
	var out bytes.Buffer
	out.Grow(len(doc))
	out.Write(doc[:start])
	out.Write(doc[end:closing])
	out.Write(doc[start:end])
	out.Write(doc[closing:])
	return out.Bytes()
}

// signAndEncrypt signs the Assertion when asked, encrypts it into an
// EncryptedAssertion, then signs the Response when asked: the order an IdP
// follows, so that the Response signature covers the ciphertext.
func (idp *IdP) signAndEncrypt(doc []byte, a algs, s *ResponseSpec) ([]byte, error) {
	var err error
	if s.Sign == SignAssertion || s.Sign == SignBoth {
		if doc, err = idp.signIDs(doc, a, "xs", []string{s.AssertionID}); err != nil {
			return nil, err
		}
	}
	start := bytes.Index(doc, []byte("<saml2:Assertion "))
	end := bytes.LastIndex(doc, []byte("</saml2:Assertion>"))
	if start < 0 || end < start {
		return nil, errors.New("samltest: no Assertion to encrypt")
	}
	end += len("</saml2:Assertion>")
	enc, err := s.Encrypt.encrypt(doc[start:end])
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.Write(doc[:start])
	out.WriteString(`<saml2:EncryptedAssertion xmlns:saml2="` + nsAssertion + `">` + enc + `</saml2:EncryptedAssertion>`)
	out.Write(doc[end:])
	doc = out.Bytes()
	if s.Sign == SignResponse || s.Sign == SignBoth {
		return idp.signIDs(doc, a, "xs", []string{s.ResponseID})
	}
	return doc, nil
}

// resolve fills in every default of spec.
func (idp *IdP) resolve(s ResponseSpec) (ResponseSpec, error) {
	if s.Now.IsZero() {
		s.Now = time.Now().UTC()
	}
	for _, id := range []*string{&s.ResponseID, &s.AssertionID} {
		if *id == "" {
			var err error
			if *id, err = NewID(); err != nil {
				return s, err
			}
		}
	}
	s.ACSURL = cmp.Or(s.ACSURL, DefaultACSURL)
	s.Audience = cmp.Or(s.Audience, DefaultAudience)
	s.Destination = cmp.Or(s.Destination, s.ACSURL)
	s.Recipient = cmp.Or(s.Recipient, s.ACSURL)
	s.SubjectInResponseTo = cmp.Or(s.SubjectInResponseTo, s.InResponseTo)
	s.NameID = cmp.Or(s.NameID, DefaultNameID)
	s.NameIDFormat = cmp.Or(s.NameIDFormat, NameIDFormatEmail)
	s.SubjectConfirmationMethod = cmp.Or(s.SubjectConfirmationMethod, MethodBearer)
	s.SessionIndex = cmp.Or(s.SessionIndex, s.AssertionID)
	s.AuthnContextClassRef = cmp.Or(s.AuthnContextClassRef, AuthnPasswordProtectedTransport)
	s.Issuer = cmp.Or(s.Issuer, idp.EntityID)
	s.AssertionIssuer = cmp.Or(s.AssertionIssuer, s.Issuer)
	s.StatusCode = cmp.Or(s.StatusCode, StatusSuccess)
	if s.NotBefore.IsZero() {
		s.NotBefore = s.Now.Add(-time.Minute)
	}
	if s.NotOnOrAfter.IsZero() {
		s.NotOnOrAfter = s.Now.Add(DefaultValidity)
	}
	if s.SubjectNotOnOrAfter.IsZero() {
		s.SubjectNotOnOrAfter = s.NotOnOrAfter
		if s.NotOnOrAfter.Equal(OmitTime()) {
			s.SubjectNotOnOrAfter = s.Now.Add(DefaultValidity)
		}
	}
	if s.SessionNotOnOrAfter.IsZero() {
		s.SessionNotOnOrAfter = s.Now.Add(DefaultSessionLength)
	}
	return s, nil
}

// NewID returns a random XML ID: "_" and 40 hex digits from crypto/rand.
func NewID() (string, error) {
	var b [20]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("samltest: random ID: %w", err)
	}
	return "_" + hex.EncodeToString(b[:]), nil
}

func writeResponse(w *xmlWriter, s *ResponseSpec) {
	w.raw(`<?xml version="1.0" encoding="UTF-8"?>`)
	w.raw(`<saml2p:Response xmlns:saml2p="` + nsProtocol + `"`)
	w.attr("Destination", s.Destination)
	w.attr("ID", s.ResponseID)
	w.optAttr("InResponseTo", s.InResponseTo)
	w.attr("IssueInstant", formatTime(s.Now))
	w.raw(` Version="2.0" xmlns:xs="` + nsXS + `">`)
	if s.Issuer != Omit {
		w.raw(`<saml2:Issuer xmlns:saml2="` + nsAssertion + `" Format="` + formatEntity + `">`)
		w.text(s.Issuer)
		w.raw(`</saml2:Issuer>`)
	}
	writeStatus(w, s)
	writeAssertion(w, s)
	w.raw(`</saml2p:Response>`)
}

func writeStatus(w *xmlWriter, s *ResponseSpec) {
	w.raw(`<saml2p:Status><saml2p:StatusCode`)
	w.attr("Value", s.StatusCode)
	if s.SubStatusCode != "" {
		w.raw(`><saml2p:StatusCode`)
		w.attr("Value", s.SubStatusCode)
		w.raw(`/></saml2p:StatusCode>`)
	} else {
		w.raw(`/>`)
	}
	if s.StatusMessage != "" {
		w.element("saml2p:StatusMessage", "", s.StatusMessage)
	}
	w.raw(`</saml2p:Status>`)
}

func writeAssertion(w *xmlWriter, s *ResponseSpec) {
	w.raw(`<saml2:Assertion xmlns:saml2="` + nsAssertion + `"`)
	w.attr("ID", s.AssertionID)
	w.attr("IssueInstant", formatTime(s.Now))
	w.raw(` Version="2.0" xmlns:xs="` + nsXS + `">`)
	w.element("saml2:Issuer", ` Format="`+formatEntity+`"`, s.AssertionIssuer)
	writeSubject(w, s)
	writeConditions(w, s)

	w.raw(`<saml2:AuthnStatement`)
	w.attr("AuthnInstant", formatTime(s.Now))
	w.attr("SessionIndex", s.SessionIndex)
	w.timeAttr("SessionNotOnOrAfter", s.SessionNotOnOrAfter)
	w.raw(`><saml2:AuthnContext>`)
	w.element("saml2:AuthnContextClassRef", "", s.AuthnContextClassRef)
	w.raw(`</saml2:AuthnContext></saml2:AuthnStatement>`)

	if len(s.Attributes) > 0 {
		w.raw(`<saml2:AttributeStatement>`)
		for _, a := range s.Attributes {
			aw := w
			if s.EncryptAttributes != nil {
				aw = &xmlWriter{}
			}
			aw.raw(`<saml2:Attribute`)
			if s.EncryptAttributes != nil {
				aw.raw(` xmlns:saml2="` + nsAssertion + `"`)
			}
			aw.attr("Name", a.Name)
			aw.optAttr("FriendlyName", a.FriendlyName)
			aw.attr("NameFormat", cmp.Or(a.NameFormat, AttrNameFormatUnspecified))
			aw.raw(`>`)
			for _, v := range a.Values {
				aw.element("saml2:AttributeValue",
					` xmlns:xs="`+nsXS+`" xmlns:xsi="`+nsXSI+`" xsi:type="xs:string"`, v)
			}
			aw.raw(`</saml2:Attribute>`)
			if s.EncryptAttributes != nil {
				w.encrypted("saml2:EncryptedAttribute", s.EncryptAttributes, aw)
			}
		}
		w.raw(`</saml2:AttributeStatement>`)
	}
	w.raw(`</saml2:Assertion>`)
}

func writeSubject(w *xmlWriter, s *ResponseSpec) {
	w.raw(`<saml2:Subject>`)
	if s.NameID != Omit {
		nw := w
		if s.EncryptNameID != nil {
			nw = &xmlWriter{}
		}
		nw.raw(`<saml2:NameID`)
		if s.EncryptNameID != nil {
			nw.raw(` xmlns:saml2="` + nsAssertion + `"`)
		}
		nw.attr("Format", s.NameIDFormat)
		nw.optAttr("NameQualifier", s.NameQualifier)
		nw.optAttr("SPNameQualifier", s.SPNameQualifier)
		nw.raw(`>`)
		nw.text(s.NameID)
		nw.raw(`</saml2:NameID>`)
		if s.EncryptNameID != nil {
			w.encrypted("saml2:EncryptedID", s.EncryptNameID, nw)
		}
	}
	if s.SubjectConfirmationMethod != Omit {
		w.raw(`<saml2:SubjectConfirmation`)
		w.attr("Method", s.SubjectConfirmationMethod)
		w.raw(`><saml2:SubjectConfirmationData`)
		w.optAttr("InResponseTo", s.SubjectInResponseTo)
		w.timeAttr("NotOnOrAfter", s.SubjectNotOnOrAfter)
		w.attr("Recipient", s.Recipient)
		w.raw(`/></saml2:SubjectConfirmation>`)
	}
	w.raw(`</saml2:Subject>`)
}

func writeConditions(w *xmlWriter, s *ResponseSpec) {
	omit := OmitTime()
	if s.NotBefore.Equal(omit) && s.NotOnOrAfter.Equal(omit) && s.Audience == Omit {
		return
	}
	w.raw(`<saml2:Conditions`)
	w.timeAttr("NotBefore", s.NotBefore)
	w.timeAttr("NotOnOrAfter", s.NotOnOrAfter)
	w.raw(`>`)
	if s.Audience != Omit {
		w.raw(`<saml2:AudienceRestriction>`)
		w.element("saml2:Audience", "", s.Audience)
		w.raw(`</saml2:AudienceRestriction>`)
	}
	w.raw(`</saml2:Conditions>`)
}
