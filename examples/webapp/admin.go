package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"html/template"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/siteadmin/integrations"
	"github.com/siteadmin/integrations/saml"
	"github.com/siteadmin/integrations/saml/samlsp"
	"github.com/siteadmin/integrations/smtpx"
	"github.com/siteadmin/integrations/twilio"
)

// The admin pages show the stored settings and save the form's. A secret
// left blank keeps its stored value while the form names the server it
// was stored for (see keptSecret), and a stored secret is never written
// into a page. A secret typed into a form that was not saved (a test run,
// or settings with a problem) is written back into its field, so that the
// next Save keeps what was typed rather than silently the stored one.

// label is one field of an admin page: its form name (the settings'
// JSON name, which their FieldErrors use) and the label the admin sees.
type label struct{ Field, Text string }

// The labels of each page, in the order of its form. The templates read
// their label texts from here, so an error names what the admin sees.
var (
	samlLabels = []label{
		{"enabled", "Enable SAML single sign-on"}, {"debug", "Enable SAML debugging"},
		{"idp-metadata-url", "IdP metadata URL"}, {"idp-metadata-signing-certificate", "Metadata signing certificate"},
		{"idp-metadata", "IdP metadata XML"}, {"idp-entity-id", "IdP entity ID"},
		{"sso-url", "Single sign-on URL"}, {"slo-url", "Single logout URL"},
		{"idp-certificate", "IdP certificate (PEM)"}, {"idp-old-certificate", "Old IdP certificate, kept during a rotation (PEM)"},
		{"allow-idp-initiated", "Allow IdP-initiated login"},
		{"authn-requests-signed", "Sign AuthnRequests and LogoutRequests"}, {"want-assertions-signed", "Want assertions signed"},
		{"sp-certificate", "SP certificate (PEM)"}, {"sp-private-key", "SP private key (PEM)"},
		{"signature-method", "Signature method"}, {"digest-method", "Digest method"},
		{"team-sync", "Use SAML to manage team memberships"}, {"team-attribute", "Team attribute"},
		{"username-attribute", "Username attribute"}, {"site-admin-attribute", "Site admin attribute"},
		{"site-admin-role", "Site admin role"}, {"service-account-attribute", "Service account attribute"},
	}
	smtpLabels = []label{
		{"enabled", "Enable email sending"}, {"sender", "Sender"}, {"host", "Host"}, {"port", "Port"},
		{"authentication", "Authentication"}, {"username", "Username"}, {"password", "Password"}, {"tls", "TLS"},
		{"to", "Send test email to"},
	}
	twilioLabels = []label{
		{"enabled", "Enable SMS sending"}, {"account-sid", "Account SID"}, {"auth-token", "Auth token"},
		{"from-number", "From number"}, {"messaging-service-sid", "Messaging Service SID"},
		{"api-key-sid", "API key SID"}, {"api-key-secret", "API key secret"}, {"base-url", "Base URL"},
		{"to", "Send Test SMS to"},
	}
)

func labelMap(labels []label) map[string]string {
	m := make(map[string]string, len(labels))
	for _, l := range labels {
		m[l.Field] = l.Text
	}
	return m
}

// problem is one problem of a form, named by its field's label.
type problem struct {
	Field, Label, Text string
}

// formErrors are a form's problems, in the order of its fields, with the
// fields to highlight.
type formErrors struct {
	List    []problem
	ByField map[string]string
}

// newFormErrors names each field problem of err by its label; problems
// not about one field come last, as they are.
func newFormErrors(err error, labels []label) *formErrors {
	fe := &formErrors{ByField: map[string]string{}}
	var other []string
	walkFieldErrors(err, func(field, text string) {
		fe.ByField[field] = text
	}, func(e error) { other = append(other, e.Error()) })
	for _, l := range labels {
		if t, ok := fe.ByField[l.Field]; ok {
			fe.List = append(fe.List, problem{l.Field, l.Text, t})
		}
	}
	for _, f := range slices.Sorted(maps.Keys(fe.ByField)) { // fields the page does not show
		if !hasLabel(labels, f) {
			fe.List = append(fe.List, problem{"", f, fe.ByField[f]})
		}
	}
	for _, t := range other {
		fe.List = append(fe.List, problem{Text: t})
	}
	return fe
}

