package samlsp

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/siteadmin/integrations/saml"

	"github.com/siteadmin/integrations"
	"github.com/siteadmin/integrations/mapping"
)

// Settings are the admin's SAML page, as the host stores them (JSON; keep
// that storage encrypted, the SP private key is in it). The zero value is
// SAML turned off. Printing or logging a Settings value never shows the
// private key. Config and ServiceProvider turn them into a service
// provider, MappingConfig into the team sync settings.
type Settings struct {
	// Enabled is "Enable SAML single sign-on".
	Enabled bool `json:"enabled"`
	// Debug is "Enable SAML debugging": failed logins show the debug
	// report of every check (see Config.Debug).
	Debug bool `json:"debug"`

	// IdPMetadataURL is "IdP metadata URL": where the IdP publishes its
	// metadata, such as Entra ID's ".../federationmetadata.xml?appid=...".
	// It must be https (http only on a loopback address, for tests and
	// demos). When set, the IdP comes from a saml.MetadataSource that
	// keeps it current, certificate rollovers included (build it with
	// MetadataSourceConfig); IdPMetadata is then its backing copy, and
	// SSOURL, SLOURL, IdPCertificate and IdPOldCertificate are not used.
	// Optional.
	IdPMetadataURL string `json:"idp-metadata-url,omitempty"`
	// IdPMetadataSigningCertificate is "Metadata signing certificate",
	// PEM (one or more): the IdP metadata, fetched or pasted, must be
	// signed by it. Optional: without it TLS alone vouches for fetched
	// metadata, and whoever controls the metadata URL's host (or a
	// certificate for it) controls which IdP certificates are trusted.
	IdPMetadataSigningCertificate string `json:"idp-metadata-signing-certificate,omitempty"`
	// IdPMetadata is the IdP's metadata XML. When set it supplies the
	// IdP's entity ID, SSO and SLO URLs and signing certificates; the
	// fields below, when set, choose the entity (IdPEntityID) or override
	// (SSOURL, SLOURL) or add to them (the certificates). With
	// IdPMetadataURL it is the last good metadata fetched, which the host
	// stores from MetadataSourceConfig.SaveBackingCopy.
	IdPMetadata string `json:"idp-metadata,omitempty"`
	// IdPEntityID is the IdP's entity ID, which every Issuer must equal.
	// Required without IdPMetadata.
	IdPEntityID string `json:"idp-entity-id,omitempty"`
	// SSOURL is the IdP's single sign-on URL, for both bindings. Required
	// without IdPMetadata.
	SSOURL string `json:"sso-url,omitempty"`
	// SLOURL is the IdP's single logout URL, for both bindings. Optional:
	// without it logout is local only.
	SLOURL string `json:"slo-url,omitempty"`
	// IdPCertificate is the IdP's signing certificate, PEM (one or more
	// certificates). Required without IdPMetadata.
	IdPCertificate string `json:"idp-certificate,omitempty"`
	// IdPOldCertificate is the IdP's previous signing certificate, PEM,
	// still trusted during a certificate rotation. Optional.
	IdPOldCertificate string `json:"idp-old-certificate,omitempty"`

	// AuthnRequestsSigned signs AuthnRequests and LogoutRequests with
	// SPPrivateKey, and says so in the SP metadata. Default false.
	AuthnRequestsSigned bool `json:"authn-requests-signed"`
	// SPCertificate is the service provider's certificate, PEM, published
	// in its metadata. Required with AuthnRequestsSigned.
	SPCertificate string `json:"sp-certificate,omitempty"`
	// SPPrivateKey is SPCertificate's private key, PEM (PKCS #8, PKCS #1
	// or SEC 1; RSA or ECDSA). Required with AuthnRequestsSigned.
	SPPrivateKey integrations.Secret `json:"sp-private-key,omitempty"`
	// SPEncryptionCertificate is the certificate the IdP encrypts
	// assertions to, PEM, published in the SP metadata. Optional: set it
	// with SPDecryptionKeys to receive encrypted assertions.
	SPEncryptionCertificate string `json:"sp-encryption-certificate,omitempty"`
	// SPDecryptionKeys are the RSA private keys that decrypt assertions,
	// PEM (PKCS #1 or PKCS #8), the current one (SPEncryptionCertificate's)
	// first and the previous one after it during a rotation. Optional.
	SPDecryptionKeys integrations.Secret `json:"sp-decryption-keys,omitempty"`
	// WantAssertionsSigned requires the IdP to sign the Assertion itself
	// (see Config.WantAssertionsSigned). Default false.
	WantAssertionsSigned bool `json:"want-assertions-signed"`
	// SignatureMethod is "SHA256" (the default when empty), "SHA384",
	// "SHA512" or "SHA1": the hash of the signatures the service provider
	// makes, with RSA or ECDSA as its key is. "SHA1" also accepts SHA-1
	// signatures from the IdP (Config.AllowSHA1).
	SignatureMethod string `json:"signature-method,omitempty"`
	// DigestMethod is "SHA256" (the default when empty), "SHA384",
	// "SHA512" or "SHA1": the digest of the signed XML the service
	// provider makes. "SHA1" also accepts SHA-1 digests from the IdP.
	DigestMethod string `json:"digest-method,omitempty"`
	// AllowIdPInitiated accepts logins started at the IdP (Config.
	// AllowIdPInitiated). Default false.
	AllowIdPInitiated bool `json:"allow-idp-initiated"`
	// AllowCBCInUnsignedResponse accepts an assertion encrypted with
	// AES-CBC inside an unsigned Response, as AD FS, Shibboleth and
	// SimpleSAMLphp send unless told to sign the Response (Config.
	// AllowCBCInUnsignedResponse). Default false.
	AllowCBCInUnsignedResponse bool `json:"allow-cbc-in-unsigned-response,omitempty"`
	// AllowLegacyEncryption accepts RSA PKCS#1 v1.5 key transport and
	// Triple DES content encryption (Config.AllowLegacyEncryption).
	// Default false.
	AllowLegacyEncryption bool `json:"allow-legacy-encryption,omitempty"`

	// TeamSync is "Use SAML to manage team memberships"
	// (mapping.Config.TeamSync).
	TeamSync bool `json:"team-sync"`
	// TeamAttribute, UsernameAttribute, SiteAdminAttribute,
	// ServiceAccountAttribute and SiteAdminRole are the attribute names and
	// role of the mapping settings; empty means mapping's default
	// ("MemberOf", "Username", "SiteAdmin", "IsServiceAccount",
	// "site-admins") and mapping.Off turns one off.
	TeamAttribute           string `json:"team-attribute,omitempty"`
	UsernameAttribute       string `json:"username-attribute,omitempty"`
	SiteAdminAttribute      string `json:"site-admin-attribute,omitempty"`
	ServiceAccountAttribute string `json:"service-account-attribute,omitempty"`
	SiteAdminRole           string `json:"site-admin-role,omitempty"`
	// NoCommaSplit uses each team-attribute value exactly as sent, for
	// IdPs that send values with commas in them, such as LDAP DNs
	// (mapping.Config.NoCommaSplit). Default false: "a, b" is two teams.
	NoCommaSplit bool `json:"no-comma-split,omitempty"`
}

