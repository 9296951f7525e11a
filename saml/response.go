package saml

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/beevik/etree"
)

// Verify checks a SAMLResponse received at the ACS through the HTTP-POST
// binding and returns its assertion. samlResponse is the form value as
// posted (base64, line breaks allowed) or the raw XML. requestIDs are the
// IDs of the AuthnRequests this browser has outstanding; the response must
// answer one of them, or carry no InResponseTo when Config.AllowIdPInitiated
// is on.
//
// Every rejection is an *Error whose Code names the rule that failed. With
// Config.Debug on, the Report of every check is attached to the returned
// Assertion or Error.
func (sp *ServiceProvider) Verify(ctx context.Context, samlResponse string, requestIDs ...string) (*Assertion, error) {
	v := &verification{sp: sp, trust: sp.trusted(), now: sp.cfg.Clock(), requestIDs: requestIDs}
	if sp.cfg.Debug {
		v.report = &Report{}
	}
	a, err := v.run(ctx, samlResponse)
	if err != nil {
		if v.report != nil {
			v.report.fail(v.step, err)
			if v.failDetail != "" {
				v.report.Checks[len(v.report.Checks)-1].Detail = err.Message + " (" + v.failDetail + ")"
			}
			err.Report = v.report
		}
		if l := sp.cfg.Logger; l != nil {
			l.WarnContext(ctx, "saml: response rejected", "code", string(err.Code), "error", err.Message)
		}
		return nil, err
	}
	a.Report = v.report
	return a, nil
}

// verification is the state of one Verify call.
type verification struct {
	sp         *ServiceProvider
	trust      *trust // the IdP of this verification, loaded once
	now        time.Time
	requestIDs []string
	report     *Report
	step       string // the check being run, for the report

	response       *etree.Element // Response values are read here: the verified copy when the Response is signed
	assertion      *etree.Element // Assertion values are read here: always a verified copy
	signedResponse bool
	warnings       []string
	scan           *scanned // the document's scan, for IDs in decrypted data
	failDetail     string   // why decryption failed, for the report only
}

// check names the step about to run, for the report.
func (v *verification) check(name string) { v.step = name }

// passed records the current step as passed; detail is built only when a
// report is being kept.
func (v *verification) passed(detail func() string) {
	if v.report != nil {
		v.report.pass(v.step, detail())
	}
}

func (v *verification) run(ctx context.Context, form string) (*Assertion, *Error) {
	if until := v.trust.idp.ValidUntil; !until.IsZero() && !v.now.Before(until) {
		v.check("idp_metadata")
		return nil, newError(CodeExpired, "the IdP metadata was valid until %s (validUntil); fetch fresh metadata from the IdP", stamp(until))
	}
	v.check("decode")
	raw, err := decodeResponse(form, v.sp.cfg.MaxResponseSize)
	if err != nil {
		return nil, err.(*Error)
	}
	if v.report != nil {
		v.report.XML = string(raw)
	}
	v.passed(func() string { return fmt.Sprintf("%d bytes of XML", len(raw)) })

	v.check("xml")
	doc, sc, err := parseXML(raw)
	if err != nil {
		return nil, err.(*Error)
	}
	v.passed(func() string {
		return fmt.Sprintf("well-formed, %d elements, no DOCTYPE or processing instructions, IDs unique", sc.elements)
	})

	root := doc.Root()
	if e := v.checkStructure(root, sc); e != nil {
		return nil, e
	}
	if e := v.checkSignatures(root, sc); e != nil {
		return nil, e
	}
	for _, step := range []func() *Error{
		v.checkStatus, v.checkIssuers, v.checkDestination, v.checkIssueInstants,
	} {
		if e := step(); e != nil {
			return nil, e
		}
	}
	a := &Assertion{}
	for _, step := range []func(*Assertion) *Error{
		v.checkSubject, v.checkConditions, v.checkInResponseTo, v.checkAuthnStatement,
	} {
		if e := step(a); e != nil {
			return nil, e
		}
	}
	a.ID, _ = attr(v.assertion, "ID")
	a.Issuer = v.trust.idp.EntityID // checkIssuers made sure both Issuers are this
	if e := v.readAttributes(a); e != nil {
		return nil, e
	}
	a.Warnings = v.warnings
	if e := v.checkReplay(ctx, a); e != nil {
		return nil, e
	}
	return a, nil
}