func hasLabel(labels []label, field string) bool {
	return slices.ContainsFunc(labels, func(l label) bool { return l.Field == field })
}

// walkFieldErrors calls field for each *FieldError in err's tree (of
// samlsp, smtpx or twilio) and other for each leaf that is none.
func walkFieldErrors(err error, field func(name, problem string), other func(error)) {
	switch e := err.(type) {
	case nil:
	case *samlsp.FieldError:
		field(e.Field, e.Problem)
	case *smtpx.FieldError:
		field(e.Field, e.Problem)
	case *twilio.FieldError:
		field(e.Field, e.Problem)
	case interface{ Unwrap() []error }:
		for _, x := range e.Unwrap() {
			walkFieldErrors(x, field, other)
		}
	default:
		if inner := errors.Unwrap(err); inner != nil && hasFieldError(inner) {
			walkFieldErrors(inner, field, other)
			return
		}
		other(err)
	}
}

// hasFieldError reports whether err's tree holds a *FieldError.
func hasFieldError(err error) bool {
	var a *samlsp.FieldError
	var b *smtpx.FieldError
	var c *twilio.FieldError
	return errors.As(err, &a) || errors.As(err, &b) || errors.As(err, &c)
}

// withErrors puts a form's problems in data: listed (Errs) and their
// fields marked (Marks).
func withErrors(data map[string]any, fe *formErrors) {
	data["Errs"], data["Marks"] = fe, fe
}

// invalid returns the id attribute of a form field and, when errs has a
// problem with it, aria-invalid, which the page's CSS highlights.
func invalid(errs *formErrors, field string) template.HTMLAttr {
	attr := ` id="f-` + template.HTMLEscapeString(field) + `"`
	if errs != nil {
		if _, ok := errs.ByField[field]; ok {
			attr += ` aria-invalid="true"`
		}
	}
	return template.HTMLAttr(attr)
}

// methodOption is one entry of the signature and digest method lists.
type methodOption struct{ Value, Text string }

// methodOptions lists each algorithm once: the default is SHA256.
var methodOptions = []methodOption{
	{"", "SHA256 (default)"}, {"SHA384", "SHA384"}, {"SHA512", "SHA512"},
	{"SHA1", "SHA1 (weak: also accepts SHA-1 signatures and digests from the IdP)"},
}

// methodSelected reports whether option is the entry of the stored value.
func methodSelected(option, value string) bool {
	return option == value || option == "" && value == "SHA256"
}

