package samltest

import (
	"encoding/base64"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Paths of the elements the spec fields land on.
const (
	pAssertion = "/saml2p:Response/saml2:Assertion"
	pSubject   = pAssertion + "/saml2:Subject"
	pNameID    = pSubject + "/saml2:NameID"
	pSC        = pSubject + "/saml2:SubjectConfirmation"
	pSCD       = pSC + "/saml2:SubjectConfirmationData"
	pCond      = pAssertion + "/saml2:Conditions"
	pAudience  = pCond + "/saml2:AudienceRestriction/saml2:Audience"
	pAuthn     = pAssertion + "/saml2:AuthnStatement"
	pStatus    = "/saml2p:Response/saml2p:Status"
)

// want is one expectation on the XML: the text of the element at path (attr
// empty) or the value of its attribute; absent means the element or
// attribute must not be there.
type want struct {
	path, attr, value string
	absent            bool
}

func lookup(doc *etree.Document, w want) (string, bool) {
	el := doc.FindElement(w.path)
	if el == nil {
		return "", false
	}
	if w.attr == "" {
		return el.Text(), true
	}
	a := el.SelectAttr(w.attr)
	if a == nil {
		return "", false
	}
	return a.Value, true
}

func TestResponseDefaults(t *testing.T) {
	t.Parallel()
	idp, err := New()
	require.NoError(t, err)
	before := time.Now().UTC()
	resp, err := idp.Response(ResponseSpec{})
	require.NoError(t, err)
	doc := parse(t, resp.XML)

	idRE := regexp.MustCompile(`^_[0-9a-f]{40}$`)
	assert.Regexp(t, idRE, resp.ResponseID)
	assert.Regexp(t, idRE, resp.AssertionID)
	assert.NotEqual(t, resp.ResponseID, resp.AssertionID)

	issue, err := time.Parse(time.RFC3339Nano, doc.Root().SelectAttrValue("IssueInstant", ""))
	require.NoError(t, err)
	assert.WithinDuration(t, before, issue, 5*time.Second)
	at := func(d time.Duration) string { return formatTime(issue.Add(d)) }

	for _, w := range []want{
		{path: "/saml2p:Response", attr: "ID", value: resp.ResponseID},
		{path: "/saml2p:Response", attr: "Version", value: "2.0"},
		{path: "/saml2p:Response", attr: "Destination", value: DefaultACSURL},
		{path: "/saml2p:Response", attr: "InResponseTo", absent: true},
		{path: "/saml2p:Response/saml2:Issuer", value: DefaultEntityID},
		{path: pStatus + "/saml2p:StatusCode", attr: "Value", value: StatusSuccess},
		{path: pStatus + "/saml2p:StatusMessage", absent: true},
		{path: pStatus + "/saml2p:StatusCode/saml2p:StatusCode", absent: true},
		{path: pAssertion, attr: "ID", value: resp.AssertionID},
		{path: pAssertion, attr: "Version", value: "2.0"},
		{path: pAssertion, attr: "IssueInstant", value: at(0)},
		{path: pAssertion + "/saml2:Issuer", value: DefaultEntityID},
		{path: pAssertion + "/ds:Signature/ds:SignedInfo/ds:SignatureMethod", attr: "Algorithm", value: RSASHA256},
		{path: pAssertion + "/ds:Signature/ds:SignedInfo/ds:Reference/ds:DigestMethod", attr: "Algorithm", value: DigestSHA256},
		{path: "/saml2p:Response/ds:Signature", absent: true},
		{path: pNameID, value: DefaultNameID},
		{path: pNameID, attr: "Format", value: NameIDFormatEmail},
		{path: pNameID, attr: "NameQualifier", absent: true},
		{path: pNameID, attr: "SPNameQualifier", absent: true},
		{path: pSC, attr: "Method", value: MethodBearer},
		{path: pSCD, attr: "InResponseTo", absent: true},
		{path: pSCD, attr: "Recipient", value: DefaultACSURL},
		{path: pSCD, attr: "NotOnOrAfter", value: at(DefaultValidity)},
		{path: pSCD, attr: "NotBefore", absent: true},
		{path: pCond, attr: "NotBefore", value: at(-time.Minute)},
		{path: pCond, attr: "NotOnOrAfter", value: at(DefaultValidity)},
		{path: pAudience, value: DefaultAudience},
		{path: pAuthn, attr: "AuthnInstant", value: at(0)},
		{path: pAuthn, attr: "SessionIndex", value: resp.AssertionID},
		{path: pAuthn, attr: "SessionNotOnOrAfter", value: at(DefaultSessionLength)},
		{path: pAuthn + "/saml2:AuthnContext/saml2:AuthnContextClassRef", value: AuthnPasswordProtectedTransport},
		{path: pAssertion + "/saml2:AttributeStatement", absent: true},
	} {
		got, ok := lookup(doc, w)
		if w.absent {
			assert.False(t, ok, "%s@%s should be absent, is %q", w.path, w.attr, got)
			continue
		}
		if assert.True(t, ok, "%s@%s missing", w.path, w.attr) {
			assert.Equal(t, w.value, got, "%s@%s", w.path, w.attr)
		}
	}
}

// TestResponseShape checks the document layout against Okta's: prefixes,
// namespace declarations, element order, XML declaration, UTC times.
func TestResponseShape(t *testing.T) {
	t.Parallel()
	idp, err := New()
	require.NoError(t, err)
	resp, err := idp.Response(ResponseSpec{
		Sign:       SignBoth,
		Attributes: []Attribute{{Name: "groups", Values: []string{"a"}}},
	})
	require.NoError(t, err)
	s := string(resp.XML)
	assert.True(t, strings.HasPrefix(s, `<?xml version="1.0" encoding="UTF-8"?><saml2p:Response xmlns:saml2p="urn:oasis:names:tc:SAML:2.0:protocol" `), s[:120])

	doc := parse(t, resp.XML)
	root := doc.Root()
	assert.Equal(t, []string{"saml2:Issuer", "ds:Signature", "saml2p:Status", "saml2:Assertion"}, childTags(root))
	assert.Equal(t, nsAssertion, root.SelectElement("saml2:Issuer").SelectAttrValue("xmlns:saml2", ""))
	assert.Equal(t, nsXS, root.SelectAttrValue("xmlns:xs", ""))
	a := assertionOf(t, doc)
	assert.Equal(t, nsAssertion, a.SelectAttrValue("xmlns:saml2", ""), "the Assertion declares its own namespace")
	assert.Equal(t, nsXS, a.SelectAttrValue("xmlns:xs", ""))
	assert.Equal(t, []string{"saml2:Issuer", "ds:Signature", "saml2:Subject", "saml2:Conditions", "saml2:AuthnStatement", "saml2:AttributeStatement"}, childTags(a))
	assert.Equal(t, []string{"saml2:NameID", "saml2:SubjectConfirmation"}, childTags(a.SelectElement("saml2:Subject")))
	v := a.FindElement("saml2:AttributeStatement/saml2:Attribute/saml2:AttributeValue")
	require.NotNil(t, v)
	assert.Equal(t, "xs:string", v.SelectAttrValue("xsi:type", ""))
	assert.Equal(t, nsXSI, v.SelectAttrValue("xmlns:xsi", ""))
	assert.Equal(t, nsXS, v.SelectAttrValue("xmlns:xs", ""))

	// The Assertion stands alone: detached from the Response it still
	// parses with every prefix it uses declared, and goxmldsig verifies it.
	standalone := etree.NewDocument()
	standalone.SetRoot(a.Copy())
	out, err := standalone.WriteToBytes()
	require.NoError(t, err)
	reparsed := parse(t, out)
	assert.NoError(t, goxmldsigValidate(idp.Certificate, reparsed.Root(), 0))

	// Every time is UTC with a Z.
	for _, m := range regexp.MustCompile(`(?:Instant|NotBefore|NotOnOrAfter)="([^"]*)"`).FindAllStringSubmatch(s, -1) {
		assert.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$`, m[1])
	}
}

func TestResponseOverrides(t *testing.T) {
	t.Parallel()
	idp, err := New()
	require.NoError(t, err)
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("CET", 3600))
	cases := []struct {
		name string
		spec ResponseSpec
		want []want
	}{
		{"Now in another zone, whole seconds", ResponseSpec{Now: now}, []want{
			{path: "/saml2p:Response", attr: "IssueInstant", value: "2026-03-04T04:06:07Z"},
			{path: pAssertion, attr: "IssueInstant", value: "2026-03-04T04:06:07Z"},
			{path: pAuthn, attr: "AuthnInstant", value: "2026-03-04T04:06:07Z"},
			{path: pCond, attr: "NotBefore", value: "2026-03-04T04:05:07Z"},
			{path: pCond, attr: "NotOnOrAfter", value: "2026-03-04T04:11:07Z"},
			{path: pSCD, attr: "NotOnOrAfter", value: "2026-03-04T04:11:07Z"},
			{path: pAuthn, attr: "SessionNotOnOrAfter", value: "2026-03-04T12:06:07Z"},
		}},
		{"Now with a fraction: milliseconds, truncated", ResponseSpec{Now: now.Add(123_987_654 * time.Nanosecond)}, []want{
			{path: "/saml2p:Response", attr: "IssueInstant", value: "2026-03-04T04:06:07.123Z"},
		}},
		{"ACSURL", ResponseSpec{ACSURL: "https://app/acs"}, []want{
			{path: "/saml2p:Response", attr: "Destination", value: "https://app/acs"},
			{path: pSCD, attr: "Recipient", value: "https://app/acs"},
		}},
		{"Destination and Recipient override ACSURL", ResponseSpec{ACSURL: "https://app/acs", Destination: "https://d", Recipient: "https://r"}, []want{
			{path: "/saml2p:Response", attr: "Destination", value: "https://d"},
			{path: pSCD, attr: "Recipient", value: "https://r"},
		}},
		{"Destination and Recipient omitted", ResponseSpec{Destination: Omit, Recipient: Omit}, []want{
			{path: "/saml2p:Response", attr: "Destination", absent: true},
			{path: pSCD, attr: "Recipient", absent: true},
			{path: pSCD, attr: "NotOnOrAfter"}, // still there
		}},
		{"Audience", ResponseSpec{Audience: "https://other"}, []want{{path: pAudience, value: "https://other"}}},
		{"Audience omitted", ResponseSpec{Audience: Omit}, []want{
			{path: pCond + "/saml2:AudienceRestriction", absent: true},
			{path: pCond, attr: "NotBefore"},
		}},
		{"InResponseTo", ResponseSpec{InResponseTo: "_req-1"}, []want{
			{path: "/saml2p:Response", attr: "InResponseTo", value: "_req-1"},
			{path: pSCD, attr: "InResponseTo", value: "_req-1"},
		}},
		{"SubjectInResponseTo differs", ResponseSpec{InResponseTo: "_req-1", SubjectInResponseTo: "_req-2"}, []want{
			{path: "/saml2p:Response", attr: "InResponseTo", value: "_req-1"},
			{path: pSCD, attr: "InResponseTo", value: "_req-2"},
		}},
		{"SubjectInResponseTo omitted", ResponseSpec{InResponseTo: "_req-1", SubjectInResponseTo: Omit}, []want{
			{path: "/saml2p:Response", attr: "InResponseTo", value: "_req-1"},
			{path: pSCD, attr: "InResponseTo", absent: true},
		}},
		{"NameID and qualifiers", ResponseSpec{NameID: "bob", NameIDFormat: NameIDFormatPersistent, NameQualifier: "idp-q", SPNameQualifier: "sp-q"}, []want{
			{path: pNameID, value: "bob"},
			{path: pNameID, attr: "Format", value: NameIDFormatPersistent},
			{path: pNameID, attr: "NameQualifier", value: "idp-q"},
			{path: pNameID, attr: "SPNameQualifier", value: "sp-q"},
		}},
		{"NameID Format omitted", ResponseSpec{NameIDFormat: Omit}, []want{
			{path: pNameID, value: DefaultNameID},
			{path: pNameID, attr: "Format", absent: true},
		}},
		{"NameID omitted", ResponseSpec{NameID: Omit}, []want{
			{path: pNameID, absent: true},
			{path: pSC, attr: "Method", value: MethodBearer},
		}},
		{"SubjectConfirmation method", ResponseSpec{SubjectConfirmationMethod: "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key"}, []want{
			{path: pSC, attr: "Method", value: "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key"},
		}},
		{"SubjectConfirmation omitted", ResponseSpec{SubjectConfirmationMethod: Omit}, []want{
			{path: pSC, absent: true},
			{path: pNameID, value: DefaultNameID},
		}},
		{"times", ResponseSpec{
			Now:                 now,
			NotBefore:           now.Add(time.Hour),
			NotOnOrAfter:        now.Add(2 * time.Hour),
			SubjectNotOnOrAfter: now.Add(3 * time.Hour),
			SessionNotOnOrAfter: now.Add(4 * time.Hour),
		}, []want{
			{path: pCond, attr: "NotBefore", value: "2026-03-04T05:06:07Z"},
			{path: pCond, attr: "NotOnOrAfter", value: "2026-03-04T06:06:07Z"},
			{path: pSCD, attr: "NotOnOrAfter", value: "2026-03-04T07:06:07Z"},
			{path: pAuthn, attr: "SessionNotOnOrAfter", value: "2026-03-04T08:06:07Z"},
		}},
		{"SubjectNotOnOrAfter follows Conditions", ResponseSpec{Now: now, NotOnOrAfter: now.Add(time.Hour)}, []want{
			{path: pSCD, attr: "NotOnOrAfter", value: "2026-03-04T05:06:07Z"},
		}},
		{"times omitted", ResponseSpec{Now: now, NotBefore: OmitTime(), NotOnOrAfter: OmitTime(), SessionNotOnOrAfter: OmitTime()}, []want{
			{path: pCond, attr: "NotBefore", absent: true},
			{path: pCond, attr: "NotOnOrAfter", absent: true},
			{path: pAuthn, attr: "SessionNotOnOrAfter", absent: true},
			{path: pSCD, attr: "NotOnOrAfter", value: "2026-03-04T04:11:07Z"}, // Now+DefaultValidity
			{path: pAudience, value: DefaultAudience},
		}},
		{"SubjectNotOnOrAfter omitted", ResponseSpec{SubjectNotOnOrAfter: OmitTime()}, []want{
			{path: pSCD, attr: "NotOnOrAfter", absent: true},
			{path: pCond, attr: "NotOnOrAfter"},
		}},
		{"Conditions omitted", ResponseSpec{NotBefore: OmitTime(), NotOnOrAfter: OmitTime(), Audience: Omit}, []want{
			{path: pCond, absent: true},
		}},
		{"SessionIndex", ResponseSpec{SessionIndex: "_s1"}, []want{{path: pAuthn, attr: "SessionIndex", value: "_s1"}}},
		{"SessionIndex omitted", ResponseSpec{SessionIndex: Omit}, []want{{path: pAuthn, attr: "SessionIndex", absent: true}}},
		{"AuthnContextClassRef", ResponseSpec{AuthnContextClassRef: "urn:x:mfa"}, []want{
			{path: pAuthn + "/saml2:AuthnContext/saml2:AuthnContextClassRef", value: "urn:x:mfa"},
		}},
		{"Issuer: both follow", ResponseSpec{Issuer: "https://evil"}, []want{
			{path: "/saml2p:Response/saml2:Issuer", value: "https://evil"},
			{path: pAssertion + "/saml2:Issuer", value: "https://evil"},
		}},
		{"AssertionIssuer alone", ResponseSpec{AssertionIssuer: "https://evil"}, []want{
			{path: "/saml2p:Response/saml2:Issuer", value: DefaultEntityID},
			{path: pAssertion + "/saml2:Issuer", value: "https://evil"},
		}},
		{"Issuer omitted: both", ResponseSpec{Issuer: Omit, Sign: SignBoth}, []want{
			{path: "/saml2p:Response/saml2:Issuer", absent: true},
			{path: pAssertion + "/saml2:Issuer", absent: true},
			{path: "/saml2p:Response/ds:Signature"},
			{path: pAssertion + "/ds:Signature"},
		}},
		{"Response Issuer omitted only", ResponseSpec{Issuer: Omit, AssertionIssuer: DefaultEntityID}, []want{
			{path: "/saml2p:Response/saml2:Issuer", absent: true},
			{path: pAssertion + "/saml2:Issuer", value: DefaultEntityID},
		}},
		{"Status", ResponseSpec{StatusCode: StatusResponder, SubStatusCode: "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed", StatusMessage: "no such user"}, []want{
			{path: pStatus + "/saml2p:StatusCode", attr: "Value", value: StatusResponder},
			{path: pStatus + "/saml2p:StatusCode/saml2p:StatusCode", attr: "Value", value: "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"},
			{path: pStatus + "/saml2p:StatusMessage", value: "no such user"},
		}},
		{"IDs", ResponseSpec{ResponseID: "_r1", AssertionID: "_a1"}, []want{
			{path: "/saml2p:Response", attr: "ID", value: "_r1"},
			{path: pAssertion, attr: "ID", value: "_a1"},
			{path: pAssertion + "/ds:Signature/ds:SignedInfo/ds:Reference", attr: "URI", value: "#_a1"},
			{path: pAuthn, attr: "SessionIndex", value: "_a1"},
		}},
		{"algorithms", ResponseSpec{Sign: SignResponse, SignatureMethod: RSASHA1, DigestMethod: DigestSHA512}, []want{
			{path: "/saml2p:Response/ds:Signature/ds:SignedInfo/ds:SignatureMethod", attr: "Algorithm", value: RSASHA1},
			{path: "/saml2p:Response/ds:Signature/ds:SignedInfo/ds:Reference/ds:DigestMethod", attr: "Algorithm", value: DigestSHA512},
			{path: pAssertion + "/ds:Signature", absent: true},
		}},
		{"values are escaped", ResponseSpec{NameID: `a<b>&"c'` + "\r\n", Audience: `x"&<`, InResponseTo: "_\"<&\n\t"}, []want{
			{path: pNameID, value: `a<b>&"c'` + "\r\n"},
			{path: pAudience, value: `x"&<`},
			{path: "/saml2p:Response", attr: "InResponseTo", value: "_\"<&\n\t"},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			resp, err := idp.Response(c.spec)
			require.NoError(t, err)
			doc := parse(t, resp.XML)
			for _, w := range c.want {
				got, ok := lookup(doc, w)
				if w.absent {
					assert.False(t, ok, "%s@%s should be absent, is %q", w.path, w.attr, got)
					continue
				}
				if assert.True(t, ok, "%s@%s missing", w.path, w.attr) && w.value != "" {
					assert.Equal(t, w.value, got, "%s@%s", w.path, w.attr)
				}
			}
			if c.spec.Sign != SignNone && c.spec.Sign != SignResponse {
				assert.NoError(t, goxmldsigValidate(idp.Certificate, assertionOf(t, doc), 0))
			}
		})
	}
}

