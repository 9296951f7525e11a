package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"database/sql"
	"encoding/pem"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/siteadmin/integrations"
	"github.com/siteadmin/integrations/examples/internal/demo"
	"github.com/siteadmin/integrations/mapping"
	"github.com/siteadmin/integrations/mapping/mappingtest"
	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/saml"
	"github.com/siteadmin/integrations/saml/samlsp"
	"github.com/siteadmin/integrations/saml/samltest"
	"github.com/siteadmin/integrations/smtpx"
	"github.com/siteadmin/integrations/smtpx/smtptest"
	"github.com/siteadmin/integrations/twilio"
	"github.com/siteadmin/integrations/twilio/twiliotest"
)

// appConfig is what newApp needs.
type appConfig struct {
	// BaseURL is the app's own URL, such as "http://127.0.0.1:8000",
	// without a trailing slash.
	BaseURL string
	// BreakGlassPassword logs a browser in directly as a site admin,
	// whatever the SAML settings are. Required.
	BreakGlassPassword string
	// Now is the clock of the send limits and of the test SMS log, so
	// that tests can stand inside one limit window. Default: time.Now.
	Now func() time.Time
	// DB, when set, holds what every instance of the app on it shares
	// (see pg.go): the directory, the replay cache, the outbox and its
	// Deliverer, the keys, the invitations. Default: nil, all in memory.
	DB *sql.DB
	// OutboxPoll is how long this instance's Deliverer waits before it
	// looks at the outbox again when nothing was due. Default 1s.
	OutboxPoll time.Duration
	// Logger receives the Deliverer's lines and those of the metadata
	// alerts. Default slog.Default().
	Logger *slog.Logger
}

// app is the whole web application: the service provider and its handler,
// the embedded test IdP, the directory, the sessions, and the settings
// with the fakes they point at by default. It is an http.Handler.
type app struct {
	base  string
	host  string // the host and port of base, the only Host the app answers
	mux   *http.ServeMux
	root  http.Handler // mux, behind the cross-origin check
	pages *template.Template

	breakGlass string

	idp     *samltest.IdP
	spKey   *rsa.PrivateKey
	spCert  *x509.Certificate
	replay  saml.ReplayCache
	tracker *samlsp.CookieTracker
	dir     directory

	log *slog.Logger
	// With a database (pg.go): the shared stores, and this instance's
	// Deliverer with the mailer it sends through.
	pg            *pgParts
	outboxMailer  *savedSMTPMailer
	stopDeliverer func()

	smtpServer   *smtptest.Server
	twilioServer *twiliotest.Server

	now     func() time.Time
	limiter *notify.Limiter // the send limits of "Send Test SMS"
	testSMS *testSMSLog     // the test SMS sent, with Twilio's reports

	mu       sync.RWMutex
	samlSet  samlsp.Settings
	sp       *saml.ServiceProvider
	handler  http.Handler
	smtpSet  smtpx.Settings
	twilio   twilio.Settings
	sessions sessionStore

	// With an IdP metadata URL (metadata.go), also under mu.
	source     *saml.MetadataSource
	stopSource context.CancelFunc
	alerter    *saml.Alerter // the SAML page's expiry alerts, logged

	// statusHandler verifies Twilio's status callbacks with the saved
	// auth token (and the one it replaced, until prevTokenExpires); nil
	// while the saved settings have none.
	statusHandler    *twilio.StatusHandler
	prevToken        integrations.Secret
	prevTokenExpires time.Time
}

// session is one logged-in browser: a SAML login, or a break-glass one.
type session struct {
	BreakGlass   bool // logged in with the break-glass password, not SAML
	NameID       saml.NameID
	SessionIndex string
	Attributes   saml.Attributes
	Diff         string // the explained Diff of the login
	DiffEmpty    bool
	Via          string // "SP-initiated" or "IdP-initiated"
}

const sessionCookie = "webapp_session"