// adminSAML shows and saves the SAML settings and what is in effect.
func (a *app) adminSAML(w http.ResponseWriter, r *http.Request) {
	a.mu.RLock()
	s := a.samlSet
	a.mu.RUnlock()
	data := map[string]any{"Title": "SAML settings", "Base": a.base, "L": labelMap(samlLabels), "Methods": methodOptions}
	if r.Method == http.MethodPost {
		f := r.PostFormValue
		typedKey := f("sp-private-key")
		key := s.SPPrivateKey
		if strings.TrimSpace(typedKey) != "" {
			key = integrations.Secret(typedKey)
		}
		s = samlsp.Settings{
			Enabled: f("enabled") != "", Debug: f("debug") != "",
			IdPMetadataURL: strings.TrimSpace(f("idp-metadata-url")), IdPMetadataSigningCertificate: f("idp-metadata-signing-certificate"),
			IdPMetadata: strings.TrimSpace(f("idp-metadata")), IdPEntityID: strings.TrimSpace(f("idp-entity-id")),
			SSOURL: strings.TrimSpace(f("sso-url")), SLOURL: strings.TrimSpace(f("slo-url")),
			IdPCertificate: f("idp-certificate"), IdPOldCertificate: f("idp-old-certificate"),
			AuthnRequestsSigned: f("authn-requests-signed") != "", SPCertificate: f("sp-certificate"), SPPrivateKey: key,
			WantAssertionsSigned: f("want-assertions-signed") != "",
			SignatureMethod:      f("signature-method"), DigestMethod: f("digest-method"),
			AllowIdPInitiated: f("allow-idp-initiated") != "",
			TeamSync:          f("team-sync") != "", TeamAttribute: f("team-attribute"),
			UsernameAttribute: f("username-attribute"), SiteAdminAttribute: f("site-admin-attribute"),
			ServiceAccountAttribute: f("service-account-attribute"), SiteAdminRole: f("site-admin-role"),
		}
		if err := a.applySAML(s); err != nil {
			withErrors(data, newFormErrors(err, samlLabels))
			data["TypedKey"] = typedKey
		} else {
			data["Saved"] = true
		}
	}
	data["S"] = s
	data["KeySet"] = !s.SPPrivateKey.IsZero()
	a.mu.RLock()
	sp := a.sp
	a.mu.RUnlock()
	if sp != nil {
		data["InEffect"] = newIdPSummary(sp.IdentityProvider(), s.IdPMetadata != "" || s.IdPMetadataURL != "", time.Now())
	}
	data["Status"] = a.samlStatus(r.Context())
	a.render(w, r, http.StatusOK, "admin-saml", data)
}

// idpSummary is the identity provider the running service provider
// trusts, for the SAML page: what the metadata (or the fields) put in
// effect.
type idpSummary struct {
	FromMetadata bool
	EntityID     string
	SSO, SLO     []string // "location (binding)"
	Certificates []certSummary
	ValidUntil   string // the metadata's validUntil, or ""
}

type certSummary struct {
	Subject, NotAfter, Status string
	Bad                       bool // expired, or expiring within 30 days
}

func newIdPSummary(idp saml.IdentityProvider, fromMetadata bool, now time.Time) idpSummary {
	s := idpSummary{FromMetadata: fromMetadata, EntityID: idp.EntityID}
	endpoints := func(list []saml.Endpoint) []string {
		var out []string
		for _, e := range list {
			out = append(out, e.Location+" ("+strings.TrimPrefix(e.Binding, "urn:oasis:names:tc:SAML:2.0:bindings:")+")")
		}
		return out
	}
	s.SSO, s.SLO = endpoints(idp.SSOServices), endpoints(idp.SLOServices)
	for _, c := range idp.Certificates {
		s.Certificates = append(s.Certificates, summarizeCert(c, now))
	}
	if !idp.ValidUntil.IsZero() {
		s.ValidUntil = idp.ValidUntil.UTC().Format(time.DateTime + " UTC")
	}
	return s
}

func summarizeCert(c *x509.Certificate, now time.Time) certSummary {
	cs := certSummary{Subject: c.Subject.String(), NotAfter: c.NotAfter.UTC().Format(time.DateTime + " UTC")}
	switch days := int(c.NotAfter.Sub(now).Hours() / 24); {
	case now.After(c.NotAfter):
		cs.Status, cs.Bad = "expired", true
	case days < 30:
		cs.Status, cs.Bad = fmt.Sprintf("expires in %d days", days), true
	default:
		cs.Status = fmt.Sprintf("valid for %d more days", days)
	}
	return cs
}

