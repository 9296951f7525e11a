package samlsp_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/mapping"
	"github.com/siteadmin/integrations/mapping/mappingtest"
	"github.com/siteadmin/integrations/saml"
	"github.com/siteadmin/integrations/saml/samlsp"
	"github.com/siteadmin/integrations/saml/samltest"
)

// handlerHost is a host application around a Handler: it records logins
// and logouts.
type handlerHost struct {
	h       *harness
	handler *samlsp.Handler
	store   *mappingtest.Store

	mu      sync.Mutex
	logins  []*samlsp.Login
	ended   []*saml.LogoutRequest
	session *samlsp.Session
}

func newHandlerHost(t *testing.T, mods ...func(*samlsp.HandlerConfig)) *handlerHost {
	t.Helper()
	key, cert := rsaSigner(t)
	hh := &handlerHost{h: signingSP(t, key, cert), store: mappingtest.NewStore()}
	require.NoError(t, hh.store.AddTeam(mapping.Team{ID: "t1", Org: "acme", Name: "developers", Members: 1}))
	m := mapping.Config{TeamSync: true}
	cfg := samlsp.HandlerConfig{
		Tracker:        &samlsp.CookieTracker{Key: trackerKey},
		AllowedOrigins: []string{"https://app.example.com"},
		Mapping:        &m,
		Store:          hh.store,
		Login: func(ctx context.Context, w http.ResponseWriter, r *http.Request, l *samlsp.Login) error {
			hh.mu.Lock()
			defer hh.mu.Unlock()
			hh.logins = append(hh.logins, l)
			return nil
		},
		Logout: func(ctx context.Context, w http.ResponseWriter, r *http.Request) (*samlsp.Session, error) {
			return hh.session, nil
		},
		IdPLogout: func(ctx context.Context, req *saml.LogoutRequest) error {
			hh.mu.Lock()
			defer hh.mu.Unlock()
			hh.ended = append(hh.ended, req)
			return nil
		},
	}
	for _, mod := range mods {
		mod(&cfg)
	}
	var err error
	hh.handler, err = samlsp.NewHandler(hh.h.sp, cfg)
	require.NoError(t, err)
	return hh
}

