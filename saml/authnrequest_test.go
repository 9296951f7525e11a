package saml_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"html"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/saml"
	"github.com/siteadmin/integrations/saml/samltest"
)

const testSLOURL = "https://sp.example.com/saml/slo"

// sharedSPECKey is an ECDSA P-256 signing key pair for the SP.
var sharedSPECKey = sync.OnceValues(func() (ecPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return ecPair{}, err
	}
	cert, err := samltest.NewCertificate(key, "sp.example.com", testNow.AddDate(-1, 0, 0), testNow.AddDate(5, 0, 0))
	return ecPair{key, cert}, err
})

type ecPair struct {
	key  *ecdsa.PrivateKey
	cert *x509.Certificate
}

// signingSP returns a harness whose SP has an SLO URL and, when signer is
// not nil, signs with it.
func signingSP(t testing.TB, signer crypto.Signer, cert *x509.Certificate, mods ...func(*saml.Config)) *harness {
	t.Helper()
	return newHarness(t, append([]func(*saml.Config){func(c *saml.Config) {
		c.SLOURL = testSLOURL
		if signer != nil {
			c.SigningKey, c.SigningCertificate = signer, cert
		}
	}}, mods...)...)
}

// rsaSigner returns the shared RSA SP key pair.
func rsaSigner(t testing.TB) (crypto.Signer, *x509.Certificate) {
	t.Helper()
	kp, err := sharedSPKey()
	require.NoError(t, err)
	return kp.key, kp.cert
}

func ecSigner(t testing.TB) (crypto.Signer, *x509.Certificate) {
	t.Helper()
	kp, err := sharedSPECKey()
	require.NoError(t, err)
	return kp.key, kp.cert
}

