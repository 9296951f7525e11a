package saml_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/saml"
	"github.com/siteadmin/integrations/saml/samltest"
)

// Each test here builds one attack of ../shared/SAML-ATTACKS.md from a
// freshly signed response and shows it refused. The numbers in the names
// are the catalogue's.

const evilNameID = "mallory@example.com"

func signedResponse(s *samltest.ResponseSpec)  { s.Sign = samltest.SignResponse }
func signedAssertion(s *samltest.ResponseSpec) { s.Sign = samltest.SignAssertion }
func signedBoth(s *samltest.ResponseSpec)      { s.Sign = samltest.SignBoth }

// removeSignatures drops every ds:Signature element from s.
func removeSignatures(t testing.TB, s string) string {
	t.Helper()
	for strings.Contains(s, "<ds:Signature") {
		i, j := span(t, s, "<ds:Signature", "</ds:Signature>", 0)
		s = s[:i] + s[j:]
	}
	return s
}

var signModes = map[string]func(*samltest.ResponseSpec){
	"response": signedResponse, "assertion": signedAssertion, "both": signedBoth,
}

func evil(s string) string { return strings.Replace(s, samltest.DefaultNameID, evilNameID, 1) }

// xswCases builds XSW1-8 (attack 1-8) the way SAMLRaider does.
func xswCases(t *testing.T, h *harness) map[string]string {
	resp := h.xml(t, signedResponse)
	respID := attrValue(t, resp, "ID")
	rStart, _ := span(t, resp, "<saml2p:Response", "</saml2p:Response>", 0)
	unsignedClone := removeSignatures(t, resp[rStart:])
	evilOuter := evil(strings.Replace(resp, `ID="`+respID+`"`, `ID="_evil_response_ID"`, 1))
	eSigStart, eSigEnd := span(t, evilOuter, "<ds:Signature", "</ds:Signature>", 0)

	asr := h.xml(t, signedAssertion)
	aStart, aEnd := span(t, asr, "<saml2:Assertion", "</saml2:Assertion>", 0)
	signedA := asr[aStart:aEnd]
	aID := attrValue(t, signedA, "ID")
	evilClone := evil(strings.Replace(removeSignatures(t, signedA), aID, "_evil_assertion_ID", 1))
	evilInPlace := evil(strings.Replace(signedA, `ID="`+aID+`"`, `ID="_evil_assertion_ID"`, 1))
	plainCopy := removeSignatures(t, signedA)
	evilSameID := evil(removeSignatures(t, signedA))
	inPlaceSameID := evil(signedA)
	aSigStart, aSigEnd := span(t, signedA, "<ds:Signature", "</ds:Signature>", 0)

	return map[string]string{
		"01_xsw1_clone_in_signature":     evilOuter[:eSigEnd-len("</ds:Signature>")] + unsignedClone + evilOuter[eSigEnd-len("</ds:Signature>"):],
		"02_xsw2_clone_before_signature": evilOuter[:eSigStart] + unsignedClone + evilOuter[eSigStart:],
		"03_xsw3_evil_assertion_first":   asr[:aStart] + evilClone + asr[aStart:],
		"04_xsw4_signed_inside_evil": asr[:aStart] +
			strings.Replace(evilClone, "</saml2:Assertion>", signedA+"</saml2:Assertion>", 1) + asr[aEnd:],
		"05_xsw5_edited_in_place_copy_appended": asr[:aStart] + evilInPlace + plainCopy + asr[aEnd:],
		"06_xsw6_copy_inside_signature": asr[:aStart] +
			evilInPlace[:aSigEnd-len("</ds:Signature>")+len("_evil_assertion_ID")-len(aID)] + plainCopy +
			evilInPlace[aSigEnd-len("</ds:Signature>")+len("_evil_assertion_ID")-len(aID):] + asr[aEnd:],
		"07_xsw7_extensions_same_id": asr[:aStart] + "<Extensions>" + evilSameID + "</Extensions>" + signedA + asr[aEnd:],
		"08_xsw8_object_same_id": asr[:aStart] +
			inPlaceSameID[:aSigEnd-len("</ds:Signature>")] + "<Object>" + plainCopy + "</Object>" +
			inPlaceSameID[aSigEnd-len("</ds:Signature>"):] + asr[aEnd:],
		"09_signature_after_assertion_inside_status": func() string {
			s := h.xml(t, signedResponse)
			i, j := span(t, s, "<ds:Signature", "</ds:Signature>", 0)
			sig := s[i:j]
			s = s[:i] + s[j:]
			return strings.Replace(s, "</saml2p:Status>", sig+"</saml2p:Status>", 1)
		}(),
		"09_unsigned_assertion_wrapping_signed": asr[:aStart] +
			strings.Replace(evilClone, "</saml2:Assertion>", "<saml2:Advice>"+signedA+"</saml2:Advice></saml2:Assertion>", 1) + asr[aEnd:],
		"09_signed_response_in_status_detail": func() string {
			inner := resp[rStart:]
			outer := evil(removeSignatures(t, resp))
			return strings.Replace(outer, "</saml2p:Status>", "<saml2p:StatusDetail>"+inner+"</saml2p:StatusDetail></saml2p:Status>", 1)
		}(),
		"16_multiple_assertions_unsigned_copy": asr[:aEnd] + strings.Replace(evilClone, "_evil_assertion_ID", aID+"_attack", 1) + asr[aEnd:],
		"17_two_signatures_on_assertion":       asr[:aStart] + signedA[:aSigEnd] + signedA[aSigStart:aSigEnd] + signedA[aSigEnd:] + asr[aEnd:],
		"19_duplicate_id_on_status":            strings.Replace(asr, "<saml2p:Status>", `<saml2p:Status ID="`+aID+`">`, 1),
	}
}