func (hh *handlerHost) serve(b *browser, r *http.Request) *httptest.ResponseRecorder {
	for _, c := range b.cookies {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	rec := httptest.NewRecorder()
	hh.handler.ServeHTTP(rec, r)
	b.keep(rec)
	return rec
}

func postForm(target string, form url.Values) *http.Request {
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

func TestHandlerLogin(t *testing.T) {
	t.Parallel()
	cases := []struct{ returnTo, relayState, landing string }{
		{"/orgs/acme", "/orgs/acme", "/orgs/acme"},
		{"https://app.example.com/x", "https://app.example.com/x", "https://app.example.com/x"},
		{"https://evil.example.com/", "/", "/"},
		{"//evil.example.com", "/", "/"},
		{"/" + strings.Repeat("a", 100), "", "/" + strings.Repeat("a", 100)},
	}
	for _, tc := range cases {
		t.Run(tc.returnTo, func(t *testing.T) {
			t.Parallel()
			hh := newHandlerHost(t)
			b := newBrowser()
			rec := hh.serve(b, httptest.NewRequest(http.MethodGet, "/saml/login?return_to="+url.QueryEscape(tc.returnTo), nil))
			require.Equal(t, http.StatusFound, rec.Code)
			_, key := rsaSigner(t)
			req, err := hh.h.idp.ReadRequest(httptest.NewRequest(http.MethodGet, rec.Header().Get("Location"), nil), key)
			require.NoError(t, err)
			assert.Equal(t, tc.relayState, req.RelayState)

			resp, err := hh.h.idp.Response(samltest.ResponseSpec{Now: testNow, InResponseTo: req.ID,
				Attributes: []samltest.Attribute{{Name: "MemberOf", Values: []string{"developers"}}}})
			require.NoError(t, err)
			rec = hh.serve(b, postForm(samltest.DefaultACSURL, resp.PostForm(req.RelayState)))
			require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
			assert.Equal(t, tc.landing, rec.Header().Get("Location"))
			require.Len(t, hh.logins, 1)
			l := hh.logins[0]
			assert.Equal(t, samltest.DefaultNameID, l.Assertion.NameID.Value)
			require.NotNil(t, l.Diff)
			assert.True(t, l.Diff.NewUser)
			require.Len(t, l.Diff.Add, 1)
			assert.Equal(t, "t1", l.Diff.Add[0].Team)

			// The request is forgotten: the same response, freshly
			// signed with a new assertion ID, no longer answers it.
			again, err := hh.h.idp.Response(samltest.ResponseSpec{Now: testNow, InResponseTo: req.ID})
			require.NoError(t, err)
			rec = hh.serve(b, postForm(samltest.DefaultACSURL, again.PostForm("")))
			assert.Equal(t, http.StatusForbidden, rec.Code)
			assert.Contains(t, rec.Body.String(), "<code>in_response_to</code>")
		})
	}
}

// A response answering another browser's request is refused.
func TestHandlerOtherBrowser(t *testing.T) {
	t.Parallel()
	hh := newHandlerHost(t)
	alice, mallory := newBrowser(), newBrowser()
	rec := hh.serve(alice, httptest.NewRequest(http.MethodGet, "/saml/login", nil))
	_, cert := rsaSigner(t)
	req, err := hh.h.idp.ReadRequest(httptest.NewRequest(http.MethodGet, rec.Header().Get("Location"), nil), cert)
	require.NoError(t, err)
	resp, err := hh.h.idp.Response(samltest.ResponseSpec{Now: testNow, InResponseTo: req.ID})
	require.NoError(t, err)
	rec = hh.serve(mallory, postForm(samltest.DefaultACSURL, resp.PostForm("")))
	assert.Equal(t, http.StatusForbidden, rec.Code)
	assert.Empty(t, hh.logins)
	// The harness has debugging on: the page shows the report.
	assert.Contains(t, rec.Body.String(), "<code>in_response_to</code>")
	assert.Contains(t, rec.Body.String(), "SAML debug report")
	// The received XML has long unbroken runs (base64 signatures and
	// certificates): the page wraps them rather than growing thousands of
	// pixels wide in a browser.
	assert.Contains(t, rec.Body.String(), "<h3>Received XML</h3><pre>")
	assert.Contains(t, rec.Body.String(), "pre{white-space:pre-wrap;overflow-wrap:anywhere;")
}

func TestHandlerRoutes(t *testing.T) {
	t.Parallel()
	hh := newHandlerHost(t)
	b := newBrowser()
	rec := hh.serve(b, httptest.NewRequest(http.MethodGet, "/saml/metadata", nil))
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "application/samlmetadata+xml", rec.Header().Get("Content-Type"))
	_, err := samltest.ParseSPMetadata(rec.Body.Bytes())
	assert.NoError(t, err)
	for _, c := range []struct {
		method, path string
		code         int
	}{
		{http.MethodGet, "/saml/acs", http.StatusMethodNotAllowed},
		{http.MethodGet, "/saml/logout", http.StatusMethodNotAllowed},
		{http.MethodPost, "/saml/metadata", http.StatusMethodNotAllowed},
		{http.MethodGet, "/saml/nothing", http.StatusNotFound},
		{http.MethodGet, "/saml/slo", http.StatusBadRequest},
		{http.MethodPost, "/saml/acs", http.StatusForbidden},
	} {
		rec := hh.serve(b, httptest.NewRequest(c.method, c.path, nil))
		assert.Equal(t, c.code, rec.Code, "%s %s", c.method, c.path)
	}
}

func TestHandlerLogout(t *testing.T) {
	t.Parallel()
	hh := newHandlerHost(t)
	b := newBrowser()
	_, cert := rsaSigner(t)

	// Without a SAML session, logout is local.
	rec := hh.serve(b, httptest.NewRequest(http.MethodPost, "/saml/logout", nil))
	assert.Equal(t, http.StatusSeeOther, rec.Code)

	// With one, a signed LogoutRequest goes to the IdP, whose answer
	// completes the logout.
	hh.session = &samlsp.Session{NameID: saml.NameID{Value: "alice@example.com"}, SessionIndex: "_s1"}
	rec = hh.serve(b, httptest.NewRequest(http.MethodPost, "/saml/logout", nil))
	require.Equal(t, http.StatusFound, rec.Code)
	req, err := hh.h.idp.ReadRequest(httptest.NewRequest(http.MethodGet, rec.Header().Get("Location"), nil), cert)
	require.NoError(t, err)
	assert.Equal(t, "LogoutRequest", req.Kind)
	answer, err := hh.h.idp.LogoutResponse(samltest.LogoutSpec{Destination: testSLOURL, InResponseTo: req.ID, Now: testNow})
	require.NoError(t, err)
	rec = hh.serve(b, httptest.NewRequest(http.MethodGet, answer.URL, nil))
	assert.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
	// Its answer cannot be used twice.
	rec = hh.serve(b, httptest.NewRequest(http.MethodGet, answer.URL, nil))
	assert.Equal(t, http.StatusForbidden, rec.Code)

	// A cross-site logout post is refused.
	r := httptest.NewRequest(http.MethodPost, "/saml/logout", nil)
	r.Header.Set("Origin", "https://evil.example.com")
	rec = hh.serve(b, r)
	assert.Equal(t, http.StatusForbidden, rec.Code)

	// The IdP's own LogoutRequest ends the host's sessions and is answered.
	m, err := hh.h.idp.LogoutRequest(logoutSpec(saml.BindingHTTPRedirect))
	require.NoError(t, err)
	rec = hh.serve(b, m.Request())
	require.Equal(t, http.StatusFound, rec.Code, rec.Body.String())
	require.Len(t, hh.ended, 1)
	assert.Equal(t, "alice@example.com", hh.ended[0].NameID.Value)
	got, err := hh.h.idp.ReadRequest(httptest.NewRequest(http.MethodGet, rec.Header().Get("Location"), nil), cert)
	require.NoError(t, err)
	assert.Equal(t, saml.StatusSuccess, got.StatusCode)
	assert.Equal(t, m.ID, got.InResponseTo)

	// An unsigned one is refused with a page.
	spec := logoutSpec(saml.BindingHTTPRedirect)
	spec.Unsigned = true
	m, err = hh.h.idp.LogoutRequest(spec)
	require.NoError(t, err)
	rec = hh.serve(b, m.Request())
	assert.Equal(t, http.StatusForbidden, rec.Code)
	assert.Len(t, hh.ended, 1)
}

func TestHandlerFailures(t *testing.T) {
	t.Parallel()
	// A host whose sync or login fails does not log the user in.
	for name, mod := range map[string]func(*samlsp.HandlerConfig){
		"login": func(c *samlsp.HandlerConfig) {
			c.Login = func(context.Context, http.ResponseWriter, *http.Request, *samlsp.Login) error {
				return errors.New("db down")
			}
		},
		"sync": func(c *samlsp.HandlerConfig) { c.Mapping = &mapping.Config{TeamAttribute: " x"} },
	} {
		t.Run(name, func(t *testing.T) {
			hh := newHandlerHost(t, mod)
			b := newBrowser()
			rec := hh.serve(b, httptest.NewRequest(http.MethodGet, "/saml/login", nil))
			_, cert := rsaSigner(t)
			req, err := hh.h.idp.ReadRequest(httptest.NewRequest(http.MethodGet, rec.Header().Get("Location"), nil), cert)
			require.NoError(t, err)
			resp, err := hh.h.idp.Response(samltest.ResponseSpec{Now: testNow, InResponseTo: req.ID})
			require.NoError(t, err)
			rec = hh.serve(b, postForm(samltest.DefaultACSURL, resp.PostForm("")))
			assert.Equal(t, http.StatusInternalServerError, rec.Code)
			assert.Empty(t, hh.logins)
		})
	}

	h := signingSP(t, nil, nil)
	ok := samlsp.HandlerConfig{Tracker: &samlsp.CookieTracker{Key: trackerKey},
		Login: func(context.Context, http.ResponseWriter, *http.Request, *samlsp.Login) error { return nil }}
	for name, mod := range map[string]func(*samlsp.HandlerConfig){
		"no tracker":        func(c *samlsp.HandlerConfig) { c.Tracker = nil },
		"no login":          func(c *samlsp.HandlerConfig) { c.Login = nil },
		"prefix":            func(c *samlsp.HandlerConfig) { c.Prefix = "/sso/" },
		"prefix form":       func(c *samlsp.HandlerConfig) { c.Prefix = "saml" },
		"mapping, no store": func(c *samlsp.HandlerConfig) { c.Mapping = &mapping.Config{} },
		"open default":      func(c *samlsp.HandlerConfig) { c.DefaultRedirect = "https://evil.example.com" },
		"long default": func(c *samlsp.HandlerConfig) {
			c.DefaultRedirect = "/" + strings.Repeat("a", samlsp.MaxTrackedReturnTo)
		},
		"tracker path": func(c *samlsp.HandlerConfig) { c.Tracker = &samlsp.CookieTracker{Key: trackerKey, Path: "/app/"} },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := ok
			mod(&cfg)
			_, err := samlsp.NewHandler(h.sp, cfg)
			assert.Error(t, err)
		})
	}
	_, err := samlsp.NewHandler(h.sp, ok)
	assert.NoError(t, err)
}