// newApp builds the app: a test IdP at /idp/, the service provider at
// /saml/ (trusting the IdP through its metadata, signing its requests),
// a directory with two organizations, and SMTP and Twilio fakes.
func newApp(cfg appConfig) (*app, error) {
	base := strings.TrimSuffix(cfg.BaseURL, "/")
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("BaseURL %q is not an absolute URL", cfg.BaseURL)
	}
	if cfg.BreakGlassPassword == "" {
		return nil, errors.New("a break-glass password is required")
	}
	a := &app{base: base, host: u.Host, breakGlass: cfg.BreakGlassPassword, mux: http.NewServeMux(), sessions: &memSessions{},
		now: cfg.Now, testSMS: &testSMSLog{}, log: cfg.Logger}
	if a.now == nil {
		a.now = time.Now
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.alerter, err = saml.NewAlerter(saml.AlerterConfig{Logger: a.log}); err != nil {
		return nil, err
	}
	if a.pages, err = template.New("pages").Funcs(template.FuncMap{"join": strings.Join, "invalid": invalid, "selected": methodSelected,
		"clock": clock, "stamp": stamp, "stateClass": stateClass, "limitText": limitText}).Parse(pagesHTML); err != nil {
		return nil, err
	}
	var keys sharedKeys
	if cfg.DB != nil {
		if a.pg, err = newPGParts(context.Background(), cfg.DB, base, a.log); err != nil {
			return nil, err
		}
		keys, a.replay, a.dir = a.pg.keys, a.pg.replay, a.pg.dir
		if a.sessions, err = newPGSessions(context.Background(), cfg.DB); err != nil {
			return nil, err
		}
	} else {
		if keys, err = newSharedKeys(base); err != nil {
			return nil, err
		}
		mem, err := demo.Directory()
		if err != nil {
			return nil, err
		}
		a.replay, a.dir = saml.NewMemoryReplayCache(0), memDirectory{mem}
	}
	a.idp, err = samltest.New(
		samltest.WithEntityID(base+"/idp/metadata"),
		samltest.WithSSOURL(base+"/idp/sso"),
		samltest.WithSLOURL(base+"/idp/slo"),
		samltest.WithKey(keys.idpKey),
		samltest.WithCertificate(keys.idpCert),
	)
	if err != nil {
		return nil, err
	}
	a.spKey, a.spCert = keys.spKey, keys.spCert
	a.tracker = &samlsp.CookieTracker{Key: keys.trackerKey, Path: "/saml/"}
	keyDER, err := x509.MarshalPKCS8PrivateKey(a.spKey)
	if err != nil {
		return nil, err
	}
	settings := samlsp.Settings{
		Enabled:             true,
		IdPMetadata:         string(a.idp.Metadata()),
		AuthnRequestsSigned: true,
		SPCertificate:       string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.spCert.Raw})),
		SPPrivateKey:        integrations.Secret(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})),
		AllowIdPInitiated:   true,
		TeamSync:            true,
	}
	if err := a.applySAML(settings); err != nil {
		return nil, err
	}

	a.smtpServer = smtptest.NewServer(smtptest.Config{Username: "app", Password: "app-password"})
	a.smtpSet = smtpx.Settings{
		Enabled: true, Sender: "noreply@app.example.com",
		Host: a.smtpServer.Host(), Port: a.smtpServer.Port(),
		Authentication: smtpx.AuthPlain, Username: "app", Password: "app-password",
	}
	a.twilioServer = twiliotest.NewServer()
	// The SDK's default limits, those a host ships for two-factor codes:
	// the sixth test SMS to one number within a clock hour is refused.
	// With PostgreSQL every instance counts in one table.
	limits := notify.LimiterConfig{Now: a.now}
	if a.pg != nil {
		limits.Counter = a.pg.counter
	}
	if a.limiter, err = notify.NewLimiter(limits); err != nil {
		return nil, err
	}
	if err := a.saveTwilio(a.twilioServer.Settings()); err != nil {
		return nil, err
	}
	if a.pg != nil {
		if err := a.startDeliverer(cfg.OutboxPoll); err != nil {
			return nil, err
		}
	}

	a.routes()
	return a, nil
}

