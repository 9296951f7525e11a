package samlsp_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/mapping"
	"github.com/siteadmin/integrations/mapping/mappingtest"
	"github.com/siteadmin/integrations/saml"
	"github.com/siteadmin/integrations/saml/samlsp"
	"github.com/siteadmin/integrations/saml/samltest"
)

// pysaml2Python returns a Python interpreter that can import pysaml2, or
// skips the test saying how to get one; with CI=true a missing pysaml2 is
// a failure, since CI installs it. Debian's python3-pysaml2 installs for
// /usr/bin/python3, which need not be the python3 first on PATH.
func pysaml2Python(t *testing.T) string {
	t.Helper()
	candidates := []string{"/usr/bin/python3"}
	if p, err := exec.LookPath("python3"); err == nil {
		candidates = append(candidates, p)
	}
	for _, python := range candidates {
		out, err := exec.Command(python, "-c", "import saml2, sys; sys.stdout.write(saml2.__version__ if hasattr(saml2, '__version__') else 'ok')").Output()
		if err == nil && len(out) > 0 {
			if _, err := exec.LookPath("xmlsec1"); err == nil {
				return python
			}
		}
	}
	msg := "pysaml2 (with xmlsec1) is not installed for /usr/bin/python3 or python3 on PATH: apt-get install python3-pysaml2"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI installs it in .ci/run, so this is a failure)")
	}
	t.Skip(msg)
	return ""
}

// pyIdP is pysaml2's Server run as an IdP on loopback by
// testdata/pysaml2_idp.py.
type pyIdP struct {
	URL      string
	Metadata []byte
}

// pyUser is a user of the pysaml2 IdP.
type pyUser struct {
	Password   string              `json:"password"`
	NameID     string              `json:"name_id"`
	Attributes map[string][]string `json:"attributes"`
}

// startPyIdP starts the pysaml2 IdP with a signing key made here and the
// users, and stops it when the test ends.
func startPyIdP(t *testing.T, python string, users map[string]pyUser) *pyIdP {
	t.Helper()
	dir := t.TempDir()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	now := time.Now()
	cert, err := samltest.NewCertificate(key, "pysaml2 test IdP", now.Add(-time.Hour), now.Add(24*time.Hour))
	require.NoError(t, err)
	keyFile, certFile := filepath.Join(dir, "idp.key"), filepath.Join(dir, "idp.crt")
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600))
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600))
	cfg, err := json.Marshal(map[string]any{"key_file": keyFile, "cert_file": certFile, "users": users})
	require.NoError(t, err)
	cfgFile := filepath.Join(dir, "idp.json")
	require.NoError(t, os.WriteFile(cfgFile, cfg, 0o600))

	cmd := exec.Command(python, filepath.Join("testdata", "pysaml2_idp.py"), cfgFile)
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1") // no __pycache__ in testdata
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr lockedBuffer // written by the IdP while the test reads it
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		stdin.Close() // the script's signal to stop
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() && stderr.String() != "" {
			t.Logf("pysaml2 IdP stderr:\n%s", stderr.String())
		}
	})

	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- line
		_, _ = io.Copy(io.Discard, stdout)
	}()
	var line string
	select {
	case line = <-ready:
	case <-time.After(60 * time.Second):
		t.Fatalf("the pysaml2 IdP did not start within 60s; stderr:\n%s", stderr.String())
	}
	var hello struct{ URL string }
	require.NoError(t, json.Unmarshal([]byte(line), &hello), "the IdP's first line %q; stderr:\n%s", line, stderr.String())
	idp := &pyIdP{URL: hello.URL}
	res, err := http.Get(idp.URL + "/metadata")
	require.NoError(t, err)
	defer res.Body.Close()
	idp.Metadata, err = io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", idp.Metadata)
	return idp
}

// registerSP uploads the SP's metadata to the IdP, as an admin does.
func (p *pyIdP) registerSP(t *testing.T, metadata []byte) {
	t.Helper()
	res, err := http.Post(p.URL+"/admin/sp-metadata", "application/samlmetadata+xml", strings.NewReader(string(metadata)))
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusNoContent, res.StatusCode, "%s", body)
}