// FieldError is one problem with one Settings field. Field is the field's
// JSON name, such as "sso-url".
type FieldError struct {
	Field   string
	Problem string
}

// Error returns "saml: settings FIELD: PROBLEM".
func (e *FieldError) Error() string { return "saml: settings " + e.Field + ": " + e.Problem }

// hashNames maps the settings' method names to the SignatureMethod URIs
// (RSA, ECDSA) and the DigestMethod URI.
var hashNames = map[string][3]string{
	"SHA1":   {saml.SignatureRSASHA1, saml.SignatureECDSASHA1, saml.DigestSHA1},
	"SHA256": {saml.SignatureRSASHA256, saml.SignatureECDSASHA256, saml.DigestSHA256},
	"SHA384": {saml.SignatureRSASHA384, saml.SignatureECDSASHA384, saml.DigestSHA384},
	"SHA512": {saml.SignatureRSASHA512, saml.SignatureECDSASHA512, saml.DigestSHA512},
}

// Validate returns every problem with the settings at once, as an
// errors.Join of *FieldError, or nil. Settings with Enabled false are
// always valid.
func (s Settings) Validate() error {
	if !s.Enabled {
		return nil
	}
	_, errs := s.idp()
	_, _, spErrs := s.spKeyPair()
	errs = append(errs, spErrs...)
	_, _, decErrs := s.decryption()
	errs = append(errs, decErrs...)
	for _, m := range []struct{ field, value string }{{"signature-method", s.SignatureMethod}, {"digest-method", s.DigestMethod}} {
		if _, ok := hashNames[m.value]; m.value != "" && !ok {
			errs = append(errs, &FieldError{m.field, fmt.Sprintf("%q must be SHA256, SHA384, SHA512 or SHA1", m.value)})
		}
	}
	if err := s.MappingConfig().Validate(); err != nil {
		errs = append(errs, mappingErrors(err)...)
	}
	return errors.Join(errs...)
}