// startDeliverer runs this instance's Deliverer on the shared outbox until
// Close: every instance runs one, and the outbox's leases keep any two
// from sending one message at once.
func (a *app) startDeliverer(poll time.Duration) error {
	a.outboxMailer = &savedSMTPMailer{a: a, log: a.log}
	d, err := notify.NewDeliverer(notify.DelivererConfig{
		Outbox: a.pg.outbox, Mailer: a.outboxMailer,
		PollInterval: cmp.Or(poll, time.Second),
		Logger:       a.log,
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = d.Run(ctx) // returns once ctx is cancelled and its sends are acknowledged
	}()
	a.stopDeliverer = func() { cancel(); <-done }
	return nil
}

// Close stops the Deliverer, the SMTP and Twilio fakes and the metadata
// refreshes.
func (a *app) Close() {
	if a.stopDeliverer != nil {
		a.stopDeliverer()
		a.outboxMailer.Close()
	}
	a.runSource(nil)
	a.smtpServer.Close()
	a.twilioServer.Close()
}

// ServeHTTP implements http.Handler, with headers every page gets.
//
// It answers only requests for its own host (that of BaseURL). A browser
// that opened http://localhost:PORT/ instead of http://127.0.0.1:PORT/ is
// sent to the right one first: the SAML messages name BaseURL, so a login
// started on another host name would keep its request cookie there and
// fail at the ACS. Any other Host (such as a DNS-rebinding page's) is
// refused, since its test IdP logs anyone in as anyone.
func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	if !strings.EqualFold(r.Host, a.host) {
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && isLoopbackHost(r.Host) {
			http.Redirect(w, r, a.base+r.URL.RequestURI(), http.StatusFound)
			return
		}
		a.render(w, r, http.StatusMisdirectedRequest, "message", map[string]any{
			"Title": "Wrong address", "Text": "This app answers only at " + a.base + "/.", "Link": a.base + "/", "LinkText": a.base + "/",
		})
		return
	}
	a.root.ServeHTTP(w, r)
}

// isLoopbackHost reports whether hostport names this machine: "localhost"
// or a loopback address, with or without a port.
func isLoopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (a *app) routes() {
	// Form posts from other sites are refused on every path but the SAML
	// endpoints: the IdP posts to the ACS from its own site by design
	// (what it posts is signed), and the Handler checks its logout itself.
	sameSite := http.NewCrossOriginProtection()
	sameSite.AddInsecureBypassPattern("/saml/")
	sameSite.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.render(w, r, http.StatusForbidden, "message", map[string]any{
			"Title": "Post refused", "Text": "This form was posted from another site.",
		})
	}))
	a.root = sameSite.Handler(a.mux)
	a.mux.Handle("/saml/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.RLock()
		h := a.handler
		a.mu.RUnlock()
		if h == nil {
			a.render(w, r, http.StatusServiceUnavailable, "message", map[string]any{
				"Title": "SAML is off", "Text": "Single sign-on is turned off on the SAML settings page.",
				"Link": "/admin/saml", "LinkText": "SAML settings",
			})
			return
		}
		h.ServeHTTP(w, r)
	}))
	a.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		a.render(w, r, http.StatusNotFound, "message", map[string]any{"Title": "Not found", "Text": "There is no page at " + r.URL.Path + "."})
	})
	a.mux.HandleFunc("GET /{$}", a.home)
	a.mux.HandleFunc("GET /diff", a.diff)
	a.mux.HandleFunc("GET /login", a.loginPage)
	a.mux.HandleFunc("POST /login", a.loginPage)
	a.mux.HandleFunc("POST /logout", a.logoutLocal)
	a.mux.HandleFunc("GET /idp/metadata", a.idpMetadata)
	a.mux.HandleFunc("/idp/sso", a.idpSSO)
	a.mux.HandleFunc("/idp/slo", a.idpSLO)
	a.mux.HandleFunc("POST /idp/logout", a.idpLogout)
	for path, page := range map[string]http.HandlerFunc{"/admin/saml": a.adminSAML, "/admin/smtp": a.adminSMTP, "/admin/twilio": a.adminTwilio} {
		a.mux.HandleFunc("GET "+path, a.requireAdmin(page))
		a.mux.HandleFunc("POST "+path, a.requireAdmin(page))
	}
	if a.pg != nil {
		a.mux.HandleFunc("GET /admin/invitations", a.requireAdmin(a.adminInvitations))
		a.mux.HandleFunc("POST /admin/invitations", a.requireAdmin(a.adminInvitations))
	}
	a.mux.HandleFunc("POST /admin/saml/refresh", a.requireAdmin(a.refreshMetadata))
	a.mux.HandleFunc("GET /admin/twilio/status", a.requireAdminJSON(a.testSMSStatus))
	// Twilio's status callbacks pass the cross-origin check as any
	// server-to-server post does: they carry neither Sec-Fetch-Site nor
	// Origin. Their signature is what admits them.
	a.mux.HandleFunc(statusPath, a.twilioCallback)
}

