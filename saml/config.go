package saml

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"
)

// Defaults for the zero values of Config.
const (
	// DefaultClockSkew is how far the IdP's clock may be from ours. SAML
	// deployments commonly allow one to three minutes; 90 s is in the
	// middle.
	DefaultClockSkew = 90 * time.Second
	// DefaultMaxResponseSize caps the decoded XML of one response. The
	// largest real responses (Azure AD with 150 groups) stay under 100 KB.
	DefaultMaxResponseSize = 1 << 20
)

// Config is the service provider's configuration. EntityID, ACSURL and IdP
// are required; every other zero value means the documented default.
type Config struct {
	// EntityID is this service provider's entity ID. Assertions must name
	// it in every AudienceRestriction.
	EntityID string
	// ACSURL is the Assertion Consumer Service URL the IdP posts to.
	// Destination and Recipient must equal it exactly.
	ACSURL string
	// IdP is the identity provider this service provider trusts, as
	// returned by ParseIdPMetadata or filled from the admin's settings.
	// Required unless MetadataSource is set. SetIdentityProvider replaces
	// it later without a restart.
	IdP IdentityProvider
	// MetadataSource, when set, supplies the IdP instead of IdP: every
	// Verify, logout message and AuthnRequest uses the source's current
	// metadata, which its refreshes replace (certificate rollover
	// included). The source must hold metadata already (from its URL or
	// its backing copy). Default: nil, Config.IdP is used.
	MetadataSource *MetadataSource

	// SigningKey and SigningCertificate are this service provider's key
	// pair for signing AuthnRequests and LogoutRequests; the certificate
	// is published in the SP metadata. Optional: without them requests go
	// unsigned. The key must be RSA or ECDSA and match the certificate.
	SigningKey         crypto.Signer
	SigningCertificate *x509.Certificate
	// NextSigningCertificate is the certificate of the key that will
	// replace SigningKey, published in the SP metadata beside
	// SigningCertificate ahead of the switch, so that the IdP trusts
	// both while its admin imports the new metadata. Requests are still
	// signed with SigningKey. Optional; needs SigningCertificate.
	NextSigningCertificate *x509.Certificate
	// DecryptionKeys are the RSA keys encrypted assertions may be
	// encrypted to, the current one first; keep the previous key during a
	// rotation. Optional: without them an encrypted assertion is refused.
	DecryptionKeys []*rsa.PrivateKey
	// EncryptionCertificate is published in the SP metadata for the IdP to
	// encrypt to; it must hold DecryptionKeys[0]'s public key. Optional.
	EncryptionCertificate *x509.Certificate
	// NextEncryptionCertificate is published in the SP metadata after
	// EncryptionCertificate ahead of a key rollover; it must hold the
	// public key of one of DecryptionKeys, so that assertions encrypted
	// to either certificate decrypt. Optional; needs
	// EncryptionCertificate.
	NextEncryptionCertificate *x509.Certificate

	// SLOURL is this service provider's single logout URL, where the IdP
	// sends LogoutRequests and LogoutResponses (HTTP-Redirect or
	// HTTP-POST). Optional: without it the metadata has no
	// SingleLogoutService and logout stays local.
	SLOURL string
	// SignatureMethod is the XML-DSig SignatureMethod URI of the requests
	// this service provider signs (with SigningKey), over the query in the
	// HTTP-Redirect binding and in the XML in the HTTP-POST binding.
	// Default: RSA-SHA256, or ECDSA-SHA256 for an ECDSA key. A SHA-1
	// method is the host asking for SHA-1, as the admin's "signature
	// method" setting says.
	SignatureMethod string
	// DigestMethod is the XML-DSig DigestMethod URI of signed XML
	// requests. Default: SHA-256.
	DigestMethod string
	// WantAssertionsSigned, the admin's "want assertions signed" setting,
	// requires the Assertion itself to be signed, and is published in the
	// SP metadata. Default false: a signed Response covers its Assertion.
	WantAssertionsSigned bool

	// Clock returns the current time. Default: time.Now.
	Clock func() time.Time
	// ClockSkew is the tolerance applied to every time comparison.
	// Default: DefaultClockSkew. Negative values are an error.
	ClockSkew time.Duration
	// MaxResponseSize caps the decoded response, in bytes. Default:
	// DefaultMaxResponseSize. At the default, whatever a response holds,
	// verifying it costs at most about 50 ms of CPU and 20 MB of
	// allocations (BenchmarkHostileInput); a larger cap admits more text,
	// which etree parses at about 30 ms per MB. Logout messages are capped
	// at MaxLogoutMessageSize.
	MaxResponseSize int

	// AllowIdPInitiated accepts responses without InResponseTo
	// (IdP-initiated, or "unsolicited", login). Default false: every
	// response must answer a request the host passes to Verify.
	AllowIdPInitiated bool
	// AllowSHA1 accepts rsa-sha1, ecdsa-sha1 and sha1 digests. Default
	// false. Turn it on only for an IdP that cannot sign with SHA-256, as
	// the admin's "signature method" setting says.
	AllowSHA1 bool
	// AllowCBCInUnsignedResponse accepts an assertion encrypted with
	// AES-CBC inside an unsigned Response (the assertion itself must then
	// be signed). Default false: CBC ciphertext can be altered undetected,
	// and the alterations a padding or parse oracle measures decrypt it
	// (Jager and Somorovsky, 2011); a Response signature, checked before
	// decrypting, stops them. AD FS, Shibboleth and SimpleSAMLphp encrypt
	// with CBC and sign only the assertion unless told otherwise: have the
	// IdP sign the Response or use AES-GCM, or turn this on for them.
	AllowCBCInUnsignedResponse bool
	// AllowLegacyEncryption accepts RSA PKCS#1 v1.5 key transport and
	// Triple DES content encryption. Default false: the first is open to
	// Bleichenbacher's attack, the second is too weak.
	AllowLegacyEncryption bool
	// CheckCertificateDates rejects signatures made with a pinned IdP
	// certificate outside its validity dates. Default false, as in
	// python3-saml and ruby-saml: the certificate is trusted because it is
	// configured, IdPs often use expired self-signed certificates, and the
	// debug report warns about them.
	CheckCertificateDates bool

	// ReplayCache remembers assertion IDs until they expire. Default: a
	// MemoryReplayCache of DefaultReplayCacheSize entries, which protects
	// one process; hosts with several instances should share one.
	ReplayCache ReplayCache
	// Debug attaches a Report to every result: Assertion.Report on
	// success and Error.Report on failure. Default false. It mirrors the
	// admin's "Enable SAML debugging" switch.
	Debug bool
	// Logger receives one line per rejected response. Default: silent.
	Logger *slog.Logger
}

