package saml

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/beevik/etree"
)

// Top-level SAML status codes (SAML core 3.2.2.2), for LogoutResponse.
const (
	StatusSuccess   = "urn:oasis:names:tc:SAML:2.0:status:Success"
	StatusRequester = "urn:oasis:names:tc:SAML:2.0:status:Requester"
	StatusResponder = "urn:oasis:names:tc:SAML:2.0:status:Responder"
)

// MaxLogoutMessageSize caps the XML of a LogoutRequest or LogoutResponse
// from the IdP (inflated, in the HTTP-Redirect binding), or
// Config.MaxResponseSize when that is smaller. Real ones are well under
// 10 KB; the cap keeps what a stranger can make the SLO URL parse small.
const MaxLogoutMessageSize = 64 << 10

// MaxMessageAge is how old (by its IssueInstant, beyond the clock skew) a
// LogoutRequest or LogoutResponse from the IdP may be. Browsers deliver
// them within seconds; an old one is a replay.
const MaxMessageAge = 10 * time.Minute

// LogoutRequest is a verified LogoutRequest from the IdP: the IdP asks the
// service provider to end the user's session (SAML core 3.7.1).
type LogoutRequest struct {
	// ID is the request's ID, which the LogoutResponse answers.
	ID string
	// Issuer is the IdP's entity ID.
	Issuer string
	// NameID is the user whose sessions end.
	NameID NameID
	// SessionIndexes are the IdP sessions to end (Assertion.SessionIndex
	// of the logins); empty means every session of NameID.
	SessionIndexes []string
	// IssueInstant is when the IdP sent the request.
	IssueInstant time.Time
	// NotOnOrAfter is when the request expires; zero when the IdP did not
	// say.
	NotOnOrAfter time.Time
	// Reason is the request's Reason URI; empty when absent.
	Reason string
	// RelayState must go back with the LogoutResponse.
	RelayState string
	// Binding is the binding the request came through.
	Binding string
}

// LogoutResponse is a verified LogoutResponse from the IdP, answering a
// LogoutRequest of this service provider with success.
type LogoutResponse struct {
	// ID is the response's ID.
	ID string
	// InResponseTo is the ID of the LogoutRequest it answers.
	InResponseTo string
	// RelayState is the RelayState sent with the LogoutRequest.
	RelayState string
	// Binding is the binding the response came through.
	Binding string
}

// LogoutRequest returns a LogoutRequest (SAML core 3.7.1) to the IdP's
// SingleLogoutService, asking it to end the IdP session sessionIndex of
// nameID (both from the Assertion of the login), through the HTTP-Redirect
// binding (HTTP-POST when the IdP offers only that), signed when the
// service provider has a signing key. Track its ID as a logout request and
// pass it to ParseLogoutResponse.
func (sp *ServiceProvider) LogoutRequest(nameID NameID, sessionIndex, relayState string) (*Message, error) {
	idp := &sp.trusted().idp
	ep, ok := endpointFor(idp.SLOServices, BindingHTTPRedirect)
	if !ok {
		return nil, fmt.Errorf("saml: the IdP %q has no SingleLogoutService; logout can only be local", idp.EntityID)
	}
	if nameID.Value == "" {
		return nil, fmt.Errorf("saml: a LogoutRequest needs the NameID of the login")
	}
	id, err := newID()
	if err != nil {
		return nil, err
	}
	doc, root := sp.newProtocolDoc("LogoutRequest", id, ep.Location)
	n := root.CreateElement("saml:NameID")
	for _, a := range [][2]string{
		{"Format", nameID.Format}, {"NameQualifier", nameID.NameQualifier},
		{"SPNameQualifier", nameID.SPNameQualifier}, {"SPProvidedID", nameID.SPProvidedID},
	} {
		if a[1] != "" {
			n.CreateAttr(a[0], a[1])
		}
	}
	n.SetText(nameID.Value)
	if sessionIndex != "" {
		root.CreateElement("samlp:SessionIndex").SetText(sessionIndex)
	}
	return sp.newMessage(doc, id, ep.Binding, ep.Location, "SAMLRequest", relayState)
}