// pyHost is a host application around the SDK's Handler on a real HTTP
// server: its sessions are cookies, its directory a mappingtest.Store.
type pyHost struct {
	srv     *httptest.Server
	sp      *saml.ServiceProvider
	handler *samlsp.Handler
	store   *mappingtest.Store

	mu       sync.Mutex
	sessions map[string]*samlsp.Login // host_session cookie -> its login
	logins   []*samlsp.Login          // every login, in order
	ended    []*saml.LogoutRequest    // the IdP's logout requests
}

// newPyHost starts a host whose service provider trusts the IdP's
// metadata; trust, when not nil, changes the IdP it trusts.
func newPyHost(t *testing.T, idp *pyIdP, trust func(*saml.IdentityProvider)) *pyHost {
	t.Helper()
	h := &pyHost{store: mappingtest.NewStore(), sessions: map[string]*samlsp.Login{}}
	for _, team := range []mapping.Team{
		{ID: "acme-owners", Org: "acme", Name: "owners", Owners: true, SSOTeamID: "acme-owners-role", Members: 1},
		{ID: "acme-dev", Org: "acme", Name: "developers", SSOTeamID: "grp-dev"},
		{ID: "acme-legacy", Org: "acme", Name: "legacy"},
		{ID: "globex-ops", Org: "globex", Name: "ops"},
	} {
		require.NoError(t, h.store.AddTeam(team))
	}
	mux := http.NewServeMux()
	h.srv = httptest.NewServer(mux)
	t.Cleanup(h.srv.Close)

	md, err := saml.ParseIdPMetadata(idp.Metadata, "")
	require.NoError(t, err, "pysaml2's metadata")
	if trust != nil {
		trust(md)
	}
	key, cert := rsaSigner(t)
	h.sp, err = saml.NewServiceProvider(saml.Config{
		EntityID:           h.srv.URL + "/saml/metadata",
		ACSURL:             h.srv.URL + "/saml/acs",
		SLOURL:             h.srv.URL + "/saml/slo",
		IdP:                *md,
		SigningKey:         key,
		SigningCertificate: cert,
		AllowIdPInitiated:  true,
		Debug:              true,
	})
	require.NoError(t, err)
	key32 := make([]byte, 32)
	_, _ = rand.Read(key32)
	m := mapping.Config{TeamSync: true}
	h.handler, err = samlsp.NewHandler(h.sp, samlsp.HandlerConfig{
		Tracker:   &samlsp.CookieTracker{Key: key32},
		Mapping:   &m,
		Store:     h.store,
		Login:     h.login,
		Logout:    h.logout,
		IdPLogout: h.idpLogout,
	})
	require.NoError(t, err)
	mux.Handle("/saml/", h.handler)
	mux.HandleFunc("/", h.home)

	res, err := http.Get(h.srv.URL + "/saml/metadata")
	require.NoError(t, err)
	spMetadata, err := io.ReadAll(res.Body)
	res.Body.Close()
	require.NoError(t, err)
	idp.registerSP(t, spMetadata)
	return h
}

func (h *pyHost) login(ctx context.Context, w http.ResponseWriter, r *http.Request, l *samlsp.Login) error {
	id := rand.Text()
	h.mu.Lock()
	h.sessions[id] = l
	h.logins = append(h.logins, l)
	h.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: "host_session", Value: id, Path: "/", HttpOnly: true})
	return nil
}