// deliver turns a Message into the request the IdP receives.
func deliver(t testing.TB, m *saml.Message) *http.Request {
	t.Helper()
	if m.Binding == saml.BindingHTTPRedirect {
		return httptest.NewRequest(http.MethodGet, m.URL, nil)
	}
	r := httptest.NewRequest(http.MethodPost, m.Destination, strings.NewReader(m.Form().Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

var xmlID = regexp.MustCompile(`^_[0-9a-f]{40}$`)

func TestAuthnRequestRoundTrip(t *testing.T) {
	t.Parallel()
	rsaKey, rsaCert := rsaSigner(t)
	ecKey, ecCert := ecSigner(t)
	cases := []struct {
		name    string
		signer  crypto.Signer
		cert    *x509.Certificate
		binding string
		method  string
	}{
		{"redirect unsigned", nil, nil, saml.BindingHTTPRedirect, ""},
		{"redirect RSA", rsaKey, rsaCert, saml.BindingHTTPRedirect, samltest.RSASHA256},
		{"redirect RSA-SHA512", rsaKey, rsaCert, saml.BindingHTTPRedirect, samltest.RSASHA512},
		{"redirect RSA-SHA1 on request", rsaKey, rsaCert, saml.BindingHTTPRedirect, samltest.RSASHA1},
		{"redirect ECDSA", ecKey, ecCert, saml.BindingHTTPRedirect, samltest.ECDSASHA256},
		{"POST unsigned", nil, nil, saml.BindingHTTPPOST, ""},
		{"POST RSA", rsaKey, rsaCert, saml.BindingHTTPPOST, samltest.RSASHA256},
		{"POST ECDSA", ecKey, ecCert, saml.BindingHTTPPOST, samltest.ECDSASHA256},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := signingSP(t, tc.signer, tc.cert, func(c *saml.Config) {
				if tc.signer != nil {
					c.SignatureMethod = tc.method
				}
			})
			m, err := h.sp.AuthnRequest(saml.AuthnRequestOptions{
				Binding:      tc.binding,
				RelayState:   "/orgs/acme?tab=teams",
				ForceAuthn:   true,
				NameIDPolicy: &saml.NameIDPolicy{Format: samltest.NameIDFormatEmail, AllowCreate: true},
				RequestedAuthnContext: &saml.RequestedAuthnContext{
					Comparison: "minimum", ClassRefs: []string{samltest.AuthnPasswordProtectedTransport},
				},
			})
			require.NoError(t, err)
			assert.Regexp(t, xmlID, m.ID)
			var certs []*x509.Certificate
			if tc.cert != nil {
				certs = append(certs, tc.cert)
			}
			req, err := h.idp.ReadRequest(deliver(t, m), certs...)
			require.NoError(t, err)
			assert.Equal(t, "AuthnRequest", req.Kind)
			assert.Equal(t, tc.binding, req.Binding)
			assert.Equal(t, m.ID, req.ID)
			assert.Equal(t, "2.0", req.Version)
			assert.Equal(t, samltest.DefaultSSOURL, req.Destination)
			assert.Equal(t, samltest.DefaultAudience, req.Issuer)
			assert.Equal(t, samltest.DefaultACSURL, req.ACSURL)
			assert.Equal(t, saml.BindingHTTPPOST, req.ProtocolBinding)
			assert.Equal(t, testNow, req.IssueInstant)
			assert.True(t, req.ForceAuthn)
			assert.False(t, req.IsPassive)
			assert.True(t, req.HasNameIDPolicy)
			assert.Equal(t, samltest.NameIDFormatEmail, req.NameIDPolicyFormat)
			assert.True(t, req.AllowCreate)
			assert.Equal(t, "minimum", req.AuthnContextComparison)
			assert.Equal(t, []string{samltest.AuthnPasswordProtectedTransport}, req.AuthnContextClassRefs)
			assert.Equal(t, "/orgs/acme?tab=teams", req.RelayState)
			assert.Equal(t, tc.signer != nil, req.Signed)
			if tc.signer != nil {
				assert.Equal(t, tc.method, req.SigAlg)
			}
		})
	}
}

// A signed redirect whose query is changed in any signed part no longer
// verifies at the IdP.
func TestAuthnRequestRedirectTampered(t *testing.T) {
	t.Parallel()
	key, cert := rsaSigner(t)
	h := signingSP(t, key, cert)
	m, err := h.sp.AuthnRequest(saml.AuthnRequestOptions{RelayState: "/a"})
	require.NoError(t, err)
	for name, edit := range map[string]func(string) string{
		"RelayState": func(u string) string { return strings.Replace(u, "RelayState=%2Fa", "RelayState=%2Fb", 1) },
		"SigAlg":     func(u string) string { return strings.Replace(u, "rsa-sha256", "rsa-sha512", 1) },
		"dropped RelayState": func(u string) string {
			return strings.Replace(u, "&RelayState=%2Fa", "", 1)
		},
	} {
		t.Run(name, func(t *testing.T) {
			tampered := edit(m.URL)
			require.NotEqual(t, m.URL, tampered)
			_, err := h.idp.ReadRequest(httptest.NewRequest(http.MethodGet, tampered, nil), cert)
			assert.Error(t, err)
		})
	}
	_, err = h.idp.ReadRequest(httptest.NewRequest(http.MethodGet, m.URL, nil), cert)
	assert.NoError(t, err)
}

func TestAuthnRequestOptionsRefused(t *testing.T) {
	t.Parallel()
	h := signingSP(t, nil, nil)
	for name, opts := range map[string]saml.AuthnRequestOptions{
		"binding":         {Binding: "urn:oasis:names:tc:SAML:2.0:bindings:SOAP"},
		"long RelayState": {RelayState: strings.Repeat("x", saml.MaxRelayStateLength+1)},
		"no class refs":   {RequestedAuthnContext: &saml.RequestedAuthnContext{}},
		"comparison":      {RequestedAuthnContext: &saml.RequestedAuthnContext{Comparison: "most", ClassRefs: []string{"x"}}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := h.sp.AuthnRequest(opts)
			assert.Error(t, err)
		})
	}
	noSSO := newHarness(t, func(c *saml.Config) { c.IdP.SSOServices = nil })
	_, err := noSSO.sp.AuthnRequest(saml.AuthnRequestOptions{})
	assert.ErrorContains(t, err, "no SingleSignOnService")
}