func TestWrappingAttacksRejected(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for name, xml := range xswCases(t, h) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a, err := h.verify(t, xml)
			require.Error(t, err, "accepted NameID %v", a)
			assert.Contains(t, []saml.Code{saml.CodeStructure, saml.CodeSignature}, codeOf(err), "%v", err)
		})
	}
}

func TestXSWBaseResponsesAccepted(t *testing.T) {
	t.Parallel()
	// The responses the wrapping attacks start from are valid: the attacks
	// are refused for what was done to them, not for their base.
	h := newHarness(t)
	for name, mod := range signModes {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a, err := h.verify(t, h.xml(t, mod))
			require.NoError(t, err)
			assert.Equal(t, samltest.DefaultNameID, a.NameID.Value)
		})
	}
}

// Attack 10: a comment or CDATA injected into signed text never shortens it.
func TestCommentAndCDATAInjection(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const full = "alice@example.com.evil.com"
	for _, tc := range []struct{ name, injected string }{
		{"comment", "alice@example.com<!---->.evil.com"},
		{"comment_with_text", "alice@example.com<!-- x -->.evil.com"},
		{"cdata", "alice@example.com<![CDATA[.evil.com]]>"},
		{"leading_comment", "<!---->alice@example.com.evil.com"},
	} {
		for signName, sign := range signModes {
			t.Run(tc.name+"/"+signName, func(t *testing.T) {
				t.Parallel()
				xml := h.xml(t, func(s *samltest.ResponseSpec) {
					sign(s)
					s.NameID = full
					s.Attributes = []samltest.Attribute{{Name: "mail", Values: []string{full}}}
				})
				require.Equal(t, 2, strings.Count(xml, ">"+full+"<"))
				xml = strings.ReplaceAll(xml, ">"+full+"<", ">"+tc.injected+"<")
				// Refusing would be safe too; this verifier accepts,
				// because it reads the canonical bytes the digest covered.
				a, err := h.verify(t, xml)
				require.NoError(t, err)
				assert.Equal(t, full, a.NameID.Value)
				assert.Equal(t, []string{full}, a.Attributes["mail"])
			})
		}
	}
}