func (h *pyHost) current(r *http.Request) (string, *samlsp.Login) {
	c, err := r.Cookie("host_session")
	if err != nil {
		return "", nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return c.Value, h.sessions[c.Value]
}

func (h *pyHost) logout(ctx context.Context, w http.ResponseWriter, r *http.Request) (*samlsp.Session, error) {
	id, l := h.current(r)
	if l == nil {
		return nil, nil
	}
	h.mu.Lock()
	delete(h.sessions, id)
	h.mu.Unlock()
	return &samlsp.Session{NameID: l.Assertion.NameID, SessionIndex: l.Assertion.SessionIndex}, nil
}

func (h *pyHost) idpLogout(ctx context.Context, req *saml.LogoutRequest) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ended = append(h.ended, req)
	for id, l := range h.sessions {
		if l.Assertion.NameID.Value == req.NameID.Value &&
			(len(req.SessionIndexes) == 0 || contains(req.SessionIndexes, l.Assertion.SessionIndex)) {
			delete(h.sessions, id)
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// home says who is signed in, and the path, so a test sees where a login
// or logout landed.
func (h *pyHost) home(w http.ResponseWriter, r *http.Request) {
	_, l := h.current(r)
	if l == nil {
		fmt.Fprintf(w, "signed out at %s", r.URL.RequestURI())
		return
	}
	fmt.Fprintf(w, "signed in as %s at %s", l.Assertion.NameID.Value, r.URL.RequestURI())
}

// pyBrowser is an HTTP client with a cookie jar that submits the forms the
// IdP and the SP answer with, as a browser would (the auto-submit forms
// of the HTTP-POST binding, and the IdP's login form).
type pyBrowser struct {
	t      *testing.T
	client *http.Client
}

func newPyBrowser(t *testing.T) *pyBrowser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &pyBrowser{t: t, client: &http.Client{Jar: jar, Timeout: 60 * time.Second}}
}

// page is a response's final URL, status and body.
type page struct {
	url    *url.URL
	status int
	body   string
}

// String is the page for a failure message: its URL, status, and the
// start of its body.
func (p page) String() string {
	body := p.body
	if len(body) > 1500 {
		body = body[:1500] + "..."
	}
	return fmt.Sprintf("%s (%d):\n%s", p.url, p.status, body)
}

// landedOn checks that p is the host's home page saying want.
func landedOn(t *testing.T, p page, want string) {
	t.Helper()
	if p.status != http.StatusOK || p.body != want {
		t.Fatalf("want %q, got %s", want, p)
	}
}

func (b *pyBrowser) do(req *http.Request) page {
	b.t.Helper()
	res, err := b.client.Do(req)
	require.NoError(b.t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(b.t, err)
	return page{url: res.Request.URL, status: res.StatusCode, body: string(body)}
}

func (b *pyBrowser) get(target string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, target, nil)
	require.NoError(b.t, err)
	return b.do(req)
}

var (
	formTag  = regexp.MustCompile(`(?is)<form\b[^>]*>`)
	inputTag = regexp.MustCompile(`(?is)<input\b[^>]*>`)
	attrRE   = regexp.MustCompile(`(?is)\b(action|name|value)\s*=\s*("[^"]*"|'[^']*')`)
)

func attrs(tag string) map[string]string {
	out := map[string]string{}
	for _, m := range attrRE.FindAllStringSubmatch(tag, -1) {
		out[strings.ToLower(m[1])] = html.UnescapeString(m[2][1 : len(m[2])-1])
	}
	return out
}

// submit posts the page's first form with its inputs, overridden by
// fields, to its action resolved against the page's URL.
func (b *pyBrowser) submit(p page, fields map[string]string) page {
	b.t.Helper()
	tag := formTag.FindString(p.body)
	require.NotEmpty(b.t, tag, "a form at %s (%d): %s", p.url, p.status, p.body)
	action, err := p.url.Parse(attrs(tag)["action"])
	require.NoError(b.t, err)
	form := url.Values{}
	for _, in := range inputTag.FindAllString(p.body, -1) {
		if a := attrs(in); a["name"] != "" {
			form.Set(a["name"], a["value"])
		}
	}
	for k, v := range fields {
		form.Set(k, v)
	}
	req, err := http.NewRequest(http.MethodPost, action.String(), strings.NewReader(form.Encode()))
	require.NoError(b.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// TestPySAML2 logs users in and out of the SDK's Handler through pysaml2,
// an independent SAML implementation, as the IdP: SP- and IdP-initiated
// login with team sync from the Username, MemberOf, SiteAdmin and
// IsServiceAccount attributes, and single logout started at either side.
func TestPySAML2(t *testing.T) {
	t.Parallel()
	python := pysaml2Python(t)
	users := map[string]pyUser{
		"alice": {Password: "alice-pw", NameID: "alice@example.com", Attributes: map[string][]string{
			"Username": {"alice"}, "MemberOf": {"acme-owners-role", "grp-dev", "no-such-team"},
			"SiteAdmin": {"true"}, "IsServiceAccount": {"false"},
		}},
		"robot": {Password: "robot-pw", NameID: "robot@example.com", Attributes: map[string][]string{
			"Username": {"deploy-bot"}, "MemberOf": {"ops"}, "SiteAdmin": {"false"}, "IsServiceAccount": {"true"},
		}},
	}
	idp := startPyIdP(t, python, users)
	host := newPyHost(t, idp, nil)

	t.Run("SP-initiated login with team sync", func(t *testing.T) {
		b := newPyBrowser(t)
		form := b.get(host.srv.URL + "/saml/login?return_to=/projects")
		require.Contains(t, form.body, `id="login"`, "the IdP asks for the password: %s", form)
		assert.Equal(t, "/sso/redirect", form.url.Path, "the AuthnRequest went by HTTP-Redirect")
		assert.NotEmpty(t, form.url.Query().Get("Signature"), "the SP signs its AuthnRequest")

		post := b.submit(form, map[string]string{"username": "alice", "password": "alice-pw"})
		landed := b.submit(post, nil) // the IdP's auto-submit form to the ACS
		landedOn(t, landed, "signed in as alice@example.com at /projects")

		l := host.latest()
		require.NotNil(t, l)
		a := l.Assertion
		assert.Equal(t, idp.URL+"/metadata", a.Issuer)
		assert.Equal(t, "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress", a.NameID.Format)
		assert.NotEmpty(t, a.InResponseTo)
		assert.NotEmpty(t, a.SessionIndex)
		require.NotNil(t, l.Diff)
		d := l.Diff
		assert.True(t, d.NewUser)
		assert.Equal(t, &mapping.StringChange{To: "alice", Reason: mapping.ReasonUsernameAttribute}, d.Username)
		assert.Equal(t, &mapping.BoolChange{To: true, Reason: mapping.ReasonSiteAdminAttribute}, d.SiteAdmin)
		assert.Nil(t, d.ServiceAccount, "IsServiceAccount false changes nothing for a new user")
		assert.Equal(t, []mapping.TeamAdd{
			{Team: "acme-dev", Org: "acme", Name: "developers", MatchedBy: mapping.MatchSSOTeamID, Value: "grp-dev"},
			{Team: "acme-owners", Org: "acme", Name: "owners", MatchedBy: mapping.MatchOwnersRoleID, Value: "acme-owners-role"},
		}, d.Add)
		assert.Equal(t, []mapping.IgnoredValue{{Attribute: "MemberOf", Value: "no-such-team", Reason: mapping.ReasonUnknownTeam}}, d.Ignored)

		u := host.user(t, "alice")
		assert.True(t, u.SiteAdmin)
		assert.False(t, u.ServiceAccount)
		assert.ElementsMatch(t, []string{"acme-dev", "acme-owners"}, teamIDsOf(u.Teams))

		// Logging in again, on the IdP's session, asks for no password
		// and changes nothing.
		again := b.submit(b.get(host.srv.URL+"/saml/login"), nil)
		landedOn(t, again, "signed in as alice@example.com at /")
		l = host.latest()
		assert.True(t, l.Diff.Empty(), "%s", l.Diff)
	})

	t.Run("IdP-initiated login with team sync", func(t *testing.T) {
		b := newPyBrowser(t)
		q := url.Values{"sp": {host.sp.Config().EntityID}, "RelayState": {"/dashboard"}}
		form := b.get(idp.URL + "/sso/unsolicited?" + q.Encode())
		require.Contains(t, form.body, `id="login"`, "%s", form)
		post := b.submit(form, map[string]string{"username": "robot", "password": "robot-pw"})
		landed := b.submit(post, nil)
		landedOn(t, landed, "signed in as robot@example.com at /dashboard") // the IdP's RelayState

		l := host.latest()
		require.NotNil(t, l)
		assert.Empty(t, l.Assertion.InResponseTo, "unsolicited")
		d := l.Diff
		assert.Equal(t, &mapping.StringChange{To: "deploy-bot", Reason: mapping.ReasonUsernameAttribute}, d.Username)
		assert.Equal(t, &mapping.BoolChange{To: true, Reason: mapping.ReasonServiceAccountAttribute}, d.ServiceAccount)
		assert.Nil(t, d.SiteAdmin)
		assert.Equal(t, []mapping.TeamAdd{{Team: "globex-ops", Org: "globex", Name: "ops", MatchedBy: mapping.MatchName, Value: "ops"}}, d.Add)
		u := host.user(t, "deploy-bot")
		assert.True(t, u.ServiceAccount)
		assert.ElementsMatch(t, []string{"globex-ops"}, teamIDsOf(u.Teams))
	})

	t.Run("SP-initiated single logout", func(t *testing.T) {
		b := newPyBrowser(t)
		landed := b.submit(b.submit(b.get(host.srv.URL+"/saml/login"), map[string]string{"username": "alice", "password": "alice-pw"}), nil)
		landedOn(t, landed, "signed in as alice@example.com at /")

		req, err := http.NewRequest(http.MethodPost, host.srv.URL+"/saml/logout", nil)
		require.NoError(t, err)
		req.Header.Set("Origin", host.srv.URL)
		out := b.do(req) // SP -> IdP LogoutRequest -> SP LogoutResponse -> home
		landedOn(t, out, "signed out at /")
		assert.Equal(t, host.srv.URL, "http://"+out.url.Host, "back at the SP after the IdP's LogoutResponse was verified")

		// The IdP ended its session too: the next login asks again.
		form := b.get(host.srv.URL + "/saml/login")
		assert.Contains(t, form.body, `id="login"`, "%s", form)
	})

	t.Run("IdP-initiated single logout", func(t *testing.T) {
		b := newPyBrowser(t)
		landed := b.submit(b.submit(b.get(host.srv.URL+"/saml/login"), map[string]string{"username": "alice", "password": "alice-pw"}), nil)
		landedOn(t, landed, "signed in as alice@example.com at /")
		l := host.latest()
		index := l.Assertion.SessionIndex

		out := b.get(idp.URL + "/slo/initiate") // IdP -> SP LogoutRequest -> IdP LogoutResponse
		require.Equal(t, http.StatusOK, out.status, "%s", out)
		assert.Contains(t, out.body, `<p id="slo">logged out of `+host.sp.Config().EntityID+`</p>`,
			"pysaml2 verified the SP's signed LogoutResponse with status Success")
		ended := host.lastEnded()
		require.NotNil(t, ended)
		assert.Equal(t, "alice@example.com", ended.NameID.Value)
		assert.Equal(t, []string{index}, ended.SessionIndexes)
		assert.Equal(t, saml.BindingHTTPRedirect, ended.Binding)
		landedOn(t, b.get(host.srv.URL+"/"), "signed out at /")
	})

	t.Run("a response the SP must refuse is refused", func(t *testing.T) {
		// A second SP that trusts another certificate for the same IdP:
		// pysaml2's signature cannot verify, and the login fails.
		other, err := rsa.GenerateKey(rand.Reader, 2048)
		require.NoError(t, err)
		now := time.Now()
		cert, err := samltest.NewCertificate(other, "not the IdP", now.Add(-time.Hour), now.Add(time.Hour))
		require.NoError(t, err)
		wrong := newPyHost(t, idp, func(md *saml.IdentityProvider) { md.Certificates = []*x509.Certificate{cert} })
		b := newPyBrowser(t)
		failed := b.submit(b.submit(b.get(wrong.srv.URL+"/saml/login"), map[string]string{"username": "alice", "password": "alice-pw"}), nil)
		assert.Equal(t, http.StatusForbidden, failed.status, "%s", failed)
		assert.Contains(t, failed.body, "<code>signature</code>", "%s", failed)
		l := wrong.latest()
		assert.Nil(t, l, "no session")
	})
}

// latest returns the most recent login, or nil.
func (h *pyHost) latest() *samlsp.Login {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.logins) == 0 {
		return nil
	}
	return h.logins[len(h.logins)-1]
}

func (h *pyHost) lastEnded() *saml.LogoutRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.ended) == 0 {
		return nil
	}
	return h.ended[len(h.ended)-1]
}

func (h *pyHost) user(t *testing.T, username string) mapping.User {
	t.Helper()
	for _, u := range h.store.Users() {
		if u.Username == username {
			return u
		}
	}
	t.Fatalf("no user %q in the store", username)
	return mapping.User{}
}

func teamIDsOf(teams []mapping.Team) []string {
	ids := make([]string, len(teams))
	for i, t := range teams {
		ids[i] = t.ID
	}
	return ids
}