func TestResponseAttributes(t *testing.T) {
	t.Parallel()
	idp, err := New()
	require.NoError(t, err)
	resp, err := idp.Response(ResponseSpec{Attributes: []Attribute{
		{Name: "groups", Values: []string{"admins", "dev & ops", Omit, ""}},
		{Name: "urn:oid:0.9.2342.19200300.100.1.3", FriendlyName: "mail", NameFormat: AttrNameFormatURI, Values: []string{"a@example.com"}},
		{Name: "noformat", NameFormat: Omit},
		{Name: "groups", Values: []string{"later"}},
	}})
	require.NoError(t, err)
	doc := parse(t, resp.XML)
	attrs := doc.FindElements(pAssertion + "/saml2:AttributeStatement/saml2:Attribute")
	require.Len(t, attrs, 4)

	type got struct {
		Name, FriendlyName, NameFormat string
		Values                         []string
	}
	var all []got
	for _, a := range attrs {
		g := got{
			Name:         a.SelectAttrValue("Name", "-"),
			FriendlyName: a.SelectAttrValue("FriendlyName", "-"),
			NameFormat:   a.SelectAttrValue("NameFormat", "-"),
		}
		for _, v := range a.SelectElements("saml2:AttributeValue") {
			assert.Equal(t, "xs:string", v.SelectAttrValue("xsi:type", ""))
			g.Values = append(g.Values, v.Text())
		}
		all = append(all, g)
	}
	assert.Equal(t, []got{
		{"groups", "-", AttrNameFormatUnspecified, []string{"admins", "dev & ops", ""}},
		{"urn:oid:0.9.2342.19200300.100.1.3", "mail", AttrNameFormatURI, []string{"a@example.com"}},
		{"noformat", "-", "-", nil},
		{"groups", "-", AttrNameFormatUnspecified, []string{"later"}},
	}, all)
	assert.NoError(t, goxmldsigValidate(idp.Certificate, assertionOf(t, doc), 0))
}