// Attacks 11, 12, 21 and 28: refused before any signature work.
func TestHostileXMLRejected(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	valid := h.xml(t, nil)
	body := strings.TrimPrefix(valid, `<?xml version="1.0" encoding="UTF-8"?>`)
	deep := strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100)
	for _, tc := range []struct{ name, xml string }{
		{"doctype", `<!DOCTYPE r [<!ENTITY x "y">]>` + body},
		{"doctype_comment_differential", `<?xml version="1.0"?><!DOCTYPE response SYSTEM 'x"><!--'>` + body},
		{"external_entity", `<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>` + strings.Replace(body, samltest.DefaultNameID, "&xxe;", 1)},
		{"billion_laughs", `<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>` + strings.Replace(body, samltest.DefaultNameID, "&lol2;", 1)},
		{"undeclared_entity", strings.Replace(body, samltest.DefaultNameID, "&xxe;", 1)},
		{"processing_instruction", strings.Replace(body, "<saml2p:Status>", "<?evil x?><saml2p:Status>", 1)},
		{"double_colon_element", `<x::Root/>`},
		{"colon_attribute", strings.Replace(body, "<saml2p:Status>", `<saml2p:Status ::attr="x">`, 1)},
		{"empty_prefix_attribute", strings.Replace(body, "<saml2p:Status>", `<saml2p:Status :="v">`, 1)},
		{"duplicate_attribute", strings.Replace(body, `Version="2.0"`, `Version="2.0" Version="2.0"`, 1)},
		{"too_deep", strings.Replace(body, "<saml2p:Status>", deep+"<saml2p:Status>", 1)},
		{"not_utf8", strings.Replace(body, samltest.DefaultNameID, "al\xffce", 1)},
		{"two_roots", body + body},
		{"unclosed", body[:len(body)-5]},
		{"text_outside_root", body + "junk"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := h.verify(t, tc.xml)
			require.Error(t, err)
			assert.Contains(t, []saml.Code{saml.CodeMalformed, saml.CodeStructure}, codeOf(err), "%v", err)
		})
	}
}

func TestEncodingRejected(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *saml.Config) { c.MaxResponseSize = 64 << 10 })
	valid := base64.StdEncoding.EncodeToString([]byte(h.xml(t, nil)))
	for _, tc := range []struct{ name, form string }{
		{"empty", ""},
		{"spaces", "   \r\n"},
		{"not_base64", "%%%not base64%%%"},
		{"truncated_base64", valid[:len(valid)-3]},
		{"base64_of_junk", base64.StdEncoding.EncodeToString([]byte("\x78\x9c\x01\x02 not xml"))},
		{"oversized", base64.StdEncoding.EncodeToString([]byte("<r>" + strings.Repeat("x", 70<<10) + "</r>"))},
		{"oversized_raw", "<r>" + strings.Repeat("x", 70<<10) + "</r>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := h.sp.Verify(t.Context(), tc.form, testRequest)
			require.Error(t, err)
			assert.Equal(t, saml.CodeMalformed, codeOf(err), "%v", err)
		})
	}
}

func TestEncodingVariantsAccepted(t *testing.T) {
	t.Parallel()
	xml := newHarness(t).xml(t, nil)
	b64 := base64.StdEncoding.EncodeToString([]byte(xml))
	var wrapped strings.Builder
	for i := 0; i < len(b64); i += 76 {
		wrapped.WriteString(b64[i:min(i+76, len(b64))] + "\r\n")
	}
	for name, form := range map[string]string{
		"base64":           b64,
		"crlf_wrapped":     wrapped.String(),
		"spaces_and_tabs":  strings.ReplaceAll(wrapped.String(), "\r\n", " \t"),
		"raw_xml":          xml,
		"raw_xml_with_bom": "\ufeff" + xml,
		"base64_with_bom":  base64.StdEncoding.EncodeToString([]byte("\ufeff" + xml)),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t) // a fresh replay cache each
			a, err := h.sp.Verify(t.Context(), form, testRequest)
			require.NoError(t, err)
			assert.Equal(t, samltest.DefaultNameID, a.NameID.Value)
		})
	}
}

