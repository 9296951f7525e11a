package saml_test

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/saml"
	"github.com/siteadmin/integrations/saml/samltest"
)

// logoutSpec is a valid LogoutRequest from the shared IdP to testSLOURL.
func logoutSpec(binding string) samltest.LogoutSpec {
	return samltest.LogoutSpec{
		Destination: testSLOURL, Binding: binding, Now: testNow,
		NameID: "alice@example.com", SessionIndex: "_session-1", RelayState: "idp-state",
	}
}

func TestParseLogoutRequestAccepted(t *testing.T) {
	t.Parallel()
	for _, binding := range []string{saml.BindingHTTPRedirect, saml.BindingHTTPPOST} {
		t.Run(binding, func(t *testing.T) {
			t.Parallel()
			h := signingSP(t, nil, nil)
			m, err := h.idp.LogoutRequest(logoutSpec(binding))
			require.NoError(t, err)
			req, err := h.sp.ParseLogoutRequest(context.Background(), m.Request())
			require.NoError(t, err)
			assert.Equal(t, m.ID, req.ID)
			assert.Equal(t, h.idp.EntityID, req.Issuer)
			assert.Equal(t, "alice@example.com", req.NameID.Value)
			assert.Equal(t, samltest.NameIDFormatEmail, req.NameID.Format)
			assert.Equal(t, []string{"_session-1"}, req.SessionIndexes)
			assert.Equal(t, "idp-state", req.RelayState)
			assert.Equal(t, binding, req.Binding)
			assert.Equal(t, testNow, req.IssueInstant)

			// The answer goes back in the same binding, with the RelayState.
			key, cert := rsaSigner(t)
			signer := signingSP(t, key, cert)
			resp, err := signer.sp.LogoutResponse(req, "")
			require.NoError(t, err)
			assert.Equal(t, binding, resp.Binding)
			got, err := h.idp.ReadRequest(deliver(t, resp), cert)
			require.NoError(t, err)
			assert.Equal(t, "LogoutResponse", got.Kind)
			assert.Equal(t, req.ID, got.InResponseTo)
			assert.Equal(t, saml.StatusSuccess, got.StatusCode)
			assert.Equal(t, "idp-state", got.RelayState)
			assert.True(t, got.Signed)

			// The same request again is a replay.
			_, err = h.sp.ParseLogoutRequest(context.Background(), m.Request())
			assert.ErrorIs(t, err, saml.ErrReplay)
		})
	}
}