func TestResponseErrors(t *testing.T) {
	t.Parallel()
	idp, err := New()
	require.NoError(t, err)
	for _, c := range []struct {
		name string
		spec ResponseSpec
		msg  string
	}{
		{"ECDSA method with an RSA key", ResponseSpec{SignatureMethod: ECDSASHA256}, "does not fit"},
		{"unknown signature method", ResponseSpec{SignatureMethod: "urn:hmac"}, `signature method "urn:hmac" is not supported`},
		{"unknown digest method", ResponseSpec{DigestMethod: "urn:md5"}, `digest method "urn:md5" is not supported`},
		{"unknown Sign mode", ResponseSpec{Sign: Sign(9)}, "unknown Sign mode 9"},
		{"control character", ResponseSpec{NameID: "a\x01b"}, "XML 1.0 cannot carry"},
		{"invalid UTF-8", ResponseSpec{Audience: "a\xffb"}, "not valid UTF-8"},
		{"signing an omitted ID", ResponseSpec{AssertionID: Omit}, "no element has ID"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := idp.Response(c.spec)
			assert.ErrorContains(t, err, c.msg)
		})
	}
}

func TestResponseEncodings(t *testing.T) {
	t.Parallel()
	idp, err := New()
	require.NoError(t, err)
	resp, err := idp.Response(ResponseSpec{})
	require.NoError(t, err)

	decoded, err := base64.StdEncoding.DecodeString(resp.Base64())
	require.NoError(t, err)
	assert.Equal(t, resp.XML, decoded)
	assert.NotContains(t, resp.Base64(), "\n")

	form := resp.PostForm("")
	assert.Equal(t, []string{resp.Base64()}, form["SAMLResponse"])
	assert.NotContains(t, form, "RelayState")
	assert.Equal(t, "/after/login", resp.PostForm("/after/login").Get("RelayState"))
}