// Attack 13: signature exclusion.
func TestSignatureExclusion(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for name, xml := range map[string]string{
		"all_removed":                removeSignatures(t, h.xml(t, signedBoth)),
		"unsigned":                   h.xml(t, func(s *samltest.ResponseSpec) { s.Sign = samltest.SignNone }),
		"response_signature_removed": removeSignatures(t, h.xml(t, signedResponse)),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := h.verify(t, xml)
			assert.ErrorIs(t, err, saml.ErrSignature)
		})
	}
}

// Attack 14: a response signed by another key, whatever KeyInfo claims.
func TestCertificateFaking(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	attacker, err := newTestIdP(samltest.WithEntityID(h.idp.EntityID))
	require.NoError(t, err)
	ah := &harness{idp: attacker, sp: h.sp}
	for _, sign := range []func(*samltest.ResponseSpec){signedResponse, signedAssertion, signedBoth} {
		forged := ah.xml(t, sign)
		_, err := h.verify(t, forged)
		assert.ErrorIs(t, err, saml.ErrSignature, "attacker certificate in KeyInfo")

		// The genuine certificate in KeyInfo does not help either.
		genuine := base64.StdEncoding.EncodeToString(h.idp.Certificate.Raw)
		fake := base64.StdEncoding.EncodeToString(attacker.Certificate.Raw)
		_, err = h.verify(t, strings.ReplaceAll(forged, fake, genuine))
		assert.ErrorIs(t, err, saml.ErrSignature, "genuine certificate in KeyInfo")
	}
}

// Attack 15: algorithm downgrade and confusion.
func TestAlgorithmPolicy(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const sha256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	for _, tc := range []struct {
		name string
		xml  string
		want saml.Code
	}{
		{"rsa_sha1", h.xml(t, func(s *samltest.ResponseSpec) { s.SignatureMethod = samltest.RSASHA1 }), saml.CodeAlgorithm},
		{"digest_sha1", h.xml(t, func(s *samltest.ResponseSpec) { s.DigestMethod = samltest.DigestSHA1 }), saml.CodeAlgorithm},
		{"hmac", strings.Replace(h.xml(t, nil), sha256, "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256", 1), saml.CodeAlgorithm},
		{"hmac_output_length", strings.Replace(h.xml(t, nil), `rsa-sha256"/>`, `rsa-sha256"><ds:HMACOutputLength>8</ds:HMACOutputLength></ds:SignatureMethod>`, 1), saml.CodeAlgorithm},
		{"c14n_with_comments", strings.Replace(h.xml(t, nil), `<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"`,
			`<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#WithComments"`, 1), saml.CodeAlgorithm},
		{"transform_with_comments", strings.Replace(h.xml(t, nil), `<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"`,
			`<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#WithComments"`, 1), saml.CodeAlgorithm},
		{"xslt_transform", strings.Replace(h.xml(t, nil), `<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>`,
			`<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116"><xsl:stylesheet xmlns:xsl="http://www.w3.org/1999/XSL/Transform"/></ds:Transform>`, 1), saml.CodeAlgorithm},
		{"three_transforms", strings.Replace(h.xml(t, nil), `<ds:Transforms>`,
			`<ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#base64"/>`, 1), saml.CodeAlgorithm},
		{"enveloped_only", strings.Replace(removeInclusive(h.xml(t, nil)), `<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>`, "", 1), saml.CodeAlgorithm},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := h.verify(t, tc.xml)
			require.Error(t, err)
			assert.Equal(t, tc.want, codeOf(err), "%v", err)
		})
	}
}

func removeInclusive(s string) string {
	i := strings.Index(s, `<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#">`)
	if i < 0 {
		return s
	}
	j := strings.Index(s[i:], "</ds:Transform>") + i + len("</ds:Transform>")
	return s[:i] + `<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>` + s[j:]
}

func TestSHA1OptIn(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *saml.Config) { c.AllowSHA1 = true })
	a, err := h.verify(t, h.xml(t, func(s *samltest.ResponseSpec) {
		s.SignatureMethod, s.DigestMethod = samltest.RSASHA1, samltest.DigestSHA1
	}))
	require.NoError(t, err)
	assert.Equal(t, samltest.DefaultNameID, a.NameID.Value)
}