func TestParseLogoutRequestRefused(t *testing.T) {
	t.Parallel()
	other, err := newTestIdP(samltest.WithEntityID(samltest.DefaultEntityID))
	require.NoError(t, err)
	cases := []struct {
		name string
		idp  *samltest.IdP // default: the shared IdP
		mod  func(*samltest.LogoutSpec)
		sp   func(*saml.Config)
		want *saml.Error
	}{
		{name: "unsigned redirect", mod: func(s *samltest.LogoutSpec) { s.Unsigned = true }, want: saml.ErrSignature},
		{name: "unsigned POST", mod: func(s *samltest.LogoutSpec) { s.Unsigned = true; s.Binding = saml.BindingHTTPPOST }, want: saml.ErrSignature},
		{name: "wrongly signed redirect", idp: other, want: saml.ErrSignature},
		{name: "wrongly signed POST", idp: other, mod: func(s *samltest.LogoutSpec) { s.Binding = saml.BindingHTTPPOST }, want: saml.ErrSignature},
		{name: "expired", mod: func(s *samltest.LogoutSpec) { s.Now = testNow.Add(-saml.MaxMessageAge - 3*time.Minute) }, want: saml.ErrExpired},
		{name: "NotOnOrAfter passed", mod: func(s *samltest.LogoutSpec) { s.NotOnOrAfter = testNow.Add(-2 * time.Minute) }, want: saml.ErrExpired},
		{name: "issued in the future", mod: func(s *samltest.LogoutSpec) { s.Now = testNow.Add(time.Hour) }, want: saml.ErrNotYetValid},
		{name: "other issuer", mod: func(s *samltest.LogoutSpec) { s.Issuer = "https://evil.example.com/idp" }, want: saml.ErrIssuer},
		{name: "no issuer", mod: func(s *samltest.LogoutSpec) { s.Issuer = samltest.Omit }, want: saml.ErrIssuer},
		{name: "other destination", mod: func(s *samltest.LogoutSpec) { s.Destination = "https://other.example.com/slo" }, want: saml.ErrDestination},
		{name: "no destination", mod: func(s *samltest.LogoutSpec) { s.Destination = samltest.Omit }, want: saml.ErrDestination},
		{name: "SP without SLO URL", sp: func(c *saml.Config) { c.SLOURL = "" }, want: saml.ErrDestination},
		{name: "SHA-1", mod: func(s *samltest.LogoutSpec) { s.SignatureMethod = samltest.RSASHA1 }, want: saml.ErrAlgorithm},
		{name: "SHA-1 POST", mod: func(s *samltest.LogoutSpec) {
			s.SignatureMethod = samltest.RSASHA1
			s.Binding = saml.BindingHTTPPOST
		}, want: saml.ErrAlgorithm},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := signingSP(t, nil, nil)
			if tc.sp != nil {
				h = signingSP(t, nil, nil, tc.sp)
			}
			idp := h.idp
			if tc.idp != nil {
				idp = tc.idp
			}
			spec := logoutSpec(saml.BindingHTTPRedirect)
			if tc.mod != nil {
				tc.mod(&spec)
			}
			m, err := idp.LogoutRequest(spec)
			require.NoError(t, err)
			_, err = h.sp.ParseLogoutRequest(context.Background(), m.Request())
			assert.ErrorIs(t, err, tc.want)
			if spec.Unsigned {
				assert.ErrorContains(t, err, "the IdP must sign them (in SimpleSAMLphp, set 'sign.logout' => true", "the admin learns what to change")
			}
		})
	}
	t.Run("SHA-1 allowed", func(t *testing.T) {
		h := signingSP(t, nil, nil, func(c *saml.Config) { c.AllowSHA1 = true })
		spec := logoutSpec(saml.BindingHTTPRedirect)
		spec.SignatureMethod = samltest.RSASHA1
		m, err := h.idp.LogoutRequest(spec)
		require.NoError(t, err)
		_, err = h.sp.ParseLogoutRequest(context.Background(), m.Request())
		assert.NoError(t, err)
	})
}

// redirectQuery builds an HTTP-Redirect query from raw XML, signed by the
// shared IdP when sign is set.
func redirectQuery(t testing.TB, idp *samltest.IdP, param string, xml []byte, sign bool) string {
	t.Helper()
	var buf bytes.Buffer
	fw, err := flate.NewWriter(&buf, flate.BestCompression)
	require.NoError(t, err)
	_, err = fw.Write(xml)
	require.NoError(t, err)
	require.NoError(t, fw.Close())
	q := param + "=" + url.QueryEscape(base64.StdEncoding.EncodeToString(buf.Bytes()))
	if sign {
		q += "&SigAlg=" + url.QueryEscape(samltest.RSASHA256)
		sig, err := idp.SignQuery(q, "")
		require.NoError(t, err)
		q += "&Signature=" + url.QueryEscape(sig)
	}
	return q
}