// adminSMTP shows and saves the SMTP settings and runs "Send test email
// to" (smtpx.SendTest) with the settings in the form, saved or not.
func (a *app) adminSMTP(w http.ResponseWriter, r *http.Request) {
	a.mu.RLock()
	stored := a.smtpSet
	a.mu.RUnlock()
	s := stored
	data := map[string]any{"Title": "SMTP settings", "L": labelMap(smtpLabels), "Auths": []string{"none", "plain", "login"}, "TLSModes": []string{"", "starttls", "tls", "none"}}
	if r.Method == http.MethodPost {
		f := r.PostFormValue
		typed := f("password")
		port, _ := strconv.Atoi(strings.TrimSpace(f("port")))
		host := strings.TrimSpace(f("host"))
		pw, blanked := keptSecret(typed, s.Password, host != stored.Host || port != stored.Port)
		s = smtpx.Settings{
			Enabled: f("enabled") != "", Sender: strings.TrimSpace(f("sender")), Host: host, Port: port,
			Authentication: smtpx.Auth(f("authentication")), Username: f("username"), Password: pw, TLS: smtpx.TLSMode(f("tls")),
		}
		to := strings.TrimSpace(f("test-to"))
		data["TestTo"] = to
		saved := false
		if f("action") == "test" {
			a.smtpTest(r.Context(), s, to, data)
		} else if err := s.Validate(); err != nil {
			withErrors(data, newFormErrors(err, smtpLabels))
		} else {
			a.mu.Lock()
			a.smtpSet = s
			a.mu.Unlock()
			data["Saved"], saved = true, true
		}
		if blanked {
			askRetype(data, "password")
		}
		if !saved {
			data["TypedPassword"] = typed
			data["Unsaved"] = s != stored
			if typed != "" {
				data["Typed"] = "password"
			}
		}
	}
	data["S"] = s
	data["PasswordSet"] = !s.Password.IsZero()
	data["Fake"] = a.smtpServer.Host() + ":" + strconv.Itoa(a.smtpServer.Port())
	data["Mail"] = a.smtpServer.Messages()
	a.render(w, r, http.StatusOK, "admin-smtp", data)
}

// smtpTest runs the test and puts its outcome in data: the problems with
// the form when it did not start, else the steps, whose last one carries
// the error of a failed test (TestError only when no step does).
func (a *app) smtpTest(ctx context.Context, s smtpx.Settings, to string, data map[string]any) {
	data["Tested"] = true
	report, err := smtpx.SendTest(ctx, smtpx.Config{Settings: s, RootCAs: a.smtpRoots(s)}, to)
	if err != nil && hasFieldError(err) {
		withErrors(data, newFormErrors(err, smtpLabels))
		return
	}
	data["Report"] = report
	if n := len(report.Steps); n > 0 && !report.Steps[n-1].OK {
		// Mark the fields of the step that failed.
		fe := &formErrors{ByField: map[string]string{}}
		for _, f := range smtpStepFields[report.Steps[n-1].Name] {
			fe.ByField[f] = report.Steps[n-1].Detail
		}
		data["Marks"] = fe
	}
	if err != nil && (report == nil || len(report.Steps) == 0 || report.Steps[len(report.Steps)-1].OK) {
		data["TestError"] = err.Error()
	}
}

// keptSecret returns the secret a settings form stands for: what was
// typed, or else the stored one, but only while the form still names the
// server it was stored for (moved is false). The pages never show a
// stored secret, so sending it to a server the form has just named would
// hand it to whoever runs that server: then the secret is blank, and
// blanked is true so that askRetype can say why.
func keptSecret(typed string, stored integrations.Secret, moved bool) (secret integrations.Secret, blanked bool) {
	switch {
	case typed != "":
		return integrations.Secret(typed), false
	case moved && !stored.IsZero():
		return "", true
	}
	return stored, false
}

// retypeSecret is the problem of a secret field that keptSecret blanked.
const retypeSecret = "type it again: the saved one is sent only to the server it was saved for"

// askRetype replaces the problem that the settings' validation found with
// field, a secret that keptSecret blanked (it is required), by
// retypeSecret.
func askRetype(data map[string]any, field string) {
	fe, _ := data["Errs"].(*formErrors)
	if fe == nil {
		return
	}
	if _, ok := fe.ByField[field]; !ok {
		return
	}
	fe.ByField[field] = retypeSecret
	for i := range fe.List {
		if fe.List[i].Field == field {
			fe.List[i].Text = retypeSecret
		}
	}
}

// typedNames names the Twilio secrets that were typed, for the page's
// "not saved" note: "auth token", "API key secret", both, or "".
func typedNames(token, secret string) string {
	var names []string
	if token != "" {
		names = append(names, "auth token")
	}
	if secret != "" {
		names = append(names, "API key secret")
	}
	return strings.Join(names, " and ")
}