// Attacks 17 and 18: extra SignedInfo parts, and references that point
// elsewhere.
func TestReferencePolicy(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	base := h.xml(t, nil)
	aID := attrValue(t, base[strings.Index(base, "<saml2:Assertion"):], "ID")
	rID := attrValue(t, base, "ID")
	ri, rj := span(t, base, "<ds:Reference", "</ds:Reference>", 0)
	ref := base[ri:rj]
	for _, tc := range []struct {
		name string
		xml  string
		want saml.Code
	}{
		{"two_references", base[:rj] + strings.Replace(ref, aID, rID, 1) + base[rj:], saml.CodeStructure},
		{"empty_uri", strings.Replace(base, `URI="#`+aID+`"`, `URI=""`, 1), saml.CodeSignature},
		{"uri_to_response", strings.Replace(base, `URI="#`+aID+`"`, `URI="#`+rID+`"`, 1), saml.CodeSignature},
		{"xpath_uri", strings.Replace(base, `URI="#`+aID+`"`, `URI="#xpointer(id('`+aID+`'))"`, 1), saml.CodeSignature},
		{"two_signed_infos", strings.Replace(base, "<ds:SignatureValue>", base[strings.Index(base, "<ds:SignedInfo>"):strings.Index(base, "</ds:SignedInfo>")+len("</ds:SignedInfo>")]+"<ds:SignatureValue>", 1), saml.CodeStructure},
		{"object_in_signature", strings.Replace(base, "</ds:KeyInfo>", "</ds:KeyInfo><ds:Object/>", 1), saml.CodeStructure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := h.verify(t, tc.xml)
			require.Error(t, err)
			assert.Equal(t, tc.want, codeOf(err), "%v", err)
		})
	}
}

// Attack 22: replay.
func TestReplayRejected(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	xml := h.xml(t, nil)
	_, err := h.verify(t, xml)
	require.NoError(t, err)
	_, err = h.verify(t, xml)
	assert.ErrorIs(t, err, saml.ErrReplay)
}

// Attacks 23-26: each binding value changed in a freshly signed response.
func TestBindingMismatches(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, tc := range []struct {
		name string
		mod  func(*samltest.ResponseSpec)
		want *saml.Error
		ids  []string
	}{
		{"audience", func(s *samltest.ResponseSpec) { s.Audience = "https://other.example.com" }, saml.ErrAudience, nil},
		{"no_audience", func(s *samltest.ResponseSpec) { s.Audience = samltest.Omit }, saml.ErrAudience, nil},
		{"recipient", func(s *samltest.ResponseSpec) { s.Recipient = "https://other.example.com/acs" }, saml.ErrRecipient, nil},
		{"no_recipient", func(s *samltest.ResponseSpec) { s.Recipient = samltest.Omit }, saml.ErrRecipient, nil},
		{"destination", func(s *samltest.ResponseSpec) { s.Destination = "https://other.example.com/acs" }, saml.ErrDestination, nil},
		{"destination_signed_response", func(s *samltest.ResponseSpec) { s.Sign = samltest.SignResponse; s.Destination = "https://x/acs" }, saml.ErrDestination, nil},
		{"no_destination_signed_response", func(s *samltest.ResponseSpec) { s.Sign = samltest.SignResponse; s.Destination = samltest.Omit }, saml.ErrDestination, nil},
		{"in_response_to_other", func(s *samltest.ResponseSpec) { s.InResponseTo = "_other" }, saml.ErrInResponseTo, nil},
		{"in_response_to_no_request", nil, saml.ErrInResponseTo, []string{}},
		{"unsolicited_not_allowed", func(s *samltest.ResponseSpec) { s.InResponseTo = "" }, saml.ErrInResponseTo, nil},
		{"subject_in_response_to_differs", func(s *samltest.ResponseSpec) { s.SubjectInResponseTo = "_other" }, saml.ErrInResponseTo, nil},
		{"issuer", func(s *samltest.ResponseSpec) { s.Issuer = "https://evil.example.com" }, saml.ErrIssuer, nil},
		{"assertion_issuer", func(s *samltest.ResponseSpec) { s.AssertionIssuer = "https://evil.example.com" }, saml.ErrIssuer, nil},
		{"no_issuer", func(s *samltest.ResponseSpec) { s.Issuer = samltest.Omit }, saml.ErrIssuer, nil},
		{"no_assertion_issuer", func(s *samltest.ResponseSpec) { s.AssertionIssuer = samltest.Omit }, saml.ErrIssuer, nil},
		{"status_responder", func(s *samltest.ResponseSpec) {
			s.StatusCode, s.StatusMessage = samltest.StatusResponder, "user locked"
		}, saml.ErrStatus, nil},
		{"not_bearer", func(s *samltest.ResponseSpec) {
			s.SubjectConfirmationMethod = "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key"
		}, saml.ErrSubjectConfirmation, nil},
		{"no_subject_confirmation", func(s *samltest.ResponseSpec) { s.SubjectConfirmationMethod = samltest.Omit }, saml.ErrSubjectConfirmation, nil},
		{"no_subject_not_on_or_after", func(s *samltest.ResponseSpec) { s.SubjectNotOnOrAfter = samltest.OmitTime() }, saml.ErrSubjectConfirmation, nil},
		{"no_name_id", func(s *samltest.ResponseSpec) { s.NameID = samltest.Omit }, saml.ErrStructure, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ids := tc.ids
			if ids == nil {
				ids = []string{testRequest}
			}
			_, err := h.sp.Verify(t.Context(), base64.StdEncoding.EncodeToString([]byte(h.xml(t, tc.mod))), ids...)
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.want)
		})
	}
}