// LogoutResponse returns the LogoutResponse that answers req, with the
// top-level status (StatusSuccess when empty; StatusResponder when the
// host could not end the sessions), to the IdP's SingleLogoutService in
// the binding req came through when the IdP offers it, with req's
// RelayState, signed when the service provider has a signing key.
func (sp *ServiceProvider) LogoutResponse(req *LogoutRequest, status string) (*Message, error) {
	if status == "" {
		status = StatusSuccess
	}
	preferred := req.Binding
	if preferred == "" {
		preferred = BindingHTTPRedirect
	}
	idp := &sp.trusted().idp
	ep, ok := endpointFor(idp.SLOServices, preferred)
	if !ok {
		return nil, fmt.Errorf("saml: the IdP %q has no SingleLogoutService to answer its LogoutRequest at", idp.EntityID)
	}
	id, err := newID()
	if err != nil {
		return nil, err
	}
	doc, root := sp.newProtocolDoc("LogoutResponse", id, ep.Location)
	root.CreateAttr("InResponseTo", req.ID)
	root.CreateElement("samlp:Status").CreateElement("samlp:StatusCode").CreateAttr("Value", status)
	return sp.newMessage(doc, id, ep.Binding, ep.Location, "SAMLResponse", req.RelayState)
}

// ParseLogoutRequest reads a LogoutRequest the IdP sent to the SLO URL, in
// the HTTP-Redirect binding (a GET whose query is signed) or the HTTP-POST
// binding (a form whose XML is signed), and accepts it only when it is
// validly signed by a pinned IdP certificate, issued by the IdP, addressed
// to Config.SLOURL, issued no more than MaxMessageAge ago and not in the
// future, not expired, and not seen before. The host then ends the
// sessions of its NameID and SessionIndexes and answers with
// LogoutResponse.
func (sp *ServiceProvider) ParseLogoutRequest(ctx context.Context, r *http.Request) (*LogoutRequest, error) {
	tr := sp.trusted()
	now := sp.cfg.Clock()
	in, err := sp.receive(tr, now, r, "SAMLRequest")
	if err != nil {
		return nil, err
	}
	root := in.root
	id, issued, e := sp.checkLogoutMessage(tr, root, "LogoutRequest", now)
	if e != nil {
		return nil, e
	}
	req := &LogoutRequest{ID: id, Issuer: tr.idp.EntityID, IssueInstant: issued, RelayState: in.relayState, Binding: in.binding}
	req.Reason, _ = attr(root, "Reason")
	notOnOrAfter, ok, e := optionalTime(root, "NotOnOrAfter")
	if e != nil {
		return nil, e
	}
	if ok {
		if !now.Add(-sp.cfg.ClockSkew).Before(notOnOrAfter) {
			return nil, newError(CodeExpired, "the LogoutRequest expired at %s, now is %s", stamp(notOnOrAfter), stamp(now))
		}
		req.NotOnOrAfter = notOnOrAfter
	}
	if enc, _ := child(root, nsAssertion, "EncryptedID"); enc != nil {
		return nil, newError(CodeDecryption, "the LogoutRequest's NameID is encrypted, which is not supported; turn off NameID encryption at the IdP")
	}
	nameID, err := child(root, nsAssertion, "NameID")
	if err != nil {
		return nil, err
	}
	if nameID == nil {
		return nil, newError(CodeStructure, "the LogoutRequest has no NameID, so it does not say whose session ends")
	}
	req.NameID = NameID{Value: trimXMLSpace(text(nameID))}
	req.NameID.Format, _ = attr(nameID, "Format")
	req.NameID.NameQualifier, _ = attr(nameID, "NameQualifier")
	req.NameID.SPNameQualifier, _ = attr(nameID, "SPNameQualifier")
	req.NameID.SPProvidedID, _ = attr(nameID, "SPProvidedID")
	if req.NameID.Value == "" {
		return nil, newError(CodeStructure, "the LogoutRequest's NameID is empty")
	}
	for _, s := range children(root, nsProtocol, "SessionIndex") {
		req.SessionIndexes = append(req.SessionIndexes, trimXMLSpace(text(s)))
	}
	if e := sp.checkMessageReplay(ctx, "logout-request", id, issued); e != nil {
		return nil, e
	}
	return req, nil
}