// ServiceProvider verifies SAML responses for one Config. It is safe for
// concurrent use.
type ServiceProvider struct {
	cfg   Config
	trust *trustCell // the IdP in use: its own, or its MetadataSource's
}

// trustedCert is one pinned IdP certificate.
type trustedCert struct {
	cert *x509.Certificate
}

// NewServiceProvider validates cfg, fills its defaults and returns a
// ServiceProvider. An invalid field is an error that names it.
func NewServiceProvider(cfg Config) (*ServiceProvider, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.ClockSkew == 0 {
		cfg.ClockSkew = DefaultClockSkew
	}
	if cfg.MaxResponseSize == 0 {
		cfg.MaxResponseSize = DefaultMaxResponseSize
	}
	if cfg.ReplayCache == nil {
		c := NewMemoryReplayCache(0)
		c.Clock = cfg.Clock
		cfg.ReplayCache = c
	}
	sp := &ServiceProvider{cfg: cfg}
	if cfg.MetadataSource != nil {
		sp.trust = &cfg.MetadataSource.trust
		return sp, nil
	}
	t, err := newTrust(cfg.IdP)
	if err != nil {
		return nil, err
	}
	sp.trust = &trustCell{}
	sp.trust.p.Store(t)
	return sp, nil
}

func (cfg *Config) validate() error {
	var errs []error
	field := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("saml: Config.%s: %s", name, fmt.Sprintf(format, args...)))
	}
	if cfg.EntityID == "" {
		field("EntityID", "required: this service provider's entity ID (the audience IdPs put in assertions)")
	}
	if err := checkURL(cfg.ACSURL); err != nil {
		field("ACSURL", "%v", err)
	}
	switch {
	case cfg.MetadataSource == nil:
		errs = append(errs, validateIdP(cfg.IdP, "IdP")...)
	case cfg.MetadataSource.trust.load() == nil:
		field("MetadataSource", "holds no IdP metadata yet: neither its URL nor its backing copy gave any (%v)", cfg.MetadataSource.Status().LastError)
	}
	if (cfg.SigningKey == nil) != (cfg.SigningCertificate == nil) {
		field("SigningKey", "SigningKey and SigningCertificate go together: set both or neither")
	} else if cfg.SigningKey != nil && !samePublicKey(cfg.SigningKey.Public(), cfg.SigningCertificate.PublicKey) {
		field("SigningCertificate", "does not hold SigningKey's public key")
	}
	if cfg.SigningKey != nil {
		switch cfg.SigningKey.Public().(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey:
		default:
			field("SigningKey", "is a %T key; only RSA and ECDSA are supported", cfg.SigningKey.Public())
		}
	}
	for i, k := range cfg.DecryptionKeys {
		if k == nil {
			field(fmt.Sprintf("DecryptionKeys[%d]", i), "is nil")
		}
	}
	if cfg.EncryptionCertificate != nil {
		if len(cfg.DecryptionKeys) == 0 || cfg.DecryptionKeys[0] == nil {
			field("EncryptionCertificate", "is set but DecryptionKeys is empty: the SP could not decrypt what the IdP encrypts to it")
		} else if !samePublicKey(&cfg.DecryptionKeys[0].PublicKey, cfg.EncryptionCertificate.PublicKey) {
			field("EncryptionCertificate", "does not hold DecryptionKeys[0]'s public key")
		}
	}
	errs = append(errs, cfg.validateNext()...) // trust.go: the next certificates of a key rollover
	if cfg.ClockSkew < 0 {
		field("ClockSkew", "must not be negative, got %v", cfg.ClockSkew)
	}
	if cfg.MaxResponseSize < 0 {
		field("MaxResponseSize", "must not be negative, got %d", cfg.MaxResponseSize)
	}
	errs = append(errs, cfg.validateSigning()...) // binding.go: SLOURL and the request signing methods
	return errors.Join(errs...)
}

func samePublicKey(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

func checkURL(s string) error {
	if s == "" {
		return errors.New("required: the URL the IdP posts responses to")
	}
	// Destination and Recipient are compared as strings, exactly as the
	// IdP was configured, so any parseable URL is accepted.
	if _, err := url.Parse(s); err != nil {
		return fmt.Errorf("not a URL: %v", err)
	}
	return nil
}

// Config returns the configuration in use, defaults filled in, with IdP
// the IdP trusted right now (see IdentityProvider).
func (sp *ServiceProvider) Config() Config {
	cfg := sp.cfg
	cfg.IdP = sp.IdentityProvider()
	return cfg
}
