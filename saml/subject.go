package saml

import (
	"fmt"
	"strings"

	"github.com/beevik/etree"
)

// checkSubject reads the NameID and requires a bearer SubjectConfirmation
// addressed to the ACS URL and still valid (SAML profiles 4.1.4.2).
func (v *verification) checkSubject(a *Assertion) *Error {
	v.check("subject")
	subject, err := child(v.assertion, nsAssertion, "Subject")
	if err != nil {
		return err.(*Error)
	}
	if subject == nil {
		return newError(CodeStructure, "the Assertion has no Subject")
	}
	nameID, err := child(subject, nsAssertion, "NameID")
	if err != nil {
		return err.(*Error)
	}
	if enc, err := child(subject, nsAssertion, "EncryptedID"); err != nil {
		return err.(*Error)
	} else if enc != nil {
		if nameID != nil {
			return newError(CodeStructure, "the Subject holds both a NameID and an EncryptedID")
		}
		var e *Error
		if nameID, e = v.decryptNameID(enc); e != nil {
			return e
		}
	}
	if nameID == nil {
		return newError(CodeStructure, "the Assertion's Subject has no NameID")
	}
	a.NameID = NameID{Value: trimXMLSpace(text(nameID))}
	a.NameID.Format, _ = attr(nameID, "Format")
	a.NameID.NameQualifier, _ = attr(nameID, "NameQualifier")
	a.NameID.SPNameQualifier, _ = attr(nameID, "SPNameQualifier")
	a.NameID.SPProvidedID, _ = attr(nameID, "SPProvidedID")
	if a.NameID.Value == "" {
		return newError(CodeStructure, "the Assertion's NameID is empty")
	}
	v.passed(func() string { return fmt.Sprintf("NameID %q (format %q)", a.NameID.Value, a.NameID.Format) })

	v.check("subject_confirmation")
	var firstErr *Error
	for _, sc := range children(subject, nsAssertion, "SubjectConfirmation") {
		if method, _ := attr(sc, "Method"); method != methodBearer {
			continue
		}
		e := v.checkBearer(sc, a)
		if e == nil {
			return nil
		}
		// A confirmation for another recipient says less than one for us
		// that failed a later rule.
		if firstErr == nil || firstErr.Code == CodeRecipient {
			firstErr = e
		}
	}
	if firstErr == nil {
		firstErr = newError(CodeSubjectConfirmation, "the Subject has no bearer SubjectConfirmation (Method %q)", methodBearer)
	}
	return firstErr
}

// checkBearer checks one bearer SubjectConfirmation. On success it records
// the confirmation's NotOnOrAfter and InResponseTo in a.
func (v *verification) checkBearer(sc *etree.Element, a *Assertion) *Error {
	data, err := child(sc, nsAssertion, "SubjectConfirmationData")
	if err != nil {
		return err.(*Error)
	}
	if data == nil {
		return newError(CodeSubjectConfirmation, "the bearer SubjectConfirmation has no SubjectConfirmationData")
	}
	want := v.sp.cfg.ACSURL
	recipient, ok := attr(data, "Recipient")
	if !ok {
		return newError(CodeRecipient, "the bearer SubjectConfirmationData has no Recipient; want %q", want)
	}
	if recipient != want {
		return newError(CodeRecipient, "the bearer SubjectConfirmationData is for Recipient %q, this service provider's ACS URL is %q", recipient, want)
	}
	notOnOrAfter, ok, e := optionalTime(data, "NotOnOrAfter")
	if e != nil {
		return e
	}
	if !ok {
		return newError(CodeSubjectConfirmation, "the bearer SubjectConfirmationData has no NotOnOrAfter, so the assertion would never expire")
	}
	if !v.now.Add(-v.sp.cfg.ClockSkew).Before(notOnOrAfter) {
		return newError(CodeExpired, "the bearer SubjectConfirmationData expired at %s (now %s, skew %s)", stamp(notOnOrAfter), stamp(v.now), v.sp.cfg.ClockSkew)
	}
	// Profiles 4.1.4.2 forbid NotBefore here, yet SecureWorks sends it and
	// every peer accepts it: it is honoured as a lower bound instead.
	notBefore, ok, e := optionalTime(data, "NotBefore")
	if e != nil {
		return e
	}
	if ok && notBefore.After(v.now.Add(v.sp.cfg.ClockSkew)) {
		return newError(CodeNotYetValid, "the bearer SubjectConfirmationData is valid from %s (now %s, skew %s)", stamp(notBefore), stamp(v.now), v.sp.cfg.ClockSkew)
	}
	inResponseTo, _ := attr(data, "InResponseTo")
	responseIRT, _ := attr(v.response, "InResponseTo")
	if inResponseTo != "" && responseIRT != "" && inResponseTo != responseIRT {
		return newError(CodeInResponseTo, "the Response answers request %q but its SubjectConfirmationData answers %q", responseIRT, inResponseTo)
	}
	a.NotOnOrAfter = notOnOrAfter
	a.InResponseTo = inResponseTo
	v.passed(func() string {
		detail := fmt.Sprintf("bearer, Recipient %q, valid until %s", recipient, stamp(notOnOrAfter))
		if ok {
			detail += "; NotBefore (not allowed by SAML profiles 4.1.4.2) honoured as a lower bound"
		}
		return detail
	})
	return nil
}