// mappingErrors renames mapping's field errors to the settings' fields.
func mappingErrors(err error) []error {
	names := map[string]string{
		"teamAttribute": "team-attribute", "usernameAttribute": "username-attribute",
		"siteAdminAttribute": "site-admin-attribute", "serviceAccountAttribute": "service-account-attribute",
		"siteAdminRole": "site-admin-role",
	}
	var out []error
	var list interface{ Unwrap() []error }
	all := []error{err}
	if errors.As(err, &list) {
		all = list.Unwrap()
	}
	for _, e := range all {
		var fe *mapping.FieldError
		if errors.As(e, &fe) {
			name := names[fe.Field]
			if name == "" {
				name = fe.Field
			}
			out = append(out, &FieldError{name, fe.Problem})
		} else {
			out = append(out, e)
		}
	}
	return out
}

// idp builds the IdentityProvider the settings describe. With a metadata
// URL it only checks the URL, the signing certificate and the backing
// copy: the MetadataSource supplies the IdP.
func (s Settings) idp() (saml.IdentityProvider, []error) {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{field, fmt.Sprintf(format, args...)})
	}
	signers, signerErrs := s.metadataSigners()
	errs = append(errs, signerErrs...)
	if s.IdPMetadataURL != "" {
		if err := saml.CheckMetadataURL(s.IdPMetadataURL, saml.IsLoopbackURL(s.IdPMetadataURL)); err != nil {
			add("idp-metadata-url", "%v", err)
		}
		if s.IdPMetadata != "" && len(signerErrs) == 0 {
			if _, err := s.parseMetadata(signers); err != nil {
				add("idp-metadata", "the stored copy of the metadata: %v", err)
			}
		}
		return saml.IdentityProvider{}, errs
	}
	var idp saml.IdentityProvider
	if len(signers) > 0 && s.IdPMetadata == "" {
		add("idp-metadata-signing-certificate", "is set but there is no IdP metadata to check: set the IdP metadata URL (or paste the metadata)")
	}
	if s.IdPMetadata != "" {
		md, err := s.parseMetadata(signers)
		if err != nil {
			add("idp-metadata", "%v", err)
		} else {
			idp = *md
		}
	} else {
		idp.EntityID = s.IdPEntityID
		if s.IdPEntityID == "" {
			add("idp-entity-id", "is required without IdP metadata: the IdP's entity ID (its Issuer)")
		}
		if s.SSOURL == "" {
			add("sso-url", "is required without IdP metadata: where users are sent to log in")
		}
		if s.IdPCertificate == "" {
			add("idp-certificate", "is required without IdP metadata: the certificate the IdP signs with, PEM")
		}
	}
	if s.SSOURL != "" {
		if err := (saml.Endpoint{Location: s.SSOURL}).Validate(); err != nil {
			add("sso-url", "%v", err)
		}
		idp.SSOServices = []saml.Endpoint{{Binding: saml.BindingHTTPRedirect, Location: s.SSOURL}, {Binding: saml.BindingHTTPPOST, Location: s.SSOURL}}
	}
	if s.SLOURL != "" {
		if err := (saml.Endpoint{Location: s.SLOURL}).Validate(); err != nil {
			add("slo-url", "%v", err)
		}
		idp.SLOServices = []saml.Endpoint{{Binding: saml.BindingHTTPRedirect, Location: s.SLOURL}, {Binding: saml.BindingHTTPPOST, Location: s.SLOURL}}
	}
	for _, f := range []struct{ field, pem string }{{"idp-certificate", s.IdPCertificate}, {"idp-old-certificate", s.IdPOldCertificate}} {
		if f.pem == "" {
			continue
		}
		certs, err := saml.ParseCertificatesPEM([]byte(f.pem))
		if err != nil {
			add(f.field, "%v", err)
		}
		for _, c := range certs {
			if !slices.ContainsFunc(idp.Certificates, c.Equal) {
				idp.Certificates = append(idp.Certificates, c)
			}
		}
	}
	return idp, errs
}

