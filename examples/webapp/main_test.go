package main

import (
	"bytes"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/mapping"
	"github.com/siteadmin/integrations/saml/samltest"
	"github.com/siteadmin/integrations/twilio/twiliotest"
)

// startApp serves a new app on a loopback port and returns its URL.
func startApp(t *testing.T) (*app, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	base := "http://" + l.Addr().String()
	a, err := newApp(appConfig{BaseURL: base})
	require.NoError(t, err)
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: a}}
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		a.Close()
	})
	return a, base
}

// user is a browser: a client with a cookie jar that follows redirects.
type user struct {
	t    *testing.T
	c    *http.Client
	base string
}

func newUser(t *testing.T, base string) *user {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &user{t: t, c: &http.Client{Jar: jar}, base: base}
}

// page is a response, read.
type page struct {
	status int
	url    string
	body   string
}

func (u *user) do(req *http.Request) page {
	u.t.Helper()
	resp, err := u.c.Do(req)
	require.NoError(u.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(u.t, err)
	return page{status: resp.StatusCode, url: resp.Request.URL.String(), body: string(body)}
}

func (u *user) get(path string) page {
	u.t.Helper()
	req, err := http.NewRequest(http.MethodGet, u.base+path, nil)
	require.NoError(u.t, err)
	return u.do(req)
}

// post posts form to target (a path or a URL) as a same-origin form.
func (u *user) post(target string, form url.Values) page {
	u.t.Helper()
	if strings.HasPrefix(target, "/") {
		target = u.base + target
	}
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	require.NoError(u.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", u.base)
	return u.do(req)
}

var (
	formAction  = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
	hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
)

// autoPost reads the self-posting form of p: its action and fields.
func autoPost(t *testing.T, p page) (string, url.Values) {
	t.Helper()
	m := formAction.FindStringSubmatch(p.body)
	require.NotNil(t, m, "no form in %s", p.body)
	form := url.Values{}
	for _, f := range hiddenInput.FindAllStringSubmatch(p.body, -1) {
		form.Set(html.UnescapeString(f[1]), html.UnescapeString(f[2]))
	}
	return html.UnescapeString(m[1]), form
}

// TestEndToEnd drives the app as a browser would: SP-initiated login at
// the test IdP, the ACS, the Diff page, a replay of the captured
// SAMLResponse, and single logout; then an IdP-initiated login whose
// RelayState points elsewhere, and an IdP-initiated logout.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	a, base := startApp(t)
	alice := newUser(t, base)

	home := alice.get("/")
	require.Equal(t, http.StatusOK, home.status)
	assert.Contains(t, home.body, "Not logged in")

	// SP-initiated: the login redirects to the IdP with a signed
	// AuthnRequest, and the IdP shows its login page.
	login := alice.get("/saml/login?return_to=/diff")
	require.Equal(t, http.StatusOK, login.status, login.body)
	require.True(t, strings.HasPrefix(login.url, base+"/idp/sso?SAMLRequest="), login.url)
	assert.Contains(t, login.body, "signed with "+samltest.RSASHA256)
	action, form := autoPost(t, login) // the IdP's form also carries request_id
	require.Equal(t, "/idp/sso", action)
	require.NotEmpty(t, form.Get("request_id"))

	// Alice picks her groups; the IdP answers with a page that posts the
	// signed Response to the ACS.
	form.Set("user", "alice@example.com")
	form["groups"] = []string{"acme-developers", "globex-ops", "no-such-team"}
	form.Set("username", "alice")
	posted := alice.post("/idp/sso", form)
	require.Equal(t, http.StatusOK, posted.status, posted.body)
	acs, response := autoPost(t, posted)
	require.Equal(t, base+"/saml/acs", acs)
	samlResponse := response.Get("SAMLResponse")
	require.NotEmpty(t, samlResponse)

	// The ACS verifies it, syncs teams, and lands on the Diff page.
	diff := alice.post(acs, response)
	require.Equal(t, http.StatusOK, diff.status, diff.body)
	assert.Equal(t, base+"/diff", diff.url)
	assert.Contains(t, diff.body, "alice@example.com")
	assert.Contains(t, diff.body, "developers")
	assert.Contains(t, diff.body, "ops")
	assert.Contains(t, diff.body, "legacy") // left: not asserted
	assert.Contains(t, diff.body, "no-such-team")
	u, ok := a.userByEmail("alice@example.com")
	require.True(t, ok)
	assert.Equal(t, "alice", u.Username)
	assert.ElementsMatch(t, []string{"acme-dev", "globex-ops"}, teamIDs(u.Teams))

	home = alice.get("/")
	assert.Contains(t, home.body, "Logged in as <strong>alice@example.com</strong> (SP-initiated")

	// Replaying the captured SAMLResponse fails, in this browser and in
	// another one.
	replay := alice.post("/saml/acs", url.Values{"SAMLResponse": {samlResponse}})
	assert.Equal(t, http.StatusForbidden, replay.status)
	assert.Contains(t, replay.body, "Login failed")
	assert.Contains(t, replay.body, "<code>in_response_to</code>") // its request was answered and forgotten
	mallory := newUser(t, base)
	replay = mallory.post("/saml/acs", url.Values{"SAMLResponse": {samlResponse}})
	assert.Equal(t, http.StatusForbidden, replay.status)
	assert.NotContains(t, mallory.get("/").body, "Logged in")

	// Single logout: the app ends its session, the IdP gets a signed
	// LogoutRequest, answers, and the browser is home, logged out.
	out := alice.post("/saml/logout", nil)
	require.Equal(t, http.StatusOK, out.status, out.body)
	assert.Equal(t, base+"/", out.url)
	assert.Contains(t, out.body, "Not logged in")

	// IdP-initiated login, with a RelayState that points off the site:
	// the login works and lands on the home page, not elsewhere.
	idpPage := alice.get("/idp/sso")
	require.Equal(t, http.StatusOK, idpPage.status)
	in := alice.post("/idp/sso", url.Values{
		"user": {"bob@example.com"}, "groups": {"site-admins"}, "relay_state": {"https://evil.example.com/phish"},
	})
	acs, response = autoPost(t, in)
	landed := alice.post(acs, response)
	require.Equal(t, http.StatusOK, landed.status, landed.body)
	assert.Equal(t, base+"/", landed.url)
	assert.Contains(t, landed.body, "Logged in as <strong>bob@example.com</strong> (IdP-initiated")
	bob, ok := a.userByEmail("bob@example.com")
	require.True(t, ok)
	assert.True(t, bob.SiteAdmin)

	// IdP-initiated logout: the IdP's signed LogoutRequest ends bob's
	// session at the app.
	done := alice.post("/idp/logout", nil)
	require.Equal(t, http.StatusOK, done.status, done.body)
	assert.Contains(t, done.body, "Logged out at the IdP")
	assert.Contains(t, alice.get("/").body, "Not logged in")
}

func teamIDs(teams []mapping.Team) []string {
	var out []string
	for _, t := range teams {
		out = append(out, t.ID)
	}
	return out
}

// Logins started in two tabs both complete, each with its own request.
func TestTwoTabs(t *testing.T) {
	t.Parallel()
	_, base := startApp(t)
	b := newUser(t, base)
	tab1 := b.get("/saml/login?return_to=/diff")
	tab2 := b.get("/saml/login?return_to=/")
	for _, tab := range []page{tab2, tab1} {
		_, form := autoPost(t, tab)
		form.Set("user", "carol@example.com")
		acs, resp := autoPost(t, b.post("/idp/sso", form))
		landed := b.post(acs, resp)
		assert.Equal(t, http.StatusOK, landed.status, landed.body)
	}
}

// A response from another IdP key, or a forged cookie, never logs in; the
// debug page shows the report only with SAML debugging on.
func TestLoginFailures(t *testing.T) {
	t.Parallel()
	a, base := startApp(t)
	b := newUser(t, base)
	other, err := samltest.New(samltest.WithEntityID(a.idp.EntityID))
	require.NoError(t, err)
	resp, err := other.Response(samltest.ResponseSpec{ACSURL: base + "/saml/acs", Audience: base + "/saml/metadata"})
	require.NoError(t, err)
	p := b.post("/saml/acs", url.Values{"SAMLResponse": {resp.Base64()}})
	assert.Equal(t, http.StatusForbidden, p.status)
	assert.Contains(t, p.body, "<code>signature</code>")
	assert.NotContains(t, p.body, "debug report")

	a.mu.Lock()
	a.samlSet.Debug = true
	s := a.samlSet
	a.mu.Unlock()
	require.NoError(t, a.applySAML(s))
	p = b.post("/saml/acs", url.Values{"SAMLResponse": {resp.Base64()}})
	assert.Equal(t, http.StatusForbidden, p.status)
	assert.Contains(t, p.body, "SAML debug report")
	assert.Contains(t, p.body, "does not verify")

	// A cross-site post to the logout or the admin pages is refused.
	req, err := http.NewRequest(http.MethodPost, base+"/admin/saml", strings.NewReader("enabled=on"))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example.com")
	assert.Equal(t, http.StatusForbidden, b.do(req).status)
	req, err = http.NewRequest(http.MethodPost, base+"/saml/logout", nil)
	require.NoError(t, err)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	assert.Equal(t, http.StatusForbidden, b.do(req).status)
}

func TestAdminPages(t *testing.T) {
	t.Parallel()
	a, base := startApp(t)
	b := newUser(t, base)
	for _, path := range []string{"/admin/saml", "/admin/smtp", "/admin/twilio", "/saml/metadata", "/idp/metadata"} {
		p := b.get(path)
		assert.Equal(t, http.StatusOK, p.status, path)
		assert.NotContains(t, p.body, "PRIVATE KEY", path)
		assert.NotContains(t, p.body, "app-password", path)
		assert.NotContains(t, p.body, twiliotest.AuthToken, path)
	}

	// Send test email to: through smtpx to the in-process server.
	p := b.get("/admin/smtp")
	form := settingsForm(t, p.body)
	form.Set("action", "test")
	form.Set("test-to", "admin@example.com")
	p = b.post("/admin/smtp", form)
	require.Equal(t, http.StatusOK, p.status)
	assert.Contains(t, p.body, `id="test-result">Accepted`)
	msgs := a.smtpServer.Messages()
	require.Len(t, msgs, 1)
	assert.Equal(t, []string{"admin@example.com"}, msgs[0].To)

	// Send Test SMS: through twilio to the fake.
	p = b.get("/admin/twilio")
	form = settingsForm(t, p.body)
	form.Set("action", "test")
	form.Set("test-to", "+14155550123")
	p = b.post("/admin/twilio", form)
	require.Equal(t, http.StatusOK, p.status)
	assert.Contains(t, p.body, `id="test-result">Sent: SM`)
	sms := a.twilioServer.Messages()
	require.Len(t, sms, 1)
	assert.Equal(t, "+14155550123", sms[0].To)

	// Invalid settings are reported field by field and not saved.
	form = settingsForm(t, b.get("/admin/saml").body)
	form.Set("idp-metadata", "")
	form.Set("sso-url", "ftp://idp")
	p = b.post("/admin/saml", form)
	assert.Contains(t, p.body, "<code>sso-url</code>")
	assert.Contains(t, p.body, "<code>idp-entity-id</code>")
	assert.Contains(t, b.get("/saml/metadata").body, "SPSSODescriptor")

	// Saving the form unchanged keeps the key and still logs in.
	p = b.post("/admin/saml", settingsForm(t, b.get("/admin/saml").body))
	assert.Contains(t, p.body, "Saved.")
	login := b.get("/saml/login")
	assert.Contains(t, login.body, "signed with")
}

var (
	textInput = regexp.MustCompile(`<input type="(?:text|url)" name="([^"]+)" value="([^"]*)">`)
	checkbox  = regexp.MustCompile(`<input type="checkbox" name="([^"]+)" checked>`)
	textArea  = regexp.MustCompile(`(?s)<textarea name="([^"]+)"[^>]*>(.*?)</textarea>`)
	selected  = regexp.MustCompile(`(?s)<select name="([^"]+)">.*?<option value="([^"]*)" selected>`)
)

// settingsForm reads the current values of a settings page's form, as a
// browser would submit it unchanged.
func settingsForm(t *testing.T, body string) url.Values {
	t.Helper()
	form := url.Values{}
	for _, re := range []*regexp.Regexp{textInput, textArea, selected} {
		for _, m := range re.FindAllStringSubmatch(body, -1) {
			form.Set(m[1], html.UnescapeString(m[2]))
		}
	}
	for _, m := range checkbox.FindAllStringSubmatch(body, -1) {
		form.Set(m[1], "on")
	}
	return form
}

func TestRunRefusesNonLoopback(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	assert.ErrorContains(t, run([]string{"-addr", "0.0.0.0:0"}, &out), "loopback")
	assert.ErrorContains(t, run([]string{"-addr", "example.com:80"}, &out), "loopback")
	assert.Error(t, run([]string{"-addr", "nonsense"}, &out))
}

// A browser that opens the app as http://localhost:PORT/ is sent to its
// own URL first: a login started under another host name would keep its
// request cookie there, and the IdP's post to the ACS (at the app's URL)
// would fail with in_response_to. Any other host name is refused.
func TestOtherHostNames(t *testing.T) {
	t.Parallel()
	_, base := startApp(t)
	_, port, err := net.SplitHostPort(strings.TrimPrefix(base, "http://"))
	require.NoError(t, err)
	b := newUser(t, base)

	p := b.get("/") // the reference: the app's own host
	require.Equal(t, http.StatusOK, p.status)

	local := "http://localhost:" + port
	req, err := http.NewRequest(http.MethodGet, local+"/saml/login?return_to=/diff", nil)
	require.NoError(t, err)
	login := b.do(req)
	require.Equal(t, http.StatusOK, login.status, login.body)
	require.True(t, strings.HasPrefix(login.url, base+"/idp/sso?SAMLRequest="), login.url)
	_, form := autoPost(t, login)
	form.Set("user", "alice@example.com")
	acs, resp := autoPost(t, b.post("/idp/sso", form))
	landed := b.post(acs, resp)
	require.Equal(t, http.StatusOK, landed.status, landed.body)
	assert.Equal(t, base+"/diff", landed.url)

	for _, host := range []string{"evil.example.com", "evil.example.com:" + port} {
		req, err := http.NewRequest(http.MethodGet, base+"/admin/smtp", nil)
		require.NoError(t, err)
		req.Host = host
		p := b.do(req)
		assert.Equal(t, http.StatusMisdirectedRequest, p.status, host)
		assert.NotContains(t, p.body, "app-password", host)
	}
	req, err = http.NewRequest(http.MethodPost, local+"/admin/saml", strings.NewReader("enabled=on"))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	assert.Equal(t, http.StatusMisdirectedRequest, b.do(req).status)
}

// The test IdP's login page can spoil a response, so that a failed login
// and its debug report can be seen in a browser.
func TestIdPBreaksResponse(t *testing.T) {
	t.Parallel()
	a, base := startApp(t)
	a.mu.Lock()
	s := a.samlSet
	a.mu.Unlock()
	s.Debug = true
	require.NoError(t, a.applySAML(s))
	b := newUser(t, base)
	assert.Contains(t, b.get("/idp/sso").body, `<select name="break">`)
	for brk, code := range map[string]string{"audience": "audience", "expired": "expired", "unsigned": "signature"} {
		login := b.get("/saml/login?return_to=/diff")
		_, form := autoPost(t, login)
		form.Set("user", "alice@example.com")
		form.Set("break", brk)
		acs, resp := autoPost(t, b.post("/idp/sso", form))
		p := b.post(acs, resp)
		assert.Equal(t, http.StatusForbidden, p.status, brk)
		head, _, _ := strings.Cut(p.body, "<h3>Received XML</h3>")
		assert.Contains(t, head, "Error code: <code>"+code+"</code>", brk)
		assert.Contains(t, head, "SAML debug report", brk)
	}
	assert.NotContains(t, b.get("/").body, "Logged in")
	p := b.post("/idp/sso", url.Values{"user": {"alice@example.com"}, "break": {"nonsense"}})
	assert.Equal(t, http.StatusBadRequest, p.status)
}

// The app's own forms refuse posts from other sites; the ACS takes the
// IdP's post, which comes from the IdP's site.
func TestCrossSitePosts(t *testing.T) {
	t.Parallel()
	_, base := startApp(t)
	b := newUser(t, base)
	for _, path := range []string{"/admin/saml", "/admin/smtp", "/admin/twilio", "/idp/sso", "/idp/logout", "/saml/logout"} {
		// The app's check and, at /saml/logout, the Handler's.
		for _, h := range []map[string]string{
			{"Sec-Fetch-Site": "cross-site"},
			{"Sec-Fetch-Site": "same-site", "Origin": "http://evil.localhost"},
			{"Origin": "https://evil.example.com"},
		} {
			req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader("enabled=on&user=alice%40example.com"))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range h {
				req.Header.Set(k, v)
			}
			p := b.do(req)
			assert.Equal(t, http.StatusForbidden, p.status, "%s %v", path, h)
			assert.Contains(t, p.body, "refused", "%s %v", path, h) // "Post refused", "Logout refused"

		}
	}

	login := b.get("/saml/login?return_to=/diff")
	_, form := autoPost(t, login)
	form.Set("user", "alice@example.com")
	acs, resp := autoPost(t, b.post("/idp/sso", form))
	req, err := http.NewRequest(http.MethodPost, acs, strings.NewReader(resp.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "https://idp.example.com")
	landed := b.do(req)
	require.Equal(t, http.StatusOK, landed.status, landed.body)
	assert.Equal(t, base+"/diff", landed.url)
}
