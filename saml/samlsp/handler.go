package samlsp

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/siteadmin/integrations/saml"

	"github.com/siteadmin/integrations/mapping"
)

// DefaultHandlerPrefix is the path under which a Handler serves when
// HandlerConfig.Prefix is empty.
const DefaultHandlerPrefix = "/saml/"

// HandlerConfig is what a Handler needs from the host. Tracker and Login
// are required; every other zero value means the documented default.
type HandlerConfig struct {
	// Prefix is the path the handler serves under, ending in "/":
	// Prefix+"login" starts a login (GET or POST, with an optional
	// return_to parameter), Prefix+"metadata" serves the SP metadata, and
	// a POST to Prefix+"logout" logs the user out. The ACS (the path of
	// Config.ACSURL) and the SLO URL (the path of Config.SLOURL) must be
	// under it too. Default: DefaultHandlerPrefix.
	Prefix string
	// Tracker remembers each browser's outstanding requests. Required; a
	// CookieTracker suits a host with one instance or a shared key.
	Tracker RequestTracker
	// AuthnRequest shapes the AuthnRequests of logins (binding,
	// ForceAuthn, NameIDPolicy, ...); its RelayState is ignored. Default:
	// the zero AuthnRequestOptions.
	AuthnRequest saml.AuthnRequestOptions
	// Metadata shapes the metadata served at Prefix+"metadata".
	Metadata saml.MetadataOptions
	// AllowedOrigins are the origins, such as "https://app.example.com",
	// besides this site's own paths, that a return_to or an IdP's
	// RelayState may send the browser to (see SafeRedirect). Default:
	// none, paths only.
	AllowedOrigins []string
	// DefaultRedirect is where the browser goes after a login or logout
	// without a safe target. Default "/".
	DefaultRedirect string

	// Mapping, when not nil, turns on team sync: every verified login is
	// planned and applied to Store (see mapping.Config.Sync) before Login
	// runs, and Login receives the Diff. A sync failure fails the login.
	Mapping *mapping.Config
	// Store is the host's storage that Mapping syncs. Required with
	// Mapping.
	Store mapping.Store

	// Login starts the host's session for a verified login. It must not
	// write a body: the handler redirects to l.RedirectTo afterwards
	// (which Login may change). An error fails the login with a 500 page.
	// Required.
	Login func(ctx context.Context, w http.ResponseWriter, r *http.Request, l *Login) error
	// Logout ends the host's session for the browser of r and returns the
	// SAML session it was (from the login's Assertion) so that the IdP
	// ends its own, or nil when there is none. Default: nil, and a POST to
	// Prefix+"logout" only redirects to DefaultRedirect.
	Logout func(ctx context.Context, w http.ResponseWriter, r *http.Request) (*Session, error)
	// IdPLogout ends every host session of req.NameID, only those of
	// req.SessionIndexes when any are listed, when the IdP asks (a logout
	// started at the IdP or at another service provider). Default: nil,
	// and such requests are answered with StatusResponder.
	IdPLogout func(ctx context.Context, req *saml.LogoutRequest) error
	// Logger receives one line per failure. Default: silent.
	Logger *slog.Logger
}

// Login is a verified login, handed to HandlerConfig.Login.
type Login struct {
	// Assertion is the verified assertion.
	Assertion *saml.Assertion
	// Diff is what team sync changed; nil when HandlerConfig.Mapping is.
	Diff *mapping.Diff
	// RedirectTo is where the browser goes next: the return_to of the
	// login (SP-initiated), else the IdP's RelayState (IdP-initiated),
	// else DefaultRedirect, whichever SafeRedirect accepts first.
	RedirectTo string
}

// Session identifies the IdP session of a login, for single logout: the
// Assertion's NameID and SessionIndex.
type Session struct {
	NameID       saml.NameID
	SessionIndex string
}

// Handler serves a service provider's login, ACS, metadata and logout
// endpoints. Make one with NewHandler and mount it at its prefix:
//
//	mux.Handle("/saml/", h)
//
// It is safe for concurrent use.
type Handler struct {
	sp       *saml.ServiceProvider
	cfg      HandlerConfig
	acsPath  string
	sloPath  string
	maxInput int64
	// sameSite refuses a logout posted from another site. Only the logout
	// is checked: the ACS and the SLO URL take the IdP's cross-site posts
	// by design, and what they accept is signed.
	sameSite *http.CrossOriginProtection
}