// checkStructure checks the parts of the document that decide what is
// verified: a Response root, exactly one assertion and it a child of the
// root, and every signature where the schema puts it.
func (v *verification) checkStructure(root *etree.Element, sc *scanned) *Error {
	v.check("structure")
	if !is(root, nsProtocol, "Response") {
		return newError(CodeMalformed, "the root element is <%s> in namespace %q, want a SAML 2.0 protocol Response", root.Tag, root.NamespaceURI())
	}
	if version, _ := attr(root, "Version"); version != "2.0" {
		return newError(CodeMalformed, "the Response has Version %q, want \"2.0\"", version)
	}
	if len(sc.assertions) != 1 {
		return newError(CodeStructure, "the document holds %d assertions; exactly one is allowed (several is a wrapping attempt)", len(sc.assertions))
	}
	assertion := sc.assertions[0]
	if assertion.Parent() != root {
		return newError(CodeStructure, "the assertion is inside <%s>, not a direct child of the Response (a wrapping attempt?)", assertion.Parent().Tag)
	}
	if assertion.Tag == "EncryptedAssertion" && len(v.sp.cfg.DecryptionKeys) == 0 {
		return newError(CodeDecryption, "the assertion is encrypted but this service provider has no decryption key; configure one, or turn off assertion encryption at the IdP")
	}
	var onResponse, onAssertion int
	for _, sig := range sc.signatures {
		switch sig.Parent() {
		case root:
			onResponse++
		case assertion:
			if assertion.Tag == "EncryptedAssertion" {
				return newError(CodeStructure, "a signature sits directly in the EncryptedAssertion; an encrypted assertion is signed inside, before encryption")
			}
			if e := checkSignaturePosition(assertion, sig); e != nil {
				return e
			}
			onAssertion++
		default:
			return newError(CodeStructure, "a signature sits inside <%s>; signatures belong directly in the Response or the Assertion they sign (a wrapping attempt?)", sig.Parent().Tag)
		}
	}
	if onResponse > 1 || onAssertion > 1 {
		return newError(CodeStructure, "the Response carries %d signatures and the Assertion %d; at most one each is allowed", onResponse, onAssertion)
	}
	v.passed(func() string { return "one Response, one Assertion in it, at most one signature on each" })
	return nil
}

// checkSignaturePosition requires the Assertion's signature to follow its
// Issuer, as the schema says (SAML-ATTACKS.md 9). A Response signature may
// sit anywhere among the Response's children: Auth0 puts it last.
func checkSignaturePosition(assertion, sig *etree.Element) *Error {
	issuer, second := firstElements(assertion)
	if !is(issuer, nsAssertion, "Issuer") {
		return newError(CodeIssuer, "the Assertion does not start with an Issuer; SAML requires one, before the signature")
	}
	if second != sig {
		return newError(CodeStructure, "the Assertion's signature must come right after its Issuer")
	}
	return nil
}

// checkSignatures verifies the Response and Assertion signatures, whichever
// are present (at least one must be), decrypts an encrypted assertion after
// the Response signature, and decides where values are read.
func (v *verification) checkSignatures(root *etree.Element, sc *scanned) *Error {
	v.scan = sc
	assertion := sc.assertions[0]
	encrypted := assertion.Tag == "EncryptedAssertion"
	var responseSig, assertionSig *etree.Element
	for _, sig := range sc.signatures {
		if sig.Parent() == root {
			responseSig = sig
		} else {
			assertionSig = sig
		}
	}
	if !encrypted {
		if e := v.checkSigned(responseSig != nil, assertionSig != nil); e != nil {
			return e
		}
	}
	v.response = root
	if responseSig != nil {
		verified, e := v.verifySignature(root, responseSig)
		if e != nil {
			return e
		}
		v.response, v.signedResponse = verified, true
	}
	if encrypted {
		return v.decryptAssertion()
	}
	if assertionSig == nil {
		a, err := child(v.response, nsAssertion, "Assertion")
		if err != nil || a == nil {
			return newError(CodeStructure, "the signed Response holds no single Assertion")
		}
		v.assertion = a
		return nil
	}
	verified, e := v.verifySignature(assertion, assertionSig)
	if e != nil {
		return e
	}
	v.assertion = verified
	return nil
}

