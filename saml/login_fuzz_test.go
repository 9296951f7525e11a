package saml_test

import (
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
)

// FuzzRedirectBinding feeds query strings to the HTTP-Redirect decoder,
// through ParseLogoutRequest and ParseLogoutResponse. Nothing panics, and
// an accepted LogoutRequest is the signed seed's.
func FuzzRedirectBinding(f *testing.F) {
	h := signingSP(f, nil, nil)
	good, err := h.idp.LogoutRequest(logoutSpec(saml.BindingHTTPRedirect))
	require.NoError(f, err)
	query := good.URL[strings.Index(good.URL, "?")+1:]
	f.Add(query)
	f.Add(query + "&RelayState=x")
	f.Add(strings.Replace(query, "SAMLRequest", "SAMLResponse", 1))
	f.Add("SAMLRequest=eA%3D%3D&SigAlg=x&Signature=AA")
	f.Add("SAMLRequest=" + url.QueryEscape(base64.StdEncoding.EncodeToString([]byte{0x78, 0x9c, 0xff})))
	f.Add("")
	f.Add("%")
	f.Fuzz(func(t *testing.T, q string) {
		sp := signingSP(t, nil, nil).sp // a fresh replay cache for each input
		r := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/saml/slo", RawQuery: q}}
		req, err := sp.ParseLogoutRequest(context.Background(), r)
		if err == nil {
			assert.Equal(t, "alice@example.com", req.NameID.Value)
			assert.Equal(t, good.ID, req.ID)
		}
		_, _ = sp.ParseLogoutResponse(context.Background(), r, "_x")
	})
}

// FuzzLogoutRequestPOST feeds XML to the HTTP-POST LogoutRequest parser.
// Nothing panics, and an accepted request is the signed seed's.
func FuzzLogoutRequestPOST(f *testing.F) {
	h := signingSP(f, nil, nil)
	good, err := h.idp.LogoutRequest(logoutSpec(saml.BindingHTTPPOST))
	require.NoError(f, err)
	f.Add(good.XML)
	f.Add([]byte(strings.Replace(string(good.XML), "alice", "mallory", 1)))
	f.Add([]byte(`<!DOCTYPE x><x/>`))
	f.Add([]byte(`<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="a" Version="2.0"/>`))
	f.Fuzz(func(t *testing.T, xml []byte) {
		sp := signingSP(t, nil, nil).sp
		form := url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString(xml)}}
		r := httptest.NewRequest(http.MethodPost, testSLOURL, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req, err := sp.ParseLogoutRequest(context.Background(), r)
		if err == nil {
			assert.Equal(t, "alice@example.com", req.NameID.Value)
			assert.Equal(t, []string{"_session-1"}, req.SessionIndexes)
		}
	})
}

// FuzzSafeRedirect checks that SafeRedirect returns the fallback or a
// target a browser resolves to this site or an allowed origin.
func FuzzSafeRedirect(f *testing.F) {
	for _, s := range []string{"/a", "//evil.com", "/\\evil.com", "https://app.example.com/x", "https://evil.com",
		"/\t/evil.com", "javascript:x", "https://app.example.com@evil.com", "http://app.example.com:443/"} {
		f.Add(s)
	}
	allowed := []string{"https://app.example.com"}
	base, _ := url.Parse("https://app.example.com/start/page")
	f.Fuzz(func(t *testing.T, target string) {
		got := saml.SafeRedirect(target, allowed, "/fallback")
		if got == "/fallback" {
			return
		}
		assert.Equal(t, target, got)
		u, err := url.Parse(got)
		require.NoError(t, err)
		resolved := base.ResolveReference(u)
		assert.Equal(t, "app.example.com", resolved.Host, "%q resolves to %q", got, resolved)
		assert.Equal(t, "https", resolved.Scheme)
		assert.Nil(t, resolved.User)
		assert.False(t, strings.ContainsAny(got, "\\\t\r\n "), "%q", got)
	})
}

// FuzzCookieTracker feeds cookie values to the tracker: nothing panics,
// and only a cookie it made yields a request.
func FuzzCookieTracker(f *testing.F) {
	tr := &saml.CookieTracker{Key: trackerKey, Clock: func() time.Time { return testNow }}
	rec := httptest.NewRecorder()
	require.NoError(f, tr.Track(context.Background(), rec, httptest.NewRequest(http.MethodGet, "/", nil), saml.TrackedRequest{ID: "_real", ReturnTo: "/x"}))
	real := rec.Result().Cookies()[0]
	f.Add(real.Name, real.Value)
	f.Add(real.Name, real.Value+"x")
	f.Add(real.Name, "e30.AAAA")
	f.Add(saml.DefaultCookiePrefix+"x", "")
	f.Fuzz(func(t *testing.T, name, value string) {
		r := httptest.NewRequest(http.MethodPost, "/saml/acs", nil)
		r.Header.Set("Cookie", name+"="+value)
		got, err := tr.Outstanding(context.Background(), r)
		require.NoError(t, err)
		for _, req := range got {
			assert.Equal(t, "_real", req.ID)
			assert.Equal(t, "/x", req.ReturnTo)
		}
	})
}