// ParseLogoutResponse reads the IdP's LogoutResponse to a LogoutRequest of
// this service provider, at the SLO URL, in either binding. It accepts it
// only when validly signed, issued by the IdP, addressed to Config.SLOURL,
// recent, answering one of requestIDs (the browser's outstanding logout
// requests), and with status Success; a failure status is an ErrStatus
// that names the IdP's codes.
func (sp *ServiceProvider) ParseLogoutResponse(ctx context.Context, r *http.Request, requestIDs ...string) (*LogoutResponse, error) {
	tr := sp.trusted()
	now := sp.cfg.Clock()
	in, err := sp.receive(tr, now, r, "SAMLResponse")
	if err != nil {
		return nil, err
	}
	root := in.root
	id, issued, e := sp.checkLogoutMessage(tr, root, "LogoutResponse", now)
	if e != nil {
		return nil, e
	}
	irt, _ := attr(root, "InResponseTo")
	known := false
	for _, want := range requestIDs {
		known = known || irt != "" && irt == want
	}
	if !known {
		return nil, newError(CodeInResponseTo, "the LogoutResponse answers %q, which is not a logout this browser started (outstanding: %q)", irt, requestIDs)
	}
	status, err := child(root, nsProtocol, "Status")
	if err != nil {
		return nil, err
	}
	if status == nil {
		return nil, newError(CodeStatus, "the LogoutResponse has no Status")
	}
	codes := children(status, nsProtocol, "StatusCode")
	if len(codes) != 1 {
		return nil, newError(CodeStatus, "the LogoutResponse Status holds %d top-level StatusCodes, want exactly one", len(codes))
	}
	if value, _ := attr(codes[0], "Value"); value != StatusSuccess || len(codes[0].ChildElements()) > 0 {
		msg := "the IdP did not complete the logout: status " + value
		for _, n := range children(codes[0], nsProtocol, "StatusCode") {
			sub, _ := attr(n, "Value")
			msg += " / " + sub
		}
		return nil, newError(CodeStatus, "%s", msg)
	}
	if e := sp.checkMessageReplay(ctx, "logout-response", id, issued); e != nil {
		return nil, e
	}
	return &LogoutResponse{ID: id, InResponseTo: irt, RelayState: in.relayState, Binding: in.binding}, nil
}

// checkLogoutMessage checks what LogoutRequest and LogoutResponse share:
// the element, Version, ID, Issuer, Destination and IssueInstant.
func (sp *ServiceProvider) checkLogoutMessage(tr *trust, root *etree.Element, tag string, now time.Time) (string, time.Time, *Error) {
	if !is(root, nsProtocol, tag) {
		return "", time.Time{}, newError(CodeMalformed, "the message is <%s> in namespace %q, want a SAML 2.0 protocol %s", root.Tag, root.NamespaceURI(), tag)
	}
	if v, _ := attr(root, "Version"); v != "2.0" {
		return "", time.Time{}, newError(CodeMalformed, "the %s has Version %q, want \"2.0\"", tag, v)
	}
	id, _ := attr(root, "ID")
	if id == "" {
		return "", time.Time{}, newError(CodeStructure, "the %s has no ID", tag)
	}
	want := tr.idp.EntityID
	issuer, err := child(root, nsAssertion, "Issuer")
	if err != nil {
		return "", time.Time{}, err.(*Error)
	}
	if issuer == nil {
		return "", time.Time{}, newError(CodeIssuer, "the %s has no Issuer; want %q", tag, want)
	}
	if got := trimXMLSpace(text(issuer)); got != want {
		return "", time.Time{}, newError(CodeIssuer, "the %s was issued by %q, the configured IdP is %q", tag, got, want)
	}
	dest, _ := attr(root, "Destination")
	switch {
	case sp.cfg.SLOURL == "":
		return "", time.Time{}, newError(CodeDestination, "the service provider has no SLO URL (Config.SLOURL), so it takes no %s", tag)
	case dest != sp.cfg.SLOURL:
		return "", time.Time{}, newError(CodeDestination, "the %s is addressed to %q, this service provider's SLO URL is %q", tag, dest, sp.cfg.SLOURL)
	}
	s, _ := attr(root, "IssueInstant")
	issued, perr := parseTime(s)
	if perr != nil {
		return "", time.Time{}, newError(CodeMalformed, "the %s IssueInstant %q is not a valid time", tag, s)
	}
	skew := sp.cfg.ClockSkew
	if issued.After(now.Add(skew)) {
		return "", time.Time{}, newError(CodeNotYetValid, "the %s was issued at %s, in the future (now %s, skew %s); check the clocks", tag, stamp(issued), stamp(now), skew)
	}
	if issued.Add(MaxMessageAge + skew).Before(now) {
		return "", time.Time{}, newError(CodeExpired, "the %s was issued at %s, more than %s before now (%s)", tag, stamp(issued), MaxMessageAge, stamp(now))
	}
	return id, issued, nil
}

