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
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/mapping"
	"github.com/siteadmin/integrations/saml/samltest"
	"github.com/siteadmin/integrations/twilio/twiliotest"
)

// testPassword is the break-glass password of the apps the tests start.
const testPassword = "correct horse battery staple"

// startApp serves a new app on a loopback port and returns its URL.
func startApp(t *testing.T) (*app, string) {
	t.Helper()
	return startAppWith(t, appConfig{})
}

// startAppWith is startApp with cfg, whose BaseURL and
// BreakGlassPassword it sets.
func startAppWith(t *testing.T, cfg appConfig) (*app, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	base := "http://" + l.Addr().String()
	cfg.BaseURL, cfg.BreakGlassPassword = base, testPassword
	a, err := newApp(cfg)
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

// breakGlass logs u in with the break-glass password.
func (u *user) breakGlass() page {
	u.t.Helper()
	p := u.post("/login", url.Values{"password": {testPassword}, "return_to": {"/admin/saml"}})
	require.Equal(u.t, http.StatusOK, p.status, p.body)
	require.Equal(u.t, u.base+"/admin/saml", p.url)
	return p
}

// samlLogin logs u in as email at the test IdP (SP-initiated), with the
// given MemberOf groups.
func (u *user) samlLogin(email string, groups ...string) page {
	u.t.Helper()
	_, form := autoPost(u.t, u.get("/saml/login?return_to=/diff"))
	form.Set("user", email)
	form["groups"] = groups
	acs, resp := autoPost(u.t, u.post("/idp/sso", form))
	p := u.post(acs, resp)
	require.Equal(u.t, http.StatusOK, p.status, p.body)
	return p
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
	u, ok := a.userByEmail(t.Context(), "alice@example.com")
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
	bob, ok := a.userByEmail(t.Context(), "bob@example.com")
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
	b.breakGlass()
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
	assert.Contains(t, p.body, "<p>Accepted: 250")
	assert.Contains(t, p.body, `id="test-result"`)
	assert.NotContains(t, p.body, `id="unsaved"`) // the form was the saved settings
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
	assert.Contains(t, p.body, `id="test-result">Sent to &#43;14155550123: SM`)
	sms := a.twilioServer.Messages()
	require.Len(t, sms, 1)
	assert.Equal(t, "+14155550123", sms[0].To)

	// Enter in a test box without JavaScript submits with the form's first
	// button, Save: the settings are saved and the recipient is kept.
	form = settingsForm(t, b.get("/admin/twilio").body)
	form.Set("action", "save")
	form.Set("test-to", "+14155550199")
	p = b.post("/admin/twilio", form)
	assert.Contains(t, p.body, `id="saved"`)
	assert.Contains(t, p.body, `value="&#43;14155550199"`)
	assert.Len(t, a.twilioServer.Messages(), 1)

	// Invalid settings are reported by label, their fields marked, and not
	// saved.
	form = settingsForm(t, b.get("/admin/saml").body)
	form.Set("idp-metadata", "")
	form.Set("sso-url", "ftp://idp")
	p = b.post("/admin/saml", form)
	assert.Contains(t, p.body, `<a href="#f-sso-url">Single sign-on URL</a>: `)
	assert.Contains(t, p.body, `<a href="#f-idp-entity-id">IdP entity ID</a>: is required`)
	assert.Contains(t, p.body, `name="sso-url" id="f-sso-url" aria-invalid="true"`)
	assert.Contains(t, p.body, `name="idp-entity-id" id="f-idp-entity-id" aria-invalid="true"`)
	assert.Contains(t, p.body, `name="slo-url" id="f-slo-url" value`) // not marked
	assert.Contains(t, b.get("/saml/metadata").body, "SPSSODescriptor")

	// Saving the form unchanged keeps the key and still logs in.
	p = b.post("/admin/saml", settingsForm(t, b.get("/admin/saml").body))
	assert.Contains(t, p.body, `id="saved"`)
	login := b.get("/saml/login")
	assert.Contains(t, login.body, "signed with")
}

// adminRequests are every admin page and test button, and what each
// must not have done when refused.
func adminRequests(t *testing.T, a *app, u *user) map[string]func() page {
	t.Helper()
	save := func(path string) func() page {
		return func() page {
			form := url.Values{"action": {"save"}, "enabled": {"on"}, "host": {"evil.example.com"}, "port": {"25"},
				"sender": {"evil@example.com"}, "idp-entity-id": {"https://evil.example.com"}, "sso-url": {"https://evil.example.com/sso"}}
			return u.post(path, form)
		}
	}
	// Test posts that send when allowed: the fakes' settings, typed in.
	tw := a.twilioServer.Settings()
	forms := map[string]url.Values{
		"/admin/smtp": {"sender": {"noreply@app.example.com"}, "host": {a.smtpServer.Host()}, "port": {strconv.Itoa(a.smtpServer.Port())},
			"authentication": {"plain"}, "username": {"app"}, "password": {"app-password"}},
		"/admin/twilio": {"account-sid": {tw.AccountSID}, "auth-token": {tw.AuthToken.Reveal()}, "from-number": {tw.FromNumber}, "base-url": {tw.BaseURL}},
		"/admin/saml":   {},
	}
	test := func(path, to string) func() page {
		return func() page {
			form := url.Values{"action": {"test"}, "test-to": {to}}
			for k, v := range forms[path] {
				form[k] = v
			}
			return u.post(path, form)
		}
	}
	get := func(path string) func() page { return func() page { return u.get(path) } }
	return map[string]func() page{
		"GET /admin/saml":     get("/admin/saml"),
		"GET /admin/smtp":     get("/admin/smtp"),
		"GET /admin/twilio":   get("/admin/twilio"),
		"save /admin/saml":    save("/admin/saml"),
		"save /admin/smtp":    save("/admin/smtp"),
		"save /admin/twilio":  save("/admin/twilio"),
		"Send test email":     test("/admin/smtp", "admin@example.com"),
		"Send Test SMS":       test("/admin/twilio", "+14155550123"),
		"test, not a button:": test("/admin/saml", "x"),
	}
}

// Admin pages and test buttons are for site admins: a SAML user without
// site admin is refused (403) at each, and so is a user whose login
// revoked it; a SAML site admin and the break-glass login reach them.
func TestAdminRequiresSiteAdmin(t *testing.T) {
	t.Parallel()
	a, base := startApp(t)
	settingsBefore := func() any {
		a.mu.RLock()
		defer a.mu.RUnlock()
		return []any{a.samlSet, a.smtpSet, a.twilio}
	}
	before := settingsBefore()
	refused := func(who string, u *user) {
		t.Helper()
		for name, do := range adminRequests(t, a, u) {
			p := do()
			assert.Equal(t, http.StatusForbidden, p.status, "%s: %s", who, name)
			assert.Contains(t, p.body, "Site admins only", "%s: %s", who, name)
			assert.NotContains(t, p.body, "app-password", "%s: %s", who, name)
		}
		assert.Equal(t, before, settingsBefore(), who)
		assert.Empty(t, a.smtpServer.Messages(), who)
		assert.Empty(t, a.twilioServer.Messages(), who)
	}

	// Not logged in: a page view is sent to the login page; a post is refused.
	anon := newUser(t, base)
	p := anon.get("/admin/smtp")
	assert.Equal(t, base+"/login?return_to=%2Fadmin%2Fsmtp", p.url)
	assert.Contains(t, p.body, "Log in directly")
	for name, do := range adminRequests(t, a, anon) {
		if strings.HasPrefix(name, "GET") {
			continue
		}
		assert.Equal(t, http.StatusForbidden, do().status, name)
	}

	// A wrong break-glass password logs nobody in.
	p = anon.post("/login", url.Values{"password": {"wrong"}})
	assert.Equal(t, http.StatusUnauthorized, p.status)
	assert.Contains(t, p.body, "Wrong password")
	p = anon.post("/login", url.Values{"password": {""}})
	assert.Equal(t, http.StatusUnauthorized, p.status)
	assert.Equal(t, base+"/login?return_to=%2Fadmin%2Fsaml", anon.get("/admin/saml").url)

	// bob, logged in by SAML, is not a site admin.
	bob := newUser(t, base)
	bob.samlLogin("bob@example.com", "acme-developers")
	refused("bob", bob)
	assert.NotContains(t, bob.get("/").body, `href="/admin/saml">SAML</a>`)

	// carol is one while the IdP says so, and no longer after a login
	// without the role.
	carol := newUser(t, base)
	carol.samlLogin("carol@example.com", "site-admins")
	for name, do := range adminRequests(t, a, carol) {
		if strings.HasPrefix(name, "GET") {
			assert.Equal(t, http.StatusOK, do().status, "carol: %s", name)
		}
	}
	carol.samlLogin("carol@example.com")
	refused("carol, revoked", carol)

	// The break-glass login reaches every page and test button.
	admin := newUser(t, base)
	admin.breakGlass()
	for name, do := range adminRequests(t, a, admin) {
		assert.Equal(t, http.StatusOK, do().status, "break-glass: %s", name)
	}
	assert.Len(t, a.smtpServer.Messages(), 1)
	assert.Len(t, a.twilioServer.Messages(), 1)

	// Its logout ends it.
	admin.post("/logout", nil)
	assert.Equal(t, http.StatusForbidden, admin.post("/admin/smtp", url.Values{"action": {"test"}}).status)
}

// A test run with a new, unsaved password or auth token keeps what was
// typed in its field and says that nothing is saved, so that the next
// Save stores what was typed and tested, not silently the old secret.
func TestUnsavedSecretsKept(t *testing.T) {
	t.Parallel()
	a, base := startApp(t)
	b := newUser(t, base)
	b.breakGlass()

	form := settingsForm(t, b.get("/admin/smtp").body)
	form.Set("password", "s3cret-typed")
	form.Set("action", "test")
	form.Set("test-to", "admin@example.com")
	p := b.post("/admin/smtp", form)
	assert.Contains(t, p.body, `name="password" id="f-password" aria-invalid="true" value="s3cret-typed"`) // the failed step's field
	assert.Contains(t, p.body, "which keeps the password you typed")
	a.mu.RLock()
	assert.Equal(t, "app-password", a.smtpSet.Password.Reveal())
	a.mu.RUnlock()
	// The failure is told once, in its step.
	assert.Equal(t, 1, strings.Count(p.body, "535"), p.body)
	// Save, as the page now stands, stores what was typed.
	form = settingsForm(t, p.body)
	form.Set("action", "save")
	p = b.post("/admin/smtp", form)
	assert.Contains(t, p.body, `id="saved"`)
	assert.NotContains(t, p.body, "s3cret-typed")
	a.mu.RLock()
	assert.Equal(t, "s3cret-typed", a.smtpSet.Password.Reveal())
	a.mu.RUnlock()

	form = settingsForm(t, b.get("/admin/twilio").body)
	form.Set("auth-token", "0123456789abcdef0123456789abcdef")
	form.Set("action", "test")
	form.Set("test-to", "+14155550123")
	p = b.post("/admin/twilio", form)
	assert.Contains(t, p.body, `value="0123456789abcdef0123456789abcdef"`)
	assert.Contains(t, p.body, "The test used the settings in this form")
	assert.Contains(t, p.body, "which keeps the auth token you typed")
	assert.Equal(t, 1, strings.Count(p.body, "error 20003"), p.body)
	form = settingsForm(t, p.body)
	form.Set("action", "save")
	b.post("/admin/twilio", form)
	a.mu.RLock()
	assert.Equal(t, "0123456789abcdef0123456789abcdef", a.twilio.AuthToken.Reveal())
	a.mu.RUnlock()

	// A key typed into SAML settings that do not save stays in its field.
	form = settingsForm(t, b.get("/admin/saml").body)
	form.Set("sp-private-key", "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
	p = b.post("/admin/saml", form)
	assert.Contains(t, p.body, `<a href="#f-sp-private-key">SP private key (PEM)</a>`)
	assert.Contains(t, p.body, "not a key")
}

// Problems of a test are named by label and marked, once.
func TestTestProblems(t *testing.T) {
	t.Parallel()
	_, base := startApp(t)
	b := newUser(t, base)
	b.breakGlass()
	form := settingsForm(t, b.get("/admin/twilio").body)
	form.Set("action", "test")
	form.Set("test-to", "4155550123")
	p := b.post("/admin/twilio", form)
	assert.Contains(t, p.body, "The test did not run: one field needs fixing.")
	assert.Contains(t, p.body, `<a href="#f-to">Send Test SMS to</a>: `)
	assert.Contains(t, p.body, `name="test-to" id="f-to" aria-invalid="true" value="4155550123"`)
	assert.NotContains(t, p.body, `id="test-result"`)

	form = settingsForm(t, b.get("/admin/smtp").body)
	form.Set("action", "test")
	form.Set("port", "0")
	form.Set("test-to", "not an address")
	p = b.post("/admin/smtp", form)
	// Another port is another server: the saved password is not sent there.
	assert.Contains(t, p.body, "The test did not run: 3 fields need fixing.")
	assert.Contains(t, p.body, `<a href="#f-port">Port</a>: must be between 1 and 65535`)
	assert.Contains(t, p.body, `<a href="#f-password">Password</a>: `+retypeSecret)
	assert.Contains(t, p.body, `<a href="#f-to">Send test email to</a>: `)
	assert.Equal(t, 1, strings.Count(p.body, "must be between 1 and 65535"))
	assert.NotContains(t, p.body, `id="test-result"`)
}

// The SAML page shows what the IdP metadata put in effect, and each
// algorithm once.
func TestSAMLPage(t *testing.T) {
	t.Parallel()
	_, base := startApp(t)
	b := newUser(t, base)
	p := b.breakGlass()
	effect, _, _ := strings.Cut(p.body[strings.Index(p.body, `id="in-effect"`):], "</table>")
	assert.Contains(t, effect, "read from the IdP metadata")
	assert.Contains(t, effect, "<code>"+base+"/idp/metadata</code>")
	assert.Contains(t, effect, "<code>"+base+"/idp/sso (HTTP-Redirect)</code>")
	assert.Contains(t, effect, "<code>"+base+"/idp/slo (HTTP-Redirect)</code>")
	assert.Regexp(t, `<code>CN=[^<]*/idp/metadata,O=samltest</code>, until 20\d\d-\d\d-\d\d [0-9:]+ UTC: <span class="ok">valid for \d+ more days`, effect)

	for _, sel := range []string{"signature-method", "digest-method"} {
		m := regexp.MustCompile(`(?s)<select name="` + sel + `"[^>]*>(.*?)</select>`).FindStringSubmatch(p.body)
		require.NotNil(t, m, sel)
		assert.Equal(t, 1, strings.Count(m[1], "SHA256"), sel)
		assert.Equal(t, 4, strings.Count(m[1], "<option"), sel)
		assert.Contains(t, m[1], `<option value="SHA1">SHA1 (weak`, sel)
		assert.Contains(t, m[1], `<option value="" selected>SHA256 (default)`, sel)
	}
	assert.Contains(t, p.body, `<a href="/saml/metadata" download="sp-metadata.xml">`)
	assert.Contains(t, p.body, `<a href="/idp/metadata" download="idp-metadata.xml">`)
}

// With SAML off, nobody is offered an SSO login, the pages say where to
// turn it on, and the break-glass login still reaches the admin pages.
func TestSAMLOff(t *testing.T) {
	t.Parallel()
	_, base := startApp(t)
	b := newUser(t, base)
	form := settingsForm(t, b.breakGlass().body)
	form.Del("enabled")
	require.Contains(t, b.post("/admin/saml", form).body, `id="saved"`)

	anon := newUser(t, base)
	home := anon.get("/")
	assert.NotContains(t, home.body, "Log in with SSO")
	assert.NotContains(t, home.body, "/saml/login")
	assert.Contains(t, home.body, `<a href="/admin/saml">SAML settings page</a>`)
	login := anon.get("/login")
	assert.NotContains(t, login.body, "Log in with SSO")
	off := anon.get("/saml/login")
	assert.Equal(t, http.StatusServiceUnavailable, off.status)
	assert.Contains(t, off.body, `<a href="/admin/saml">SAML settings</a>`)
	assert.NotContains(t, anon.get("/diff").body, "/saml/login")

	p := b.get("/admin/saml")
	assert.Contains(t, p.body, "Single sign-on is off: no identity provider is in effect.")
	assert.NotContains(t, p.body, `href="/saml/metadata"`)
}

var (
	tag       = regexp.MustCompile(`(?s)<(input)\b([^>]*)>()|<(textarea|select)\b([^>]*)>(.*?)</(?:textarea|select)>`)
	attribute = regexp.MustCompile(`([a-z-]+)(?:="([^"]*)")?`)
	selected  = regexp.MustCompile(`<option value="([^"]*)" selected>`)
)

// settingsForm reads the current values of a settings page's form, as a
// browser would submit it unchanged (test boxes and buttons aside).
func settingsForm(t *testing.T, body string) url.Values {
	t.Helper()
	form := url.Values{}
	for _, m := range tag.FindAllStringSubmatch(body, -1) {
		if m[1] == "" { // textarea or select
			m = append(m[:1], m[4:7]...)
		}
		attrs := map[string]string{}
		for _, a := range attribute.FindAllStringSubmatch(m[2], -1) {
			attrs[a[1]] = html.UnescapeString(a[2])
		}
		name := attrs["name"]
		switch {
		case name == "" || name == "test-to":
		case m[1] == "textarea":
			form.Set(name, html.UnescapeString(m[3]))
		case m[1] == "select":
			if s := selected.FindStringSubmatch(m[3]); s != nil {
				form.Set(name, html.UnescapeString(s[1]))
			}
		case attrs["type"] == "checkbox":
			if _, ok := attrs["checked"]; ok {
				form.Set(name, "on")
			}
		default:
			form.Set(name, attrs["value"])
		}
	}
	return form
}

func TestRunRefusesNonLoopback(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	env := func(string) string { return "" }
	assert.ErrorContains(t, run([]string{"-addr", "0.0.0.0:0"}, env, &out, &out), "loopback")
	assert.ErrorContains(t, run([]string{"-addr", "example.com:80"}, env, &out, &out), "loopback")
	assert.Error(t, run([]string{"-addr", "nonsense"}, env, &out, &out))
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
		// The received XML is shown indented, one element per line.
		assert.Regexp(t, `<h3>Received XML</h3><pre>&lt;\?xml [^\n]*\n&lt;saml2p:Response [^\n]*&gt;\n  &lt;saml2:Issuer[^\n]*&lt;/saml2:Issuer&gt;\n`, p.body, brk)
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