// applySAML validates settings and, when SAML is enabled, builds the
// service provider and its handler from them.
func (a *app) applySAML(s samlsp.Settings) error {
	if err := s.Validate(); err != nil {
		return err
	}
	var sp *saml.ServiceProvider
	var h *samlsp.Handler
	var src *saml.MetadataSource
	if s.Enabled {
		var err error
		if s.IdPMetadataURL != "" {
			if src, err = a.metadataSource(context.Background(), &s); err != nil {
				return err
			}
		}
		sp, err = s.ServiceProvider(saml.Config{
			EntityID:       a.base + "/saml/metadata",
			ACSURL:         a.base + "/saml/acs",
			SLOURL:         a.base + "/saml/slo",
			ReplayCache:    a.replay, // shared across settings changes: a replay stays a replay
			MetadataSource: src,
		})
		if err != nil {
			return err
		}
		m := s.MappingConfig()
		h, err = samlsp.NewHandler(sp, samlsp.HandlerConfig{
			Tracker:         a.tracker,
			DefaultRedirect: "/",
			Mapping:         &m,
			Store:           a.dir,
			Login:           a.login,
			Logout:          a.logout,
			IdPLogout:       a.idpLogoutRequested,
			Metadata:        saml.MetadataOptions{NameIDFormats: []string{samltest.NameIDFormatEmail}, CacheDuration: time.Hour},
		})
		if err != nil {
			return err
		}
	}
	a.runSource(src)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.samlSet, a.sp, a.source = s, sp, src
	a.handler = nil
	if h != nil {
		a.handler = h
	}
	return nil
}

// login is the Handler's Login callback: it starts a session.
func (a *app) login(ctx context.Context, w http.ResponseWriter, r *http.Request, l *samlsp.Login) error {
	s := &session{
		NameID: l.Assertion.NameID, SessionIndex: l.Assertion.SessionIndex,
		Attributes: l.Assertion.Attributes, Via: "SP-initiated",
	}
	if l.Assertion.InResponseTo == "" {
		s.Via = "IdP-initiated"
	}
	if l.Diff != nil {
		s.Diff, s.DiffEmpty = l.Diff.String(), l.Diff.Empty()
	}
	return a.startSession(ctx, w, s)
}

// startSession remembers s under a new ID and gives the browser its
// cookie.
func (a *app) startSession(ctx context.Context, w http.ResponseWriter, s *session) error {
	id := rand.Text()
	if err := a.sessions.put(ctx, id, s); err != nil {
		return fmt.Errorf("webapp: starting the session: %w", err)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	return nil
}

// endSession forgets this browser's session, if any, and returns it.
func (a *app) endSession(w http.ResponseWriter, r *http.Request) *session {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	s, err := a.sessions.take(r.Context(), c.Value)
	if err != nil {
		a.log.ErrorContext(r.Context(), "webapp: ending a session failed", slog.String("error", err.Error()))
	}
	return s
}

// logout is the Handler's Logout callback: it ends this browser's session
// and returns its SAML session for single logout.
func (a *app) logout(ctx context.Context, w http.ResponseWriter, r *http.Request) (*samlsp.Session, error) {
	s := a.endSession(w, r)
	if s == nil || s.BreakGlass {
		return nil, nil
	}
	return &samlsp.Session{NameID: s.NameID, SessionIndex: s.SessionIndex}, nil
}

// idpLogoutRequested is the Handler's IdPLogout callback: it ends every
// session of the NameID (only the listed IdP sessions when any are).
func (a *app) idpLogoutRequested(ctx context.Context, req *saml.LogoutRequest) error {
	return a.sessions.endIdP(ctx, req.NameID.Value, req.SessionIndexes)
}

// current returns the session of r, or nil. A session that cannot be read
// (the database is down) counts as none, and is logged.
func (a *app) current(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	s, err := a.sessions.get(r.Context(), c.Value)
	if err != nil {
		a.log.ErrorContext(r.Context(), "webapp: reading the session failed", slog.String("error", err.Error()))
	}
	return s
}

func (a *app) samlOn() bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.handler != nil
}