func TestStatusCodeShape(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	success := `<saml2p:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/>`
	for name, repl := range map[string]string{
		"second":         success + success,
		"nested":         `<saml2p:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"><saml2p:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"/></saml2p:StatusCode>`,
		"none":           "",
		"second_failure": success + `<saml2p:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Requester"/>`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			xml := h.xml(t, signedAssertion)
			require.Contains(t, xml, success)
			_, err := h.verify(t, strings.Replace(xml, success, repl, 1))
			assert.ErrorIs(t, err, saml.ErrStatus)
		})
	}
	// A failure reports the IdP's codes and message.
	_, err := h.verify(t, h.xml(t, func(s *samltest.ResponseSpec) {
		s.StatusCode, s.StatusMessage = samltest.StatusRequester, "no such user"
	}))
	require.ErrorIs(t, err, saml.ErrStatus)
	assert.Contains(t, err.Error(), samltest.StatusRequester)
	assert.Contains(t, err.Error(), "no such user")
}

// Attack 24: time windows at their boundaries, with the skew.
func TestTimeWindows(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	skew := saml.DefaultClockSkew
	for _, tc := range []struct {
		name string
		mod  func(*samltest.ResponseSpec)
		want *saml.Error // nil: accepted
	}{
		{"conditions_not_on_or_after_just_inside", func(s *samltest.ResponseSpec) {
			s.Now = testNow.Add(-10 * 60e9)
			s.NotOnOrAfter, s.SubjectNotOnOrAfter = testNow.Add(-skew+1e9), testNow.Add(5*60e9)
		}, nil},
		{"conditions_not_on_or_after_at_boundary", func(s *samltest.ResponseSpec) {
			s.Now = testNow.Add(-10 * 60e9)
			s.NotOnOrAfter, s.SubjectNotOnOrAfter = testNow.Add(-skew), testNow.Add(5*60e9)
		}, saml.ErrExpired},
		{"subject_not_on_or_after_expired", func(s *samltest.ResponseSpec) {
			s.Now = testNow.Add(-10 * 60e9)
			s.NotOnOrAfter, s.SubjectNotOnOrAfter = testNow.Add(5*60e9), testNow.Add(-skew)
		}, saml.ErrExpired},
		{"not_before_within_skew", func(s *samltest.ResponseSpec) { s.NotBefore = testNow.Add(skew) }, nil},
		{"not_before_beyond_skew", func(s *samltest.ResponseSpec) { s.NotBefore = testNow.Add(skew + 1e9) }, saml.ErrNotYetValid},
		{"issued_in_the_future", func(s *samltest.ResponseSpec) { s.Now = testNow.Add(skew + 1e9) }, saml.ErrNotYetValid},
		{"issued_just_within_skew", func(s *samltest.ResponseSpec) { s.Now = testNow.Add(skew) }, nil},
		{"session_over", func(s *samltest.ResponseSpec) { s.SessionNotOnOrAfter = testNow.Add(-skew) }, saml.ErrExpired},
		{"conditions_without_times", func(s *samltest.ResponseSpec) {
			s.NotBefore, s.NotOnOrAfter, s.SubjectNotOnOrAfter = samltest.OmitTime(), samltest.OmitTime(), testNow.Add(5*60e9)
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := h.verify(t, h.xml(t, tc.mod))
			if tc.want == nil {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, tc.want)
			}
		})
	}
}