// NewHandler checks cfg and returns the Handler of sp.
func NewHandler(sp *saml.ServiceProvider, cfg HandlerConfig) (*Handler, error) {
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultHandlerPrefix
	}
	if cfg.DefaultRedirect == "" {
		cfg.DefaultRedirect = "/"
	}
	var errs []error
	field := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("saml: HandlerConfig.%s: %s", name, fmt.Sprintf(format, args...)))
	}
	if !strings.HasPrefix(cfg.Prefix, "/") || !strings.HasSuffix(cfg.Prefix, "/") {
		field("Prefix", "%q must start and end with \"/\"", cfg.Prefix)
	}
	if cfg.Tracker == nil {
		field("Tracker", "required: a RequestTracker, such as a CookieTracker")
	}
	if cfg.Login == nil {
		field("Login", "required: the function that starts the host's session")
	}
	if cfg.Mapping != nil && cfg.Store == nil {
		field("Store", "required with Mapping: the storage team sync writes to")
	}
	if SafeRedirect(cfg.DefaultRedirect, cfg.AllowedOrigins, "") == "" {
		field("DefaultRedirect", "%q is neither a path on this site nor a URL of AllowedOrigins", cfg.DefaultRedirect)
	} else if len(cfg.DefaultRedirect) > MaxTrackedReturnTo {
		field("DefaultRedirect", "is %d bytes; at most MaxTrackedReturnTo (%d)", len(cfg.DefaultRedirect), MaxTrackedReturnTo)
	}
	spc := sp.Config()
	h := &Handler{sp: sp, cfg: cfg, maxInput: int64(2*spc.MaxResponseSize + 8192), sameSite: http.NewCrossOriginProtection()}
	h.acsPath = urlPath(spc.ACSURL)
	if !strings.HasPrefix(h.acsPath, cfg.Prefix) {
		field("Prefix", "%q does not cover the ACS URL's path %q", cfg.Prefix, h.acsPath)
	}
	if spc.SLOURL != "" {
		h.sloPath = urlPath(spc.SLOURL)
		if !strings.HasPrefix(h.sloPath, cfg.Prefix) {
			field("Prefix", "%q does not cover the SLO URL's path %q", cfg.Prefix, h.sloPath)
		}
	}
	if ct, ok := cfg.Tracker.(*CookieTracker); ok {
		for _, p := range []string{h.acsPath, h.sloPath} {
			if p != "" && !strings.HasPrefix(p, ct.path()) {
				field("Tracker", "the CookieTracker's Path %q does not cover %q, so the browser would not send its cookies there", ct.path(), p)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return h, nil
}

func urlPath(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Path == "" {
		return "/"
	}
	return u.Path
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == h.acsPath:
		h.acs(w, r)
	case h.sloPath != "" && p == h.sloPath:
		h.slo(w, r)
	case p == h.cfg.Prefix+"login":
		h.login(w, r)
	case p == h.cfg.Prefix+"metadata":
		h.metadata(w, r)
	case p == h.cfg.Prefix+"logout":
		h.logout(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		methodNotAllowed(w, "GET, POST")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, http.StatusBadRequest, "The login could not start", err)
		return
	}
	target := SafeRedirect(r.Form.Get("return_to"), h.cfg.AllowedOrigins, h.cfg.DefaultRedirect)
	if len(target) > MaxTrackedReturnTo {
		target = h.cfg.DefaultRedirect
	}
	opts := h.cfg.AuthnRequest
	opts.RelayState = ""
	if len(target) <= saml.MaxRelayStateLength {
		opts.RelayState = target
	}
	msg, err := h.sp.AuthnRequest(opts)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, "The login could not start", err)
		return
	}
	ctx := r.Context()
	if err := h.cfg.Tracker.Track(ctx, w, r, TrackedRequest{ID: msg.ID, ReturnTo: target}); err != nil {
		h.fail(w, r, http.StatusInternalServerError, "The login could not start", err)
		return
	}
	msg.Send(w, r)
}