// checkMessageReplay accepts each logout message ID once while it could be
// accepted at all.
func (sp *ServiceProvider) checkMessageReplay(ctx context.Context, kind, id string, issued time.Time) *Error {
	added, err := sp.cfg.ReplayCache.Add(ctx, kind+":"+id, issued.Add(MaxMessageAge+2*sp.cfg.ClockSkew))
	if err != nil {
		return wrapError(CodeReplay, err, "the replay cache failed, so the message cannot be accepted safely: %v", err)
	}
	if !added {
		return newError(CodeReplay, "the %s %q was already received; each is accepted once", kind, id)
	}
	return nil
}

// unsignedLogout is the error for a logout message that came unsigned. The
// service provider never accepts one: anyone could otherwise end a user's
// sessions, or confirm a logout that did not happen at the IdP. The
// message says where the IdP admin turns signing on.
func unsignedLogout(param, what string) *Error {
	return newError(CodeSignature, "the %s is not signed (%s); this service provider accepts only signed logout messages, so the IdP must sign them (in SimpleSAMLphp, set 'sign.logout' => true in the IdP's metadata for this service provider; in other IdPs, turn on signing of logout requests and responses)", param, what)
}

// inbound is a message received in either binding, its signature checked.
type inbound struct {
	root       *etree.Element // read values here: the signed XML
	relayState string
	binding    string
}

// receive reads the message param ("SAMLRequest" or "SAMLResponse") from
// r, in the HTTP-Redirect binding for a GET and the HTTP-POST binding for a
// POST, and requires a valid signature with the certificates of tr: over
// the query in the first, an enveloped XML signature of the root in the
// second. Once the IdP metadata is past its validUntil, nothing is
// received.
func (sp *ServiceProvider) receive(tr *trust, now time.Time, r *http.Request, param string) (*inbound, error) {
	if e := tr.checkValidUntil(now); e != nil {
		return nil, e
	}
	max := min(sp.cfg.MaxResponseSize, MaxLogoutMessageSize)
	switch r.Method {
	case http.MethodGet:
		m, err := parseRedirectQuery(r.URL.RawQuery, max)
		if err != nil {
			return nil, err
		}
		if m.param != param {
			return nil, newError(CodeMalformed, "the query carries a %s, want a %s", m.param, param)
		}
		if m.sigAlg == "" {
			return nil, unsignedLogout(param, "no SigAlg and Signature in the query")
		}
		if err := sp.verifyRedirect(tr, m); err != nil {
			return nil, err
		}
		doc, sc, err := parseXML(m.xml)
		if err != nil {
			return nil, err
		}
		if len(sc.signatures) > 0 || len(sc.assertions) > 0 {
			return nil, newError(CodeStructure, "the HTTP-Redirect message holds an XML signature or an assertion, which that binding does not carry")
		}
		return &inbound{root: doc.Root(), relayState: m.relayState, binding: BindingHTTPRedirect}, nil
	case http.MethodPost:
		if r.PostForm == nil {
			r.Body = http.MaxBytesReader(nil, r.Body, int64(2*max+MaxRelayStateLength+4096))
		}
		if err := r.ParseForm(); err != nil {
			return nil, wrapError(CodeMalformed, err, "the form could not be read: %v", err)
		}
		raw, err := decodePOST(param, r.PostForm.Get(param), max)
		if err != nil {
			return nil, err
		}
		doc, sc, err := parseXML(raw)
		if err != nil {
			return nil, err
		}
		root := doc.Root()
		if len(sc.assertions) > 0 {
			return nil, newError(CodeStructure, "the message holds an assertion, which a logout message never carries")
		}
		if len(sc.signatures) == 0 {
			return nil, unsignedLogout(param, "no XML signature")
		}
		if len(sc.signatures) != 1 || sc.signatures[0].Parent() != root {
			return nil, newError(CodeSignature, "the %s must carry exactly one signature, directly in its root element; it has %d", param, len(sc.signatures))
		}
		sig, err := checkShape(root, sc.signatures[0], sp.cfg.AllowSHA1)
		if err != nil {
			return nil, err
		}
		verified, _, err := tr.verify(root, sig, 3*max)
		if err != nil {
			return nil, err
		}
		return &inbound{root: verified, relayState: r.PostForm.Get("RelayState"), binding: BindingHTTPPOST}, nil
	}
	return nil, newError(CodeMalformed, "%s is not a SAML binding; the IdP must use GET (HTTP-Redirect) or POST (HTTP-POST)", r.Method)
}
