package saml_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

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