// smtpStepFields are the fields whose values a failed step of the test
// depends on.
var smtpStepFields = map[smtpx.StepName][]string{
	smtpx.StepConnect: {"host", "port"},
	smtpx.StepTLS:     {"tls"},
	smtpx.StepAuth:    {"authentication", "username", "password"},
	smtpx.StepSend:    {"sender", "to"},
}

// smtpRoots trusts the fake server's CA for the fake server only; a real
// server is checked against the system's roots.
func (a *app) smtpRoots(s smtpx.Settings) *x509.CertPool {
	if s.Host == a.smtpServer.Host() && s.Port == a.smtpServer.Port() {
		return a.smtpServer.CertPool()
	}
	return nil
}

// adminTwilio shows and saves the Twilio settings, runs "Send Test SMS"
// with the settings in the form, saved or not (see twilioTest), and lists
// the latest test SMS with what Twilio reported about them. ?key= shows
// one test SMS's delivery, for a browser without JavaScript.
func (a *app) adminTwilio(w http.ResponseWriter, r *http.Request) {
	a.mu.RLock()
	stored := a.twilio
	a.mu.RUnlock()
	s := stored
	data := map[string]any{"Title": "Twilio settings", "L": labelMap(twilioLabels)}
	if r.Method == http.MethodPost {
		f := r.PostFormValue
		typedToken, typedSecret := f("auth-token"), f("api-key-secret")
		baseURL := strings.TrimSpace(f("base-url"))
		token, blankedToken := keptSecret(typedToken, s.AuthToken, baseURL != stored.BaseURL)
		secret, blankedSecret := keptSecret(typedSecret, s.APIKeySecret, baseURL != stored.BaseURL)
		s = twilio.Settings{
			Enabled: f("enabled") != "", AccountSID: strings.TrimSpace(f("account-sid")), AuthToken: token,
			FromNumber: strings.TrimSpace(f("from-number")), MessagingServiceSID: strings.TrimSpace(f("messaging-service-sid")),
			APIKeySID: strings.TrimSpace(f("api-key-sid")), APIKeySecret: secret, BaseURL: baseURL,
		}
		to := strings.TrimSpace(f("test-to"))
		data["TestTo"] = to
		saved := false
		if f("action") == "test" {
			a.twilioTest(r, s, to, data)
		} else if err := s.Validate(); err != nil {
			withErrors(data, newFormErrors(err, twilioLabels))
		} else if err := a.saveTwilio(s); err != nil {
			withErrors(data, newFormErrors(err, twilioLabels))
		} else {
			data["Saved"], saved = true, true
		}
		if blankedToken {
			askRetype(data, "auth-token")
		}
		if blankedSecret {
			askRetype(data, "api-key-secret")
		}
		if !saved {
			data["TypedToken"], data["TypedSecret"] = typedToken, typedSecret
			data["Unsaved"] = s != stored
			data["Typed"] = typedNames(typedToken, typedSecret)
		}
	}
	if key := r.URL.Query().Get("key"); r.Method == http.MethodGet && key != "" {
		// The no-JavaScript way to follow a test SMS: its "Refresh status"
		// link.
		if m, ok := a.testSMS.get(key); ok {
			data["Delivery"], data["TestTo"] = m, m.To
		} else {
			data["TestError"] = fmt.Sprintf("No test SMS with this key: the app keeps the last %d.", keptTestSMS)
		}
	}
	data["S"] = s
	data["TokenSet"] = !s.AuthToken.IsZero()
	data["SecretSet"] = !s.APIKeySecret.IsZero()
	data["Fake"] = a.twilioServer.URL
	data["SMS"] = a.twilioServer.Messages()
	data["Recent"] = a.testSMS.recent()
	data["Refusals"] = a.limiter.Refusals()
	data["StatusURL"] = a.base + statusPath
	a.render(w, r, http.StatusOK, "admin-twilio", data)
}