// Hostile encodings are refused before or at the signature, never with a
// panic, and never accepted.
func TestRedirectBindingHostile(t *testing.T) {
	t.Parallel()
	h := signingSP(t, nil, nil)
	good, err := h.idp.LogoutRequest(logoutSpec(saml.BindingHTTPRedirect))
	require.NoError(t, err)
	goodQuery := good.URL[strings.Index(good.URL, "?")+1:]
	bomb := bytes.Repeat([]byte("A"), 4<<20)
	doctype := []byte(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>`)
	cases := map[string]string{
		"empty":               "",
		"no message":          "RelayState=x",
		"both messages":       "SAMLRequest=eA&SAMLResponse=eA",
		"twice":               goodQuery + "&SAMLRequest=eA",
		"RelayState twice":    goodQuery + "&RelayState=a&RelayState=b",
		"not base64":          "SAMLRequest=%%%%",
		"bad escape":          "SAMLRequest=%zz",
		"not deflate":         "SAMLRequest=" + url.QueryEscape(base64.StdEncoding.EncodeToString([]byte("plain <xml/>"))),
		"deflate bomb":        redirectQuery(t, h.idp, "SAMLRequest", bomb, true),
		"DOCTYPE":             redirectQuery(t, h.idp, "SAMLRequest", doctype, true),
		"SigAlg only":         "SAMLRequest=eA&SigAlg=" + url.QueryEscape(samltest.RSASHA256),
		"unknown SigAlg":      strings.Replace(goodQuery, url.QueryEscape(samltest.RSASHA256), url.QueryEscape("http://www.w3.org/2000/09/xmldsig#hmac-sha1"), 1),
		"signature garbage":   goodQuery[:strings.Index(goodQuery, "&Signature=")] + "&Signature=AAAA",
		"RelayState added":    goodQuery + "&RelayState=added",
		"huge query":          "SAMLRequest=" + strings.Repeat("A", 70<<10),
		"a response":          redirectQuery(t, h.idp, "SAMLResponse", []byte(`<x/>`), true),
		"an assertion inside": redirectQuery(t, h.idp, "SAMLRequest", []byte(`<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"><saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"/></samlp:LogoutRequest>`), true),
		"wrong root":          redirectQuery(t, h.idp, "SAMLRequest", []byte(`<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>`), true),
	}
	for name, q := range cases {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, testSLOURL+"?"+q, nil)
			_, err := h.sp.ParseLogoutRequest(context.Background(), r)
			assert.Error(t, err)
		})
	}
	// Parameters in another order and other parameters do not matter.
	reordered := goodQuery[strings.Index(goodQuery, "&SigAlg="):][1:] + "&foo=bar&" + goodQuery[:strings.Index(goodQuery, "&SigAlg=")]
	_, err = h.sp.ParseLogoutRequest(context.Background(), httptest.NewRequest(http.MethodGet, testSLOURL+"?"+reordered, nil))
	assert.NoError(t, err)
}

func TestParseLogoutRequestPOSTHostile(t *testing.T) {
	t.Parallel()
	h := signingSP(t, nil, nil)
	m, err := h.idp.LogoutRequest(logoutSpec(saml.BindingHTTPPOST))
	require.NoError(t, err)
	signed := string(m.XML)
	post := func(xml string) *http.Request {
		form := url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString([]byte(xml))}}
		r := httptest.NewRequest(http.MethodPost, testSLOURL, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return r
	}
	cases := map[string]string{
		"edited NameID":      strings.Replace(signed, "alice@example.com", "bob@example.com", 1),
		"comment in NameID":  strings.Replace(signed, "alice@example.com", "alice@example.com<!---->.evil", 1),
		"second signature":   strings.Replace(signed, "</samlp:LogoutRequest>", signed[strings.Index(signed, "<ds:Signature"):strings.Index(signed, "</ds:Signature>")+15]+"</samlp:LogoutRequest>", 1),
		"DOCTYPE":            `<!DOCTYPE x>` + signed,
		"not XML":            "hello",
		"wrapped in another": `<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_evil">` + signed + `</samlp:LogoutRequest>`,
	}
	for name, xml := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := h.sp.ParseLogoutRequest(context.Background(), post(xml))
			assert.Error(t, err)
		})
	}
	r := httptest.NewRequest(http.MethodPut, testSLOURL, nil)
	_, err = h.sp.ParseLogoutRequest(context.Background(), r)
	assert.ErrorIs(t, err, saml.ErrMalformed)
	_, err = h.sp.ParseLogoutRequest(context.Background(), post(signed))
	assert.NoError(t, err)
}