func (h *Handler) acs(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w, "POST")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, h.maxInput)
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, http.StatusBadRequest, "Login failed", formError(err))
		return
	}
	ctx := r.Context()
	tracked, err := h.cfg.Tracker.Outstanding(ctx, r)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, "Login failed", err)
		return
	}
	var ids []string
	for _, t := range tracked {
		if !t.Logout {
			ids = append(ids, t.ID)
		}
	}
	a, err := h.sp.Verify(ctx, r.PostForm.Get("SAMLResponse"), ids...)
	if err != nil {
		h.fail(w, r, http.StatusForbidden, "Login failed", err)
		return
	}
	l := &Login{Assertion: a, RedirectTo: h.cfg.DefaultRedirect}
	if a.InResponseTo != "" {
		for _, t := range tracked {
			if t.ID == a.InResponseTo && !t.Logout {
				l.RedirectTo = SafeRedirect(t.ReturnTo, h.cfg.AllowedOrigins, h.cfg.DefaultRedirect)
			}
		}
		if err := h.cfg.Tracker.Forget(ctx, w, r, a.InResponseTo); err != nil {
			h.fail(w, r, http.StatusInternalServerError, "Login failed", err)
			return
		}
	} else {
		l.RedirectTo = SafeRedirect(r.PostForm.Get("RelayState"), h.cfg.AllowedOrigins, h.cfg.DefaultRedirect)
	}
	if h.cfg.Mapping != nil {
		diff, err := h.cfg.Mapping.Sync(ctx, h.cfg.Store, mapping.Login{NameID: a.NameID.Value, Attributes: mapping.Attributes(a.Attributes)})
		if err != nil {
			h.fail(w, r, http.StatusInternalServerError, "Team sync failed, so the login was not completed", err)
			return
		}
		l.Diff = &diff
	}
	if err := h.cfg.Login(ctx, w, r, l); err != nil {
		h.fail(w, r, http.StatusInternalServerError, "Login failed", err)
		return
	}
	http.Redirect(w, r, l.RedirectTo, http.StatusSeeOther)
}

func (h *Handler) metadata(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, "GET, HEAD")
		return
	}
	md, err := h.sp.Metadata(h.cfg.Metadata)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, "The metadata could not be built", err)
		return
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	_, _ = w.Write(md)
}

// logout ends the host session and, when the IdP has a SingleLogoutService
// and the host returns the SAML session, sends a LogoutRequest.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w, "POST")
		return
	}
	if err := h.sameSite.Check(r); err != nil {
		h.fail(w, r, http.StatusForbidden, "Logout refused", errors.New("the logout was posted from another site"))
		return
	}
	ctx := r.Context()
	var s *Session
	if h.cfg.Logout != nil {
		var err error
		if s, err = h.cfg.Logout(ctx, w, r); err != nil {
			h.fail(w, r, http.StatusInternalServerError, "Logout failed", err)
			return
		}
	}
	if s == nil || h.sloPath == "" || len(h.sp.Config().IdP.SLOServices) == 0 {
		http.Redirect(w, r, h.cfg.DefaultRedirect, http.StatusSeeOther)
		return
	}
	msg, err := h.sp.LogoutRequest(s.NameID, s.SessionIndex, "")
	if err == nil {
		err = h.cfg.Tracker.Track(ctx, w, r, TrackedRequest{ID: msg.ID, Logout: true, ReturnTo: h.cfg.DefaultRedirect})
	}
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, "You are logged out here, but not at the identity provider", err)
		return
	}
	msg.Send(w, r)
}

// slo serves the SLO URL: a LogoutRequest from the IdP, or its
// LogoutResponse to ours.
func (h *Handler) slo(w http.ResponseWriter, r *http.Request) {
	var has func(string) bool
	switch r.Method {
	case http.MethodGet:
		q := r.URL.Query()
		has = q.Has
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, h.maxInput)
		if err := r.ParseForm(); err != nil {
			h.fail(w, r, http.StatusBadRequest, "Logout failed", formError(err))
			return
		}
		has = r.PostForm.Has
	default:
		methodNotAllowed(w, "GET, POST")
		return
	}
	ctx := r.Context()
	switch {
	case has("SAMLRequest"):
		req, err := h.sp.ParseLogoutRequest(ctx, r)
		if err != nil {
			h.fail(w, r, http.StatusForbidden, "Logout request refused", err)
			return
		}
		status := saml.StatusSuccess
		if h.cfg.IdPLogout == nil {
			status = saml.StatusResponder
		} else if err := h.cfg.IdPLogout(ctx, req); err != nil {
			h.log(ctx, "saml: ending sessions for the IdP's logout failed", err)
			status = saml.StatusResponder
		}
		msg, err := h.sp.LogoutResponse(req, status)
		if err != nil {
			h.fail(w, r, http.StatusInternalServerError, "Logout failed", err)
			return
		}
		msg.Send(w, r)
	case has("SAMLResponse"):
		tracked, err := h.cfg.Tracker.Outstanding(ctx, r)
		if err != nil {
			h.fail(w, r, http.StatusInternalServerError, "Logout failed", err)
			return
		}
		var ids []string
		for _, t := range tracked {
			if t.Logout {
				ids = append(ids, t.ID)
			}
		}
		resp, err := h.sp.ParseLogoutResponse(ctx, r, ids...)
		if err != nil {
			h.fail(w, r, http.StatusForbidden, "You are logged out here, but the identity provider did not confirm its logout", err)
			return
		}
		target := h.cfg.DefaultRedirect
		for _, t := range tracked {
			if t.ID == resp.InResponseTo {
				target = SafeRedirect(t.ReturnTo, h.cfg.AllowedOrigins, h.cfg.DefaultRedirect)
			}
		}
		if err := h.cfg.Tracker.Forget(ctx, w, r, resp.InResponseTo); err != nil {
			h.log(ctx, "saml: forgetting a logout request failed", err)
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
	default:
		h.fail(w, r, http.StatusBadRequest, "Logout failed", &saml.Error{Code: saml.CodeMalformed, Message: "the request carries no SAMLRequest or SAMLResponse"})
	}
}

