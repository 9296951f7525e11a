package main

import (
	"crypto/x509"
	"net/http"
	"strconv"
	"strings"

	"github.com/siteadmin/integrations"
	"github.com/siteadmin/integrations/saml/samlsp"
	"github.com/siteadmin/integrations/smtpx"
	"github.com/siteadmin/integrations/twilio"
)

// adminSAML shows and saves the SAML settings. A secret left blank in the
// form keeps its stored value; secrets are never written into the page.
func (a *app) adminSAML(w http.ResponseWriter, r *http.Request) {
	a.mu.RLock()
	s := a.samlSet
	a.mu.RUnlock()
	data := map[string]any{"Title": "SAML settings", "Base": a.base, "Methods": []string{"", "SHA256", "SHA384", "SHA512", "SHA1"}}
	if r.Method == http.MethodPost {
		if !sameOrigin(r) {
			http.Error(w, "cross-site post refused", http.StatusForbidden)
			return
		}
		f := r.PostFormValue
		key := s.SPPrivateKey
		if v := f("sp-private-key"); strings.TrimSpace(v) != "" {
			key = integrations.Secret(v)
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
			data["Errors"] = fieldErrors(err)
		} else {
			data["Saved"] = true
		}
	}
	data["S"] = s
	data["KeySet"] = !s.SPPrivateKey.IsZero()
	data["Status"] = a.samlStatus(r.Context())
	a.render(w, http.StatusOK, "admin-saml", data)
}

// adminSMTP shows and saves the SMTP settings and runs "Send test email
// to" with smtpx.SendTest.
func (a *app) adminSMTP(w http.ResponseWriter, r *http.Request) {
	a.mu.RLock()
	s := a.smtpSet
	a.mu.RUnlock()
	data := map[string]any{"Title": "SMTP settings", "Auths": []string{"none", "plain", "login"}, "TLSModes": []string{"", "starttls", "tls", "none"}}
	if r.Method == http.MethodPost {
		if !sameOrigin(r) {
			http.Error(w, "cross-site post refused", http.StatusForbidden)
			return
		}
		f := r.PostFormValue
		pw := s.Password
		if v := f("password"); v != "" {
			pw = integrations.Secret(v)
		}
		port, _ := strconv.Atoi(strings.TrimSpace(f("port")))
		s = smtpx.Settings{
			Enabled: f("enabled") != "", Sender: strings.TrimSpace(f("sender")), Host: strings.TrimSpace(f("host")), Port: port,
			Authentication: smtpx.Auth(f("authentication")), Username: f("username"), Password: pw, TLS: smtpx.TLSMode(f("tls")),
		}
		if to := strings.TrimSpace(f("test-to")); f("action") == "test" {
			report, err := smtpx.SendTest(r.Context(), smtpx.Config{Settings: s, RootCAs: a.smtpRoots(s)}, to)
			data["TestTo"], data["Report"] = to, report
			if err != nil {
				data["TestError"] = err.Error()
			}
		} else if err := s.Validate(); err != nil {
			data["Errors"] = fieldErrors(err)
		} else {
			a.mu.Lock()
			a.smtpSet = s
			a.mu.Unlock()
			data["Saved"] = true
		}
	}
	data["S"] = s
	data["PasswordSet"] = !s.Password.IsZero()
	data["Fake"] = a.smtpServer.Host() + ":" + strconv.Itoa(a.smtpServer.Port())
	data["Mail"] = a.smtpServer.Messages()
	a.render(w, http.StatusOK, "admin-smtp", data)
}

// smtpRoots trusts the fake server's CA for the fake server only; a real
// server is checked against the system's roots.
func (a *app) smtpRoots(s smtpx.Settings) *x509.CertPool {
	if s.Host == a.smtpServer.Host() && s.Port == a.smtpServer.Port() {
		return a.smtpServer.CertPool()
	}
	return nil
}

// adminTwilio shows and saves the Twilio settings and runs "Send Test SMS"
// with twilio.SendTest.
func (a *app) adminTwilio(w http.ResponseWriter, r *http.Request) {
	a.mu.RLock()
	s := a.twilio
	a.mu.RUnlock()
	data := map[string]any{"Title": "Twilio settings"}
	if r.Method == http.MethodPost {
		if !sameOrigin(r) {
			http.Error(w, "cross-site post refused", http.StatusForbidden)
			return
		}
		f := r.PostFormValue
		token, secret := s.AuthToken, s.APIKeySecret
		if v := f("auth-token"); v != "" {
			token = integrations.Secret(v)
		}
		if v := f("api-key-secret"); v != "" {
			secret = integrations.Secret(v)
		}
		s = twilio.Settings{
			Enabled: f("enabled") != "", AccountSID: strings.TrimSpace(f("account-sid")), AuthToken: token,
			FromNumber: strings.TrimSpace(f("from-number")), MessagingServiceSID: strings.TrimSpace(f("messaging-service-sid")),
			APIKeySID: strings.TrimSpace(f("api-key-sid")), APIKeySecret: secret, BaseURL: strings.TrimSpace(f("base-url")),
		}
		if to := strings.TrimSpace(f("test-to")); f("action") == "test" {
			receipt, err := twilio.SendTest(r.Context(), s, to)
			data["TestTo"] = to
			if err != nil {
				data["TestError"] = err.Error()
			} else {
				data["Receipt"] = receipt
			}
		} else if err := s.Validate(); err != nil {
			data["Errors"] = fieldErrors(err)
		} else {
			a.mu.Lock()
			a.twilio = s
			a.mu.Unlock()
			data["Saved"] = true
		}
	}
	data["S"] = s
	data["TokenSet"] = !s.AuthToken.IsZero()
	data["SecretSet"] = !s.APIKeySecret.IsZero()
	data["Fake"] = a.twilioServer.URL
	data["SMS"] = a.twilioServer.Messages()
	a.render(w, http.StatusOK, "admin-twilio", data)
}