// checkSigned requires at least one signature, and the Assertion's when
// the host wants assertions signed.
func (v *verification) checkSigned(response, assertion bool) *Error {
	v.check("signed")
	switch {
	case !response && !assertion:
		return newError(CodeSignature, "neither the Response nor the Assertion is signed; the IdP must sign at least one")
	case !assertion && v.sp.cfg.WantAssertionsSigned:
		return newError(CodeSignature, "the Assertion is not signed (only the Response is), and this service provider wants assertions signed")
	}
	v.passed(func() string {
		switch {
		case response && assertion:
			return "Response and Assertion are signed"
		case response:
			return "the Response is signed"
		}
		return "the Assertion is signed"
	})
	return nil
}

func (v *verification) verifySignature(signed, sigEl *etree.Element) (*etree.Element, *Error) {
	v.check("signature:" + strings.ToLower(signed.Tag))
	sig, err := checkShape(signed, sigEl, v.sp.cfg.AllowSHA1)
	if err != nil {
		return nil, err.(*Error)
	}
	verified, tc, err := v.trust.verify(signed, sig, 3*v.sp.cfg.MaxResponseSize)
	if err != nil {
		return nil, err.(*Error)
	}
	if v.now.Before(tc.cert.NotBefore) || v.now.After(tc.cert.NotAfter) {
		msg := fmt.Sprintf("the IdP certificate %q is valid from %s to %s, not now (%s)", tc.cert.Subject.CommonName,
			tc.cert.NotBefore.UTC().Format(time.RFC3339), tc.cert.NotAfter.UTC().Format(time.RFC3339), v.now.UTC().Format(time.RFC3339))
		if v.sp.cfg.CheckCertificateDates {
			return nil, newError(CodeSignature, "%s, and certificate dates are checked", msg)
		}
		msg += "; it is trusted because it is pinned, but ask the IdP admin to rotate it"
		v.warnings = appendUnique(v.warnings, msg)
	}
	v.passed(func() string {
		detail := fmt.Sprintf("%s and %s, verified with the pinned certificate %q (serial %s)", sig.method, sig.digest, tc.cert.Subject.CommonName, tc.cert.SerialNumber)
		if len(v.warnings) > 0 {
			detail += "; warning: " + v.warnings[len(v.warnings)-1]
		}
		return detail
	})
	return verified, nil
}