// metadataSigners parses the metadata-signing certificates.
func (s Settings) metadataSigners() ([]*x509.Certificate, []error) {
	if s.IdPMetadataSigningCertificate == "" {
		return nil, nil
	}
	certs, err := saml.ParseCertificatesPEM([]byte(s.IdPMetadataSigningCertificate))
	if err != nil {
		return nil, []error{&FieldError{"idp-metadata-signing-certificate", err.Error()}}
	}
	return certs, nil
}

// parseMetadata parses IdPMetadata, checking its signature when there are
// signers.
func (s Settings) parseMetadata(signers []*x509.Certificate) (*saml.IdentityProvider, error) {
	if len(signers) > 0 {
		return saml.ParseSignedIdPMetadata([]byte(s.IdPMetadata), s.IdPEntityID, signers, s.allowSHA1())
	}
	return saml.ParseIdPMetadata([]byte(s.IdPMetadata), s.IdPEntityID)
}

func (s Settings) allowSHA1() bool { return s.SignatureMethod == "SHA1" || s.DigestMethod == "SHA1" }

// MetadataSourceConfig returns base (the host's own part: HTTPClient,
// SaveBackingCopy, Clock, Logger, OnRefresh, ...) with the settings
// applied: the URL, the entity ID, the metadata-signing certificates,
// AllowSHA1 when a method is SHA1, AllowHTTP for a loopback http URL,
// and IdPMetadata as the backing copy unless base has one. Pass the
// source built from it to Config or ServiceProvider in
// saml.Config.MetadataSource, and have SaveBackingCopy store the bytes it
// receives as IdPMetadata. It returns the Validate errors, or an error
// when SAML is not enabled or there is no metadata URL.
func (s Settings) MetadataSourceConfig(base saml.MetadataSourceConfig) (saml.MetadataSourceConfig, error) {
	switch {
	case !s.Enabled:
		return saml.MetadataSourceConfig{}, errors.New("saml: single sign-on is not enabled in the settings")
	case s.IdPMetadataURL == "":
		return saml.MetadataSourceConfig{}, &FieldError{"idp-metadata-url", "is empty: the IdP is configured by hand or by pasted metadata"}
	}
	if err := s.Validate(); err != nil {
		return saml.MetadataSourceConfig{}, err
	}
	cfg := base
	cfg.URL = s.IdPMetadataURL
	cfg.EntityID = s.IdPEntityID
	cfg.SigningCertificates, _ = s.metadataSigners()
	cfg.AllowSHA1 = base.AllowSHA1 || s.allowSHA1()
	cfg.AllowHTTP = base.AllowHTTP || strings.HasPrefix(s.IdPMetadataURL, "http:") && saml.IsLoopbackURL(s.IdPMetadataURL)
	if len(cfg.BackingCopy) == 0 && s.IdPMetadata != "" {
		cfg.BackingCopy = []byte(s.IdPMetadata)
	}
	return cfg, nil
}