// checkConditions requires Conditions whose time window holds now and
// whose every AudienceRestriction names this service provider.
func (v *verification) checkConditions(a *Assertion) *Error {
	v.check("conditions")
	skew := v.sp.cfg.ClockSkew
	want := v.sp.cfg.EntityID
	cond, err := child(v.assertion, nsAssertion, "Conditions")
	if err != nil {
		return err.(*Error)
	}
	if cond == nil {
		return newError(CodeAudience, "the Assertion has no Conditions, so it names no audience; want %q", want)
	}
	notBefore, ok, e := optionalTime(cond, "NotBefore")
	if e != nil {
		return e
	}
	if ok && notBefore.After(v.now.Add(skew)) {
		return newError(CodeNotYetValid, "the Assertion is valid from %s, now is %s (skew %s); check the clocks", stamp(notBefore), stamp(v.now), skew)
	}
	notOnOrAfter, ok, e := optionalTime(cond, "NotOnOrAfter")
	if e != nil {
		return e
	}
	if ok {
		if !v.now.Add(-skew).Before(notOnOrAfter) {
			return newError(CodeExpired, "the Assertion expired at %s, now is %s (skew %s)", stamp(notOnOrAfter), stamp(v.now), skew)
		}
		if notOnOrAfter.Before(a.NotOnOrAfter) {
			a.NotOnOrAfter = notOnOrAfter
		}
	}
	v.passed(func() string { return "the time window holds now" })

	v.check("audience")
	restrictions := children(cond, nsAssertion, "AudienceRestriction")
	if len(restrictions) == 0 {
		return newError(CodeAudience, "the Assertion has no AudienceRestriction, so any service provider could use it; want %q", want)
	}
	for _, r := range restrictions {
		var got []string
		found := false
		for _, aud := range children(r, nsAssertion, "Audience") {
			s := trimXMLSpace(text(aud))
			got = append(got, fmt.Sprintf("%q", s))
			found = found || s == want
		}
		if !found {
			return newError(CodeAudience, "the Assertion is for %s, this service provider is %q", strings.Join(got, ", "), want)
		}
	}
	v.passed(func() string { return fmt.Sprintf("%q", want) })
	return nil
}

// checkInResponseTo requires the response to answer one of the requests
// the host passed, or no request when IdP-initiated login is allowed.
func (v *verification) checkInResponseTo(a *Assertion) *Error {
	v.check("in_response_to")
	// The Response's InResponseTo counts only when the Response is signed:
	// otherwise anyone could add one to an unsolicited assertion and pass
	// it off as an answer to a request of their own browser.
	id := a.InResponseTo // from the verified SubjectConfirmationData
	if v.signedResponse {
		if rid, _ := attr(v.response, "InResponseTo"); rid != "" {
			id = rid
		}
	}
	a.InResponseTo = id
	if id == "" {
		if !v.sp.cfg.AllowIdPInitiated {
			return newError(CodeInResponseTo, "the response is unsolicited (no InResponseTo) and IdP-initiated login is off; start the login at this service provider, or allow IdP-initiated login")
		}
		v.passed(func() string { return "unsolicited, and IdP-initiated login is allowed" })
		return nil
	}
	for _, r := range v.requestIDs {
		if r == id {
			v.passed(func() string { return fmt.Sprintf("answers outstanding request %q", id) })
			return nil
		}
	}
	if len(v.requestIDs) == 0 {
		return newError(CodeInResponseTo, "the response answers request %q, but this browser has no login in progress (expired, or started in another browser?)", id)
	}
	return newError(CodeInResponseTo, "the response answers request %q, which is not one this browser made (outstanding: %q)", id, v.requestIDs)
}

// checkAuthnStatement requires an AuthnStatement (profiles 4.1.4.2) and
// reads the session from the first one.
func (v *verification) checkAuthnStatement(a *Assertion) *Error {
	v.check("authn_statement")
	stmts := children(v.assertion, nsAssertion, "AuthnStatement")
	if len(stmts) == 0 {
		return newError(CodeStructure, "the Assertion has no AuthnStatement, so it does not say the user authenticated")
	}
	s := stmts[0]
	var e *Error
	if a.AuthnInstant, e = v.requiredTime(s, "AuthnInstant"); e != nil {
		return e
	}
	a.SessionIndex, _ = attr(s, "SessionIndex")
	var ok bool
	if a.SessionNotOnOrAfter, ok, e = optionalTime(s, "SessionNotOnOrAfter"); e != nil {
		return e
	}
	if ok && !v.now.Add(-v.sp.cfg.ClockSkew).Before(a.SessionNotOnOrAfter) {
		return newError(CodeExpired, "the IdP session ended at %s (SessionNotOnOrAfter), now is %s", stamp(a.SessionNotOnOrAfter), stamp(v.now))
	}
	v.passed(func() string {
		return fmt.Sprintf("authenticated at %s, session %q", stamp(a.AuthnInstant), a.SessionIndex)
	})
	return nil
}