func appendUnique(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// checkStatus requires exactly one top-level StatusCode, Success, with no
// second-level code.
func (v *verification) checkStatus() *Error {
	v.check("status")
	status, err := child(v.response, nsProtocol, "Status")
	if err != nil {
		return err.(*Error)
	}
	if status == nil {
		return newError(CodeStatus, "the Response has no Status")
	}
	codes := children(status, nsProtocol, "StatusCode")
	if len(codes) != 1 {
		return newError(CodeStatus, "the Status holds %d top-level StatusCodes, want exactly one", len(codes))
	}
	value, _ := attr(codes[0], "Value")
	nested := children(codes[0], nsProtocol, "StatusCode")
	if value == statusSuccess && len(nested) == 0 {
		v.passed(func() string { return "Success" })
		return nil
	}
	msg := "the IdP did not authenticate the user: status " + value
	for _, n := range nested {
		sub, _ := attr(n, "Value")
		msg += " / " + sub
	}
	if m, _ := child(status, nsProtocol, "StatusMessage"); m != nil {
		msg += fmt.Sprintf(" (%q)", trimXMLSpace(text(m)))
	}
	return newError(CodeStatus, "%s", msg)
}

// checkIssuers requires the Response and the Assertion Issuer to be the
// IdP's entity ID.
func (v *verification) checkIssuers() *Error {
	v.check("issuer")
	want := v.trust.idp.EntityID
	for _, el := range []*etree.Element{v.response, v.assertion} {
		issuer, err := child(el, nsAssertion, "Issuer")
		if err != nil {
			return err.(*Error)
		}
		if issuer == nil {
			return newError(CodeIssuer, "the %s has no Issuer; want %q", el.Tag, want)
		}
		if format, ok := attr(issuer, "Format"); ok && format != "urn:oasis:names:tc:SAML:2.0:nameid-format:entity" {
			return newError(CodeIssuer, "the %s Issuer has Format %q, want the entity format", el.Tag, format)
		}
		if got := trimXMLSpace(text(issuer)); got != want {
			return newError(CodeIssuer, "the %s was issued by %q, the configured IdP is %q", el.Tag, got, want)
		}
	}
	v.passed(func() string { return fmt.Sprintf("Response and Assertion issued by %q", want) })
	return nil
}

// checkDestination requires Destination to be the ACS URL when present,
// and present when the Response is signed (SAML bindings 3.5.5.2).
func (v *verification) checkDestination() *Error {
	v.check("destination")
	want := v.sp.cfg.ACSURL
	got, ok := attr(v.response, "Destination")
	switch {
	case ok && got != want:
		return newError(CodeDestination, "the Response is addressed to %q, this service provider's ACS URL is %q", got, want)
	case !ok && v.signedResponse:
		return newError(CodeDestination, "the Response is signed but has no Destination (SAML bindings 3.5.5.2 requires one); want %q", want)
	case !ok:
		v.passed(func() string { return "absent (allowed: the Response is unsigned)" })
	default:
		v.passed(func() string { return fmt.Sprintf("%q", got) })
	}
	return nil
}

// checkIssueInstants refuses a Response or Assertion issued in the future.
func (v *verification) checkIssueInstants() *Error {
	v.check("issue_instant")
	for _, el := range []*etree.Element{v.response, v.assertion} {
		t, e := v.requiredTime(el, "IssueInstant")
		if e != nil {
			return e
		}
		if t.After(v.now.Add(v.sp.cfg.ClockSkew)) {
			return newError(CodeNotYetValid, "the %s was issued at %s, in the future (now %s, skew %s); check the clocks", el.Tag, stamp(t), stamp(v.now), v.sp.cfg.ClockSkew)
		}
	}
	v.passed(func() string { return "not in the future" })
	return nil
}

func (v *verification) requiredTime(el *etree.Element, name string) (time.Time, *Error) {
	s, ok := attr(el, name)
	if !ok {
		return time.Time{}, newError(CodeStructure, "the %s has no %s", el.Tag, name)
	}
	t, err := parseTime(s)
	if err != nil {
		return time.Time{}, newError(CodeMalformed, "the %s %s %q is not a valid time", el.Tag, name, s)
	}
	return t, nil
}

// optionalTime parses the attribute name of el when present.
func optionalTime(el *etree.Element, name string) (time.Time, bool, *Error) {
	s, ok := attr(el, name)
	if !ok {
		return time.Time{}, false, nil
	}
	t, err := parseTime(s)
	if err != nil {
		return time.Time{}, false, newError(CodeMalformed, "the %s %s %q is not a valid time", el.Tag, name, s)
	}
	return t, true, nil
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// checkReplay accepts each assertion ID once, remembering it until the
// assertion could no longer be accepted anyway: its NotOnOrAfter plus skew.
func (v *verification) checkReplay(ctx context.Context, a *Assertion) *Error {
	v.check("replay")
	if a.ID == "" {
		return newError(CodeStructure, "the Assertion has no ID, so its use cannot be recorded")
	}
	added, err := v.sp.cfg.ReplayCache.Add(ctx, a.ID, a.NotOnOrAfter.Add(v.sp.cfg.ClockSkew))
	if err != nil {
		return wrapError(CodeReplay, err, "the replay cache failed, so the assertion cannot be accepted safely: %v", err)
	}
	if !added {
		return newError(CodeReplay, "the assertion %q was already used to log in; each response is accepted once", a.ID)
	}
	v.passed(func() string { return fmt.Sprintf("assertion %q seen for the first time", a.ID) })
	return nil
}