func TestSignString(t *testing.T) {
	t.Parallel()
	for s, want := range map[Sign]string{SignAssertion: "SignAssertion", SignResponse: "SignResponse", SignBoth: "SignBoth", SignNone: "SignNone", Sign(7): "Sign(7)"} {
		assert.Equal(t, want, s.String())
	}
}

func TestFixedClock(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := FixedClock(at)
	assert.Equal(t, at, clock())
	assert.Equal(t, at, clock())
}

func TestNewID(t *testing.T) {
	t.Parallel()
	a, err := NewID()
	require.NoError(t, err)
	b, err := NewID()
	require.NoError(t, err)
	assert.Regexp(t, `^_[0-9a-f]{40}$`, a)
	assert.NotEqual(t, a, b)
}

func BenchmarkResponse(b *testing.B) {
	idp, err := New()
	require.NoError(b, err)
	spec := ResponseSpec{
		InResponseTo: "_req",
		Attributes:   []Attribute{{Name: "groups", Values: []string{"admins", "engineering"}}},
	}
	for _, mode := range []Sign{SignAssertion, SignBoth} {
		b.Run(mode.String(), func(b *testing.B) {
			spec.Sign = mode
			b.ReportAllocs()
			for b.Loop() {
				if _, err := idp.Response(spec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestResponseSignatureLast checks the Auth0 layout: the Response's
// signature is its last child and still verifies (with goxmldsig, an
// independent verifier), with the Assertion's signature left in place.
func TestResponseSignatureLast(t *testing.T) {
	t.Parallel()
	idp, err := New()
	require.NoError(t, err)
	for _, sign := range []Sign{SignResponse, SignBoth} {
		resp, err := idp.Response(ResponseSpec{Sign: sign, ResponseSignatureLast: true, InResponseTo: "_req"})
		require.NoError(t, err)
		doc := parse(t, resp.XML)
		tags := childTags(doc.Root())
		assert.Equal(t, []string{"saml2:Issuer", "saml2p:Status", "saml2:Assertion", "ds:Signature"}, tags, sign.String())
		assert.NoError(t, goxmldsigValidate(idp.Certificate, doc.Root(), 0), sign.String())
		if sign == SignBoth {
			assert.Equal(t, "ds:Signature", childTags(assertionOf(t, doc))[1])
			assert.NoError(t, goxmldsigValidate(idp.Certificate, assertionOf(t, doc), 0))
		}
	}
	// Without a Response signature the option changes nothing.
	resp, err := idp.Response(ResponseSpec{Sign: SignAssertion, ResponseSignatureLast: true, InResponseTo: "_req"})
	require.NoError(t, err)
	assert.Equal(t, []string{"saml2:Issuer", "saml2p:Status", "saml2:Assertion"}, childTags(parse(t, resp.XML).Root()))
}