func TestEncryptedAssertionNotYetSupported(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	xml := h.xml(t, signedResponse)
	i, j := span(t, xml, "<saml2:Assertion", "</saml2:Assertion>", 0)
	enc := `<saml2:EncryptedAssertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion"><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"/></saml2:EncryptedAssertion>`
	_, err := h.verify(t, xml[:i]+enc+xml[j:])
	require.ErrorIs(t, err, saml.ErrDecryption)
	assert.Contains(t, err.Error(), "encrypted")
}

func TestECDSASignatures(t *testing.T) {
	t.Parallel()
	for _, curve := range []elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521()} {
		t.Run(curve.Params().Name, func(t *testing.T) {
			t.Parallel()
			key, err := ecdsa.GenerateKey(curve, rand.Reader)
			require.NoError(t, err)
			idp, err := newTestIdP(samltest.WithKey(key))
			require.NoError(t, err)
			h := newHarnessFor(t, idp)
			for _, method := range []string{samltest.ECDSASHA256, samltest.ECDSASHA384, samltest.ECDSASHA512} {
				xml := h.xml(t, func(s *samltest.ResponseSpec) { s.Sign = samltest.SignBoth; s.SignatureMethod = method })
				a, err := h.verify(t, xml)
				require.NoError(t, err, method)
				assert.Equal(t, samltest.DefaultNameID, a.NameID.Value)
				_, err = h.verify(t, evil(xml))
				assert.ErrorIs(t, err, saml.ErrSignature)
			}
		})
	}
}

// An unsigned Response cannot lend its InResponseTo to a signed but
// unsolicited assertion (IdP-initiated login stays off).
func TestInResponseToOfUnsignedResponseIgnored(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	unsolicited := h.xml(t, func(s *samltest.ResponseSpec) { s.InResponseTo = "" })
	_, err := h.verify(t, unsolicited)
	require.ErrorIs(t, err, saml.ErrInResponseTo)
	injected := strings.Replace(unsolicited, "<saml2p:Response ", `<saml2p:Response InResponseTo="`+testRequest+`" `, 1)
	_, err = h.verify(t, injected)
	assert.ErrorIs(t, err, saml.ErrInResponseTo)
}

// Attack 28: a flood of attributes or namespace declarations is refused
// before the per-element work that grows with their square.
func TestAttributeFloodRejected(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	var decls strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&decls, ` xmlns:p%d="u"`, i)
	}
	xml := strings.Replace(h.xml(t, nil), "<saml2p:Response ", "<saml2p:Response"+decls.String()+" ", 1)
	_, err := h.verify(t, xml)
	assert.ErrorIs(t, err, saml.ErrMalformed)
}

func TestSignatureMustFollowAssertionIssuer(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	xml := h.xml(t, signedAssertion)
	i, j := span(t, xml, "<ds:Signature", "</ds:Signature>", 0)
	sig := xml[i:j]
	moved := strings.Replace(xml[:i]+xml[j:], "</saml2:Assertion>", sig+"</saml2:Assertion>", 1)
	_, err := h.verify(t, moved)
	assert.ErrorIs(t, err, saml.ErrStructure)
}