// The logout is refused when a browser says it was posted from another
// site, by Fetch metadata or, from older browsers, by Origin; the ACS
// takes the IdP's cross-site post.
func TestHandlerCrossSite(t *testing.T) {
	t.Parallel()
	hh := newHandlerHost(t)
	for _, c := range []struct {
		name, fetchSite, origin string
		want                    int
	}{
		{"same origin", "same-origin", "http://example.com", http.StatusSeeOther},
		{"typed in the address bar", "none", "", http.StatusSeeOther},
		{"not a browser", "", "", http.StatusSeeOther},
		{"old browser, same origin", "", "http://example.com", http.StatusSeeOther},
		{"cross-site", "cross-site", "https://evil.example.com", http.StatusForbidden},
		{"sibling subdomain", "same-site", "http://evil.example.com", http.StatusForbidden},
		{"old browser, other origin", "", "https://evil.example.com", http.StatusForbidden},
		{"old browser, other port", "", "http://example.com:8443", http.StatusForbidden},
		{"opaque origin", "", "null", http.StatusForbidden},
	} {
		r := httptest.NewRequest(http.MethodPost, "/saml/logout", nil) // Host: example.com
		if c.fetchSite != "" {
			r.Header.Set("Sec-Fetch-Site", c.fetchSite)
		}
		if c.origin != "" {
			r.Header.Set("Origin", c.origin)
		}
		rec := hh.serve(newBrowser(), r)
		assert.Equal(t, c.want, rec.Code, c.name)
		if c.want == http.StatusForbidden {
			assert.Contains(t, rec.Body.String(), "Logout refused", c.name)
		}
	}

	b := newBrowser()
	rec := hh.serve(b, httptest.NewRequest(http.MethodGet, "/saml/login", nil))
	_, cert := rsaSigner(t)
	req, err := hh.h.idp.ReadRequest(httptest.NewRequest(http.MethodGet, rec.Header().Get("Location"), nil), cert)
	require.NoError(t, err)
	resp, err := hh.h.idp.Response(samltest.ResponseSpec{Now: testNow, InResponseTo: req.ID})
	require.NoError(t, err)
	post := postForm(samltest.DefaultACSURL, resp.PostForm(""))
	post.Header.Set("Sec-Fetch-Site", "cross-site")
	post.Header.Set("Origin", "https://idp.example.com")
	rec = hh.serve(b, post)
	assert.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
	assert.Len(t, hh.logins, 1)
}