// spKeyPair parses the SP's key pair when requests are signed.
func (s Settings) spKeyPair() (crypto.Signer, *x509.Certificate, []error) {
	if !s.AuthnRequestsSigned {
		return nil, nil, nil
	}
	var errs []error
	var cert *x509.Certificate
	if s.SPCertificate == "" {
		errs = append(errs, &FieldError{"sp-certificate", "is required when AuthnRequests are signed: the service provider's certificate, PEM"})
	} else if certs, err := saml.ParseCertificatesPEM([]byte(s.SPCertificate)); err != nil {
		errs = append(errs, &FieldError{"sp-certificate", err.Error()})
	} else {
		cert = certs[0]
	}
	var key crypto.Signer
	if s.SPPrivateKey.IsZero() {
		errs = append(errs, &FieldError{"sp-private-key", "is required when AuthnRequests are signed: the certificate's private key, PEM"})
	} else if k, err := saml.ParsePrivateKeyPEM([]byte(s.SPPrivateKey.Reveal())); err != nil {
		errs = append(errs, &FieldError{"sp-private-key", err.Error()})
	} else {
		key = k
	}
	if key != nil && cert != nil && !samePublicKey(key.Public(), cert.PublicKey) {
		errs = append(errs, &FieldError{"sp-private-key", "does not belong to the SP certificate"})
	}
	return key, cert, errs
}

// decryption parses the SP's decryption keys and encryption certificate.
func (s Settings) decryption() ([]*rsa.PrivateKey, *x509.Certificate, []error) {
	var errs []error
	var keys []*rsa.PrivateKey
	var cert *x509.Certificate
	if !s.SPDecryptionKeys.IsZero() {
		k, err := saml.ParseDecryptionKeysPEM([]byte(s.SPDecryptionKeys.Reveal()))
		if err != nil {
			errs = append(errs, &FieldError{"sp-decryption-keys", err.Error()})
		}
		keys = k
	}
	if s.SPEncryptionCertificate != "" {
		certs, err := saml.ParseCertificatesPEM([]byte(s.SPEncryptionCertificate))
		switch {
		case err != nil:
			errs = append(errs, &FieldError{"sp-encryption-certificate", err.Error()})
		case len(keys) == 0 && err == nil && s.SPDecryptionKeys.IsZero():
			errs = append(errs, &FieldError{"sp-decryption-keys", "are required with an SP encryption certificate: without them encrypted assertions cannot be read"})
		case len(keys) > 0 && !samePublicKey(&keys[0].PublicKey, certs[0].PublicKey):
			errs = append(errs, &FieldError{"sp-encryption-certificate", "does not belong to the first SP decryption key"})
		default:
			cert = certs[0]
		}
	}
	return keys, cert, errs
}