func (a *app) home(w http.ResponseWriter, r *http.Request) {
	s := a.current(r)
	data := map[string]any{"Title": "Home"}
	if s != nil && !s.BreakGlass {
		names := make([]string, 0, len(s.Attributes))
		for n := range s.Attributes {
			names = append(names, n)
		}
		slices.Sort(names)
		var attrs [][2]string
		for _, n := range names {
			attrs = append(attrs, [2]string{n, strings.Join(s.Attributes[n], ", ")})
		}
		data["Attributes"] = attrs
		if u, ok := a.userByEmail(r.Context(), s.NameID.Value); ok {
			data["User"] = u
		}
	}
	a.render(w, r, http.StatusOK, "home", data)
}

// diff shows the explained Diff of this browser's login and the user's
// teams now.
func (a *app) diff(w http.ResponseWriter, r *http.Request) {
	s := a.current(r)
	if s == nil || s.BreakGlass {
		if a.samlOn() {
			http.Redirect(w, r, "/saml/login?return_to=/diff", http.StatusSeeOther)
			return
		}
		a.render(w, r, http.StatusOK, "message", map[string]any{
			"Title": "Team sync", "Text": "Team sync runs at each SAML login, and single sign-on is turned off.",
			"Link": "/admin/saml", "LinkText": "SAML settings",
		})
		return
	}
	data := map[string]any{"Title": "Team sync"}
	if u, ok := a.userByEmail(r.Context(), s.NameID.Value); ok {
		data["User"] = u
	}
	teams, err := a.dir.Teams(r.Context())
	if err != nil {
		a.render(w, r, http.StatusInternalServerError, "message", map[string]any{"Title": "Team sync", "Text": "Reading the directory failed: " + err.Error()})
		return
	}
	data["Teams"] = teams
	a.render(w, r, http.StatusOK, "diff", data)
}

// userByEmail returns the directory's user whose email is email.
func (a *app) userByEmail(ctx context.Context, email string) (mapping.User, bool) {
	u, err := a.dir.FindUser(ctx, email)
	if err != nil || u == nil {
		return mapping.User{}, false
	}
	return *u, true
}

// directory is where the app keeps its users and teams: the sample
// directory in memory, or pgDirectory.
type directory interface {
	mapping.Store
	mapping.Directory
	// Teams returns every team, by organization and name.
	Teams(ctx context.Context) ([]mapping.Team, error)
}

// memDirectory is the in-memory directory as a directory.
type memDirectory struct{ *mappingtest.Store }

func (m memDirectory) Teams(ctx context.Context) ([]mapping.Team, error) { return m.Store.Teams(), nil }

// render writes the page name with data and what every page shows: the
// session (Session), whether it may use the admin pages (Admin), whether
// SAML is on (SAMLOn), and whether the app runs on PostgreSQL (Shared).
func (a *app) render(w http.ResponseWriter, r *http.Request, status int, name string, data map[string]any) {
	data["Session"], data["Admin"] = a.siteAdmin(r)
	data["SAMLOn"] = a.samlOn()
	data["Shared"] = a.pg != nil
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := a.pages.ExecuteTemplate(w, name, data); err != nil {
		fmt.Fprintf(w, "<p>template error: %s</p>", template.HTMLEscapeString(err.Error()))
	}
}