// When the IdP offers only one binding, the request uses it.
func TestAuthnRequestBindingFallback(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *saml.Config) {
		c.IdP.SSOServices = []saml.Endpoint{{Binding: saml.BindingHTTPPOST, Location: samltest.DefaultSSOURL}}
	})
	m, err := h.sp.AuthnRequest(saml.AuthnRequestOptions{})
	require.NoError(t, err)
	assert.Equal(t, saml.BindingHTTPPOST, m.Binding)
	assert.Empty(t, m.URL)
}

// IDs are fresh for every request.
func TestAuthnRequestIDsUnique(t *testing.T) {
	t.Parallel()
	h := signingSP(t, nil, nil)
	seen := map[string]bool{}
	for range 200 {
		m, err := h.sp.AuthnRequest(saml.AuthnRequestOptions{})
		require.NoError(t, err)
		require.False(t, seen[m.ID])
		seen[m.ID] = true
	}
}

func TestSigningConfigRefused(t *testing.T) {
	t.Parallel()
	idp, err := sharedIdP()
	require.NoError(t, err)
	rsaKey, rsaCert := rsaSigner(t)
	ecKey, ecCert := ecSigner(t)
	base := saml.Config{EntityID: "sp", ACSURL: samltest.DefaultACSURL, IdP: idp.IdentityProvider()}
	for name, mod := range map[string]func(*saml.Config){
		"unknown method": func(c *saml.Config) { c.SignatureMethod = "http://www.w3.org/2000/09/xmldsig#hmac-sha1" },
		"ECDSA method, RSA key": func(c *saml.Config) {
			c.SigningKey, c.SigningCertificate, c.SignatureMethod = rsaKey, rsaCert, samltest.ECDSASHA256
		},
		"RSA method, ECDSA key": func(c *saml.Config) {
			c.SigningKey, c.SigningCertificate, c.SignatureMethod = ecKey, ecCert, samltest.RSASHA256
		},
		"unknown digest": func(c *saml.Config) { c.DigestMethod = "http://www.w3.org/2001/04/xmldsig-more#md5" },
		"SLO URL scheme": func(c *saml.Config) { c.SLOURL = "javascript:alert(1)" },
		"SLO URL host":   func(c *saml.Config) { c.SLOURL = "https:///slo" },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := base
			mod(&cfg)
			_, err := saml.NewServiceProvider(cfg)
			assert.Error(t, err)
		})
	}
}

// Send redirects in the HTTP-Redirect binding and writes a self-posting
// form in the HTTP-POST binding, with a CSP that allows only its script.
func TestMessageSend(t *testing.T) {
	t.Parallel()
	h := signingSP(t, nil, nil)
	m, err := h.sp.AuthnRequest(saml.AuthnRequestOptions{RelayState: `/x"><script>`})
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	m.Send(rec, httptest.NewRequest(http.MethodGet, "/saml/login", nil))
	assert.Equal(t, http.StatusFound, rec.Code)
	assert.Equal(t, m.URL, rec.Header().Get("Location"))
	assert.Contains(t, rec.Header().Get("Cache-Control"), "no-store")

	m, err = h.sp.AuthnRequest(saml.AuthnRequestOptions{Binding: saml.BindingHTTPPOST, RelayState: `/x"><script>`})
	require.NoError(t, err)
	rec = httptest.NewRecorder()
	m.Send(rec, httptest.NewRequest(http.MethodGet, "/saml/login", nil))
	assert.Equal(t, http.StatusOK, rec.Code)
	body := rec.Body.String()
	assert.Contains(t, body, `action="`+samltest.DefaultSSOURL+`"`)
	assert.Contains(t, html.UnescapeString(body), `name="SAMLRequest" value="`+m.Form().Get("SAMLRequest")+`"`)
	assert.Contains(t, body, `name="RelayState" value="/x&#34;&gt;&lt;script&gt;"`)
	assert.NotContains(t, body, `"><script>`)
	assert.Contains(t, rec.Header().Get("Content-Security-Policy"), "script-src 'sha256-")
}