// formError is the error of a form that could not be read, with the code
// of a malformed message so that the failure page names it.
func formError(err error) error {
	return &saml.Error{Code: saml.CodeMalformed, Message: "the form could not be read: " + err.Error()}
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
}

func (h *Handler) log(ctx context.Context, msg string, err error) {
	if h.cfg.Logger != nil {
		h.cfg.Logger.WarnContext(ctx, msg, "error", err.Error())
	}
}

// fail writes a short error page. The SAML error code is always shown;
// the message and, for a rejected response, the debug report only with
// Config.Debug on (the admin's "Enable SAML debugging"). Whoever posted the
// message sees the page, so it never shows what decryption revealed: those
// details go to the Logger only.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int, title string, err error) {
	h.log(r.Context(), "saml: "+strings.ToLower(title), err)
	data := failView{Title: title, Debug: h.sp.Config().Debug, Home: h.cfg.DefaultRedirect}
	var se *saml.Error
	if errors.As(err, &se) {
		data.Code = string(se.Code)
	}
	if data.Debug {
		data.Message = err.Error()
		if se != nil && se.Report != nil {
			data.Checks, data.XML = publicChecks(se.Report), se.Report.XML
			if c := se.Report.Failed(); c != nil && c.FromDecrypted {
				data.Message = hiddenDetail
			}
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_ = failPage.Execute(w, data)
}

// failView is what the failure page shows.
type failView struct {
	Title, Code, Message, Home, XML string
	Debug                           bool
	Checks                          []saml.Check
}

// hiddenDetail stands in for a detail that quotes decrypted data.
const hiddenDetail = "(taken from the encrypted assertion, so not shown on this page: see the server log)"

// publicChecks returns the report's checks with every detail that may
// quote decrypted data hidden.
func publicChecks(rep *saml.Report) []saml.Check {
	checks := slices.Clone(rep.Checks)
	for i := range checks {
		if checks[i].FromDecrypted {
			checks[i].Detail = hiddenDetail
		}
	}
	return checks
}

// failPage is styled like a plain host page: a system font at a
// readable width, and the received XML indented.
var failPage = template.Must(template.New("fail").Funcs(template.FuncMap{"indentXML": indentXML}).Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{.Title}}</title>
<meta name="viewport" content="width=device-width">
<style>
body{font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:48em;margin:0 auto;padding:1em;color:#222}
h1{font-size:1.6em;margin:.5em 0}h2{font-size:1.25em}h3{font-size:1.1em}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f4f4f4;padding:.8em;font-size:.85em;line-height:1.35}code{overflow-wrap:anywhere}td code{white-space:nowrap}
table{border-collapse:collapse}td{padding:.25em .6em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
.fail{color:#b00}
</style></head>
<body><h1>{{.Title}}</h1>
{{if .Code}}<p>Error code: <code>{{.Code}}</code>.</p>{{end}}
{{if .Debug}}<p class="fail">{{.Message}}</p>
{{if .Checks}}<h2>SAML debug report</h2><table>
{{range .Checks}}<tr><td>{{if .OK}}✔{{else}}<span class="fail">✘</span>{{end}}</td><td><code>{{.Name}}</code></td><td>{{.Detail}}</td></tr>
{{end}}</table>
{{if .XML}}<h3>Received XML</h3><pre>{{indentXML .XML}}</pre>{{end}}{{end}}
{{else}}<p>Try again, or ask your administrator, who can turn on SAML debugging to see why.</p>{{end}}
<p><a href="{{.Home}}">Back to the start page</a></p>
</body></html>
`))