func TestLogoutRequestToIdP(t *testing.T) {
	t.Parallel()
	key, cert := rsaSigner(t)
	h := signingSP(t, key, cert)
	nameID := saml.NameID{Value: "alice@example.com", Format: samltest.NameIDFormatEmail, SPNameQualifier: "sp"}
	m, err := h.sp.LogoutRequest(nameID, "_session-1", "rs")
	require.NoError(t, err)
	assert.Equal(t, saml.BindingHTTPRedirect, m.Binding)
	got, err := h.idp.ReadRequest(deliver(t, m), cert)
	require.NoError(t, err)
	assert.Equal(t, "LogoutRequest", got.Kind)
	assert.Equal(t, m.ID, got.ID)
	assert.Equal(t, samltest.DefaultSLOURL, got.Destination)
	assert.Equal(t, "alice@example.com", got.NameID)
	assert.Equal(t, samltest.NameIDFormatEmail, got.NameIDFormat)
	assert.Equal(t, []string{"_session-1"}, got.SessionIndexes)
	assert.Equal(t, "rs", got.RelayState)

	_, err = h.sp.LogoutRequest(saml.NameID{}, "", "")
	assert.Error(t, err)
	noSLO := newHarness(t, func(c *saml.Config) { c.IdP.SLOServices = nil })
	_, err = noSLO.sp.LogoutRequest(nameID, "", "")
	assert.ErrorContains(t, err, "no SingleLogoutService")
}

func TestParseLogoutResponse(t *testing.T) {
	t.Parallel()
	other, err := newTestIdP()
	require.NoError(t, err)
	const ours = "_our-logout-1"
	cases := []struct {
		name string
		idp  *samltest.IdP
		spec samltest.LogoutSpec
		want *saml.Error // nil: accepted
	}{
		{name: "redirect", spec: samltest.LogoutSpec{}},
		{name: "POST", spec: samltest.LogoutSpec{Binding: saml.BindingHTTPPOST}},
		{name: "not ours", spec: samltest.LogoutSpec{InResponseTo: "_someone-else"}, want: saml.ErrInResponseTo},
		{name: "no InResponseTo", spec: samltest.LogoutSpec{InResponseTo: samltest.Omit}, want: saml.ErrInResponseTo},
		{name: "failure status", spec: samltest.LogoutSpec{StatusCode: samltest.StatusResponder}, want: saml.ErrStatus},
		{name: "unsigned", spec: samltest.LogoutSpec{Unsigned: true}, want: saml.ErrSignature},
		{name: "unsigned POST", spec: samltest.LogoutSpec{Unsigned: true, Binding: saml.BindingHTTPPOST}, want: saml.ErrSignature},
		{name: "wrongly signed", idp: other, want: saml.ErrSignature},
		{name: "other issuer", spec: samltest.LogoutSpec{Issuer: "https://evil.example.com"}, want: saml.ErrIssuer},
		{name: "expired", spec: samltest.LogoutSpec{Now: testNow.Add(-time.Hour)}, want: saml.ErrExpired},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := signingSP(t, nil, nil)
			idp := h.idp
			if tc.idp != nil {
				idp = tc.idp
			}
			spec := tc.spec
			spec.Destination = testSLOURL
			if spec.Now.IsZero() {
				spec.Now = testNow
			}
			if spec.InResponseTo == "" {
				spec.InResponseTo = ours
			} else if spec.InResponseTo == samltest.Omit {
				spec.InResponseTo = ""
			}
			m, err := idp.LogoutResponse(spec)
			require.NoError(t, err)
			resp, err := h.sp.ParseLogoutResponse(context.Background(), m.Request(), "_other", ours)
			if tc.want != nil {
				assert.ErrorIs(t, err, tc.want)
				if spec.Unsigned {
					assert.ErrorContains(t, err, "the IdP must sign them (in SimpleSAMLphp, set 'sign.logout' => true")
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, ours, resp.InResponseTo)
			assert.Equal(t, m.ID, resp.ID)
		})
	}
}