// Config returns base (the host's own part: EntityID, ACSURL, SLOURL,
// Clock, ReplayCache, Logger, and with an IdP metadata URL the
// MetadataSource built from MetadataSourceConfig) with the settings
// applied: the IdP (unless it comes from the MetadataSource), Debug,
// AllowIdPInitiated, WantAssertionsSigned, the signing key pair and
// methods when AuthnRequests are signed, the decryption keys, AllowSHA1
// when a method is SHA1, and the two encryption allowances when either
// base or the settings turn them on. It returns the Validate errors, or an
// error when SAML is not enabled, or when there is a metadata URL and base
// has no MetadataSource.
func (s Settings) Config(base saml.Config) (saml.Config, error) {
	if !s.Enabled {
		return saml.Config{}, errors.New("saml: single sign-on is not enabled in the settings")
	}
	if err := s.Validate(); err != nil {
		return saml.Config{}, err
	}
	cfg := base
	switch {
	case s.IdPMetadataURL == "":
		cfg.IdP, _ = s.idp()
		cfg.MetadataSource = nil
	case base.MetadataSource == nil:
		return saml.Config{}, &FieldError{"idp-metadata-url", "is set, so the IdP comes from a saml.MetadataSource: build one from Settings.MetadataSourceConfig and pass it in saml.Config.MetadataSource"}
	}
	cfg.Debug = s.Debug
	cfg.AllowIdPInitiated = s.AllowIdPInitiated
	cfg.AllowCBCInUnsignedResponse = base.AllowCBCInUnsignedResponse || s.AllowCBCInUnsignedResponse
	cfg.AllowLegacyEncryption = base.AllowLegacyEncryption || s.AllowLegacyEncryption
	cfg.WantAssertionsSigned = s.WantAssertionsSigned
	cfg.AllowSHA1 = base.AllowSHA1 || s.allowSHA1()
	cfg.SigningKey, cfg.SigningCertificate, _ = s.spKeyPair()
	cfg.DecryptionKeys, cfg.EncryptionCertificate, _ = s.decryption()
	if cfg.SigningKey != nil {
		names := hashNames[s.SignatureMethod]
		if s.SignatureMethod == "" {
			names = hashNames["SHA256"]
		}
		cfg.SignatureMethod = names[0]
		if _, ok := cfg.SigningKey.Public().(*ecdsa.PublicKey); ok {
			cfg.SignatureMethod = names[1]
		}
		if d, ok := hashNames[s.DigestMethod]; ok {
			cfg.DigestMethod = d[2]
		}
	}
	return cfg, nil
}

// ServiceProvider returns the service provider of Config(base).
func (s Settings) ServiceProvider(base saml.Config) (*saml.ServiceProvider, error) {
	cfg, err := s.Config(base)
	if err != nil {
		return nil, err
	}
	return saml.NewServiceProvider(cfg)
}

// MappingConfig returns the team sync settings: TeamSync and the attribute
// names and role.
func (s Settings) MappingConfig() mapping.Config {
	return mapping.Config{
		TeamSync:                s.TeamSync,
		TeamAttribute:           s.TeamAttribute,
		UsernameAttribute:       s.UsernameAttribute,
		SiteAdminAttribute:      s.SiteAdminAttribute,
		ServiceAccountAttribute: s.ServiceAccountAttribute,
		SiteAdminRole:           s.SiteAdminRole,
		NoCommaSplit:            s.NoCommaSplit,
	}
}

// LogValue logs the settings with the private key shown only as set or
// not, and the metadata and certificates by size.
func (s Settings) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Bool("enabled", s.Enabled), slog.Bool("debug", s.Debug),
		slog.String("idp-metadata-url", s.IdPMetadataURL),
		slog.Int("idp-metadata-bytes", len(s.IdPMetadata)), slog.String("idp-entity-id", s.IdPEntityID),
		slog.String("sso-url", s.SSOURL), slog.String("slo-url", s.SLOURL),
		slog.Bool("authn-requests-signed", s.AuthnRequestsSigned), slog.String("sp-private-key", s.SPPrivateKey.String()),
		slog.String("sp-decryption-keys", s.SPDecryptionKeys.String()),
		slog.Bool("want-assertions-signed", s.WantAssertionsSigned),
		slog.String("signature-method", s.SignatureMethod), slog.String("digest-method", s.DigestMethod),
		slog.Bool("allow-cbc-in-unsigned-response", s.AllowCBCInUnsignedResponse),
		slog.Bool("allow-legacy-encryption", s.AllowLegacyEncryption),
		slog.Bool("team-sync", s.TeamSync),
	)
}

// Format prints s with the private key redacted, whatever the verb.
func (s Settings) Format(f fmt.State, verb rune) {
	type settings Settings // the same fields, without this method
	p := settings(s)
	p.SPPrivateKey = integrations.Secret(s.SPPrivateKey.String())
	p.SPDecryptionKeys = integrations.Secret(s.SPDecryptionKeys.String())
	fmt.Fprintf(f, fmt.FormatString(f, verb), p)
}

// samePublicKey reports whether a and b are the same public key.
func samePublicKey(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}
