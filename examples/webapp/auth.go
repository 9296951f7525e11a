package main

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"net/url"

	"github.com/siteadmin/integrations/saml/samlsp"
)

// breakGlassName is the name shown for a session started with the
// break-glass password.
const breakGlassName = "the break-glass site admin"

// siteAdmin returns the session of r when it may use the admin pages: a
// break-glass session, or a SAML session whose user the directory keeps as
// a site admin (the flag team sync sets from SiteAdmin or the
// site-admins role). The directory is asked on every request, so a login
// that revokes the flag takes the pages away at once.
func (a *app) siteAdmin(r *http.Request) (*session, bool) {
	s := a.current(r)
	if s == nil {
		return nil, false
	}
	if s.BreakGlass {
		return s, true
	}
	u, err := a.dir.FindUser(r.Context(), s.NameID.Value)
	return s, err == nil && u != nil && u.SiteAdmin
}

// requireAdmin lets a site admin's request through. Others get a page
// that says why and where to log in: a 403 for a logged-in user who is not
// a site admin or for a post, and the login page for a page view of a
// browser that is not logged in.
func (a *app) requireAdmin(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := a.siteAdmin(r)
		switch {
		case ok:
			next(w, r)
		case s == nil && r.Method == http.MethodGet:
			http.Redirect(w, r, "/login?return_to="+url.QueryEscape(r.URL.Path), http.StatusSeeOther)
		case s == nil:
			a.render(w, r, http.StatusForbidden, "message", map[string]any{
				"Title": "Site admins only", "Text": "Log in as a site admin first.", "Link": "/login", "LinkText": "Log in",
			})
		default:
			a.render(w, r, http.StatusForbidden, "message", map[string]any{
				"Title": "Site admins only",
				"Text": s.NameID.Value + " is not a site admin, and these pages change how everyone logs in. " +
					"Log in with SSO as a user with SiteAdmin or the site-admins group, or log in directly with the break-glass password.",
				"Link": "/login?return_to=" + url.QueryEscape(r.URL.Path), "LinkText": "Log in as a site admin",
			})
		}
	}
}

// requireAdminJSON is requireAdmin for the endpoints the pages' scripts
// call: a JSON error, 401 for a browser that is not logged in and 403
// for one that is not a site admin's, instead of a page.
func (a *app) requireAdminJSON(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch s, ok := a.siteAdmin(r); {
		case ok:
			next(w, r)
		case s == nil:
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "log in as a site admin first"})
		default:
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "site admins only"})
		}
	}
}

// loginPage offers SSO (when SAML is on) and the break-glass login, which
// works whatever the SAML settings are, so that an admin can repair them.
func (a *app) loginPage(w http.ResponseWriter, r *http.Request) {
	target := samlsp.SafeRedirect(r.FormValue("return_to"), nil, "/")
	data := map[string]any{"Title": "Log in", "ReturnTo": target}
	status := http.StatusOK
	if r.Method == http.MethodPost {
		if a.breakGlassMatches(r.PostFormValue("password")) {
			if err := a.startSession(r.Context(), w, &session{BreakGlass: true}); err != nil {
				a.render(w, r, http.StatusInternalServerError, "message", map[string]any{"Title": "Log in", "Text": err.Error()})
				return
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		status = http.StatusUnauthorized
		data["Wrong"] = true
	}
	a.render(w, r, status, "login", data)
}

// breakGlassMatches compares in constant time, whatever the lengths.
func (a *app) breakGlassMatches(password string) bool {
	got := sha256.Sum256([]byte(password))
	want := sha256.Sum256([]byte(a.breakGlass))
	return password != "" && subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// logoutLocal ends this browser's session here only: the way out of a
// break-glass session, and of a SAML one while SAML is off.
func (a *app) logoutLocal(w http.ResponseWriter, r *http.Request) {
	a.endSession(w, r)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
