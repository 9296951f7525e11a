package main

import (
	"crypto/x509"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/siteadmin/integrations/saml"
	"github.com/siteadmin/integrations/saml/samltest"
)

// idpUsers are the embedded test IdP's users, for its login page.
func idpUsers() []string {
	return []string{"alice@example.com", "bob@example.com", "carol@example.com"}
}

// idpBreaks are the ways the login page can spoil a response, to see a
// failed login (and, with SAML debugging on, its report).
func idpBreaks() [][2]string {
	return [][2]string{
		{"", "no: a valid response"},
		{"audience", "yes: for another service provider (wrong Audience)"},
		{"expired", "yes: issued two hours ago (expired)"},
		{"unsigned", "yes: not signed"},
	}
}

// idpGroups are the groups its login page offers.
func idpGroups() []string {
	return []string{"acme-developers", "acme-owners", "globex-ops", "marketing", "site-admins", "no-such-team"}
}

// spCerts returns the certificates the IdP checks requests with: the SP's
// when the settings sign requests, none otherwise.
func (a *app) spCerts() []*x509.Certificate {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.samlSet.AuthnRequestsSigned {
		return []*x509.Certificate{a.spCert}
	}
	return nil
}

func (a *app) idpMetadata(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	_, _ = w.Write(a.idp.Metadata())
}

// idpSSO is the IdP's single sign-on endpoint: it reads an AuthnRequest
// (or none, for an IdP-initiated login), shows a page to pick a user and
// groups, and posts the signed Response to the ACS.
func (a *app) idpSSO(w http.ResponseWriter, r *http.Request) {
	data := map[string]any{"Title": "Test IdP login", "Users": idpUsers(), "Groups": idpGroups(), "Breaks": idpBreaks()}
	switch {
	case r.Method == http.MethodGet && r.URL.Query().Has("SAMLRequest"),
		r.Method == http.MethodPost && r.FormValue("SAMLRequest") != "":
		req, err := a.idp.ReadRequest(r, a.spCerts()...)
		if err == nil && req.Kind != "AuthnRequest" {
			err = errors.New("the IdP expected an AuthnRequest, got a " + req.Kind)
		}
		if err != nil {
			a.render(w, r, http.StatusBadRequest, "message", map[string]any{"Title": "The IdP refused the request", "Text": err.Error()})
			return
		}
		data["Request"] = req
		a.render(w, r, http.StatusOK, "idp-login", data)
	case r.Method == http.MethodGet:
		a.render(w, r, http.StatusOK, "idp-login", data) // IdP-initiated
	case r.Method == http.MethodPost:
		a.idpIssue(w, r)
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// idpIssue signs a Response for the picked user and posts it to the ACS.
func (a *app) idpIssue(w http.ResponseWriter, r *http.Request) {
	user := r.PostFormValue("user")
	if !slices.Contains(idpUsers(), user) {
		a.render(w, r, http.StatusBadRequest, "message", map[string]any{"Title": "The IdP refused the login", "Text": "Unknown user."})
		return
	}
	attrs := []samltest.Attribute{{Name: "MemberOf", Values: r.PostForm["groups"]}}
	if u := strings.TrimSpace(r.PostFormValue("username")); u != "" {
		attrs = append(attrs, samltest.Attribute{Name: "Username", Values: []string{u}})
	}
	if v := r.PostFormValue("site_admin"); v == "true" || v == "false" {
		attrs = append(attrs, samltest.Attribute{Name: "SiteAdmin", Values: []string{v}})
	}
	service := "false"
	if r.PostFormValue("service_account") != "" {
		service = "true"
	}
	attrs = append(attrs, samltest.Attribute{Name: "IsServiceAccount", Values: []string{service}})
	spec := samltest.ResponseSpec{
		ACSURL:       a.base + "/saml/acs",
		Audience:     a.base + "/saml/metadata",
		InResponseTo: r.PostFormValue("request_id"),
		NameID:       user,
		Attributes:   attrs,
		Sign:         samltest.SignBoth,
	}
	switch r.PostFormValue("break") {
	case "":
	case "audience":
		spec.Audience = "https://other-app.example.com/saml/metadata"
	case "expired":
		spec.Now = time.Now().Add(-2 * time.Hour)
	case "unsigned":
		spec.Sign = samltest.SignNone
	default:
		a.render(w, r, http.StatusBadRequest, "message", map[string]any{"Title": "The IdP refused the login", "Text": "Unknown way to break the response."})
		return
	}
	resp, err := a.idp.Response(spec)
	if err != nil {
		a.render(w, r, http.StatusInternalServerError, "message", map[string]any{"Title": "The IdP failed", "Text": err.Error()})
		return
	}
	a.render(w, r, http.StatusOK, "post", map[string]any{
		"Title": "Posting to the service provider", "Action": a.base + "/saml/acs",
		"Fields": [][2]string{{"SAMLResponse", resp.Base64()}, {"RelayState", r.PostFormValue("relay_state")}},
	})
}

// idpSLO is the IdP's single logout endpoint: it answers the SP's
// LogoutRequest, or takes the SP's answer to an IdP-initiated logout.
func (a *app) idpSLO(w http.ResponseWriter, r *http.Request) {
	req, err := a.idp.ReadRequest(r, a.spCerts()...)
	if err != nil {
		a.render(w, r, http.StatusBadRequest, "message", map[string]any{"Title": "The IdP refused the logout message", "Text": err.Error()})
		return
	}
	switch req.Kind {
	case "LogoutRequest":
		m, err := a.idp.LogoutResponse(samltest.LogoutSpec{
			Destination: a.base + "/saml/slo", Binding: saml.BindingHTTPRedirect,
			InResponseTo: req.ID, RelayState: req.RelayState,
		})
		if err != nil {
			a.render(w, r, http.StatusInternalServerError, "message", map[string]any{"Title": "The IdP failed", "Text": err.Error()})
			return
		}
		http.Redirect(w, r, m.URL, http.StatusFound)
	case "LogoutResponse":
		text := "The service provider ended the session (status " + req.StatusCode + ")."
		a.render(w, r, http.StatusOK, "message", map[string]any{"Title": "Logged out at the IdP", "Text": text, "Home": true})
	default:
		a.render(w, r, http.StatusBadRequest, "message", map[string]any{"Title": "Unexpected message", "Text": req.Kind})
	}
}

// idpLogout starts a logout at the IdP for this browser's user: the IdP
// sends the service provider a signed LogoutRequest.
func (a *app) idpLogout(w http.ResponseWriter, r *http.Request) {
	s := a.current(r)
	if s == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	m, err := a.idp.LogoutRequest(samltest.LogoutSpec{
		Destination: a.base + "/saml/slo", NameID: s.NameID.Value, NameIDFormat: s.NameID.Format, SessionIndex: s.SessionIndex,
	})
	if err != nil {
		a.render(w, r, http.StatusInternalServerError, "message", map[string]any{"Title": "The IdP failed", "Text": err.Error()})
		return
	}
	http.Redirect(w, r, m.URL, http.StatusFound)
}
