package samltest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/siteadmin/integrations/saml"
)

// Defaults used by New.
const (
	// DefaultEntityID is the entity ID of an IdP made without WithEntityID.
	DefaultEntityID = "https://idp.example.com/metadata"
	// DefaultSSOURL is the SingleSignOnService location of an IdP made
	// without WithSSOURL.
	DefaultSSOURL = "https://idp.example.com/sso"
	// DefaultSLOURL is the SingleLogoutService location of an IdP made
	// without WithSLOURL.
	DefaultSLOURL = "https://idp.example.com/slo"
)

// IdP is a test identity provider. Make one with New. Its methods only read
// its fields, so one IdP may serve many parallel tests; set the fields
// before sharing it, never after.
type IdP struct {
	// EntityID is the IdP's entity ID: the Issuer of its Responses and
	// Assertions and the entityID of its metadata.
	EntityID string
	// Key signs Responses and Assertions. It is an *rsa.PrivateKey or an
	// *ecdsa.PrivateKey on P-256, P-384 or P-521, or any crypto.Signer
	// whose public key is one of those.
	Key crypto.Signer
	// Certificate holds Key's public key. It is what a service provider
	// trusts and what every KeyInfo carries.
	Certificate *x509.Certificate
	// ExtraCertificates are published in the metadata and
	// IdentityProvider after Certificate but never sign: the next
	// certificate ahead of a key rollover, the previous one after it (see
	// Rotate).
	ExtraCertificates []*x509.Certificate
	// SSOURL is the SingleSignOnService location, for both bindings.
	SSOURL string
	// SLOURL is the SingleLogoutService location, for both bindings.
	SLOURL string
	// SignatureMethod is the default XML-DSig SignatureMethod URI for
	// Response and SignXML. Empty means RSASHA256 for an RSA key and
	// ECDSASHA256 for an ECDSA key.
	SignatureMethod string
	// DigestMethod is the default XML-DSig DigestMethod URI for Response
	// and SignXML. Empty means DigestSHA256.
	DigestMethod string
}

// Option configures New.
type Option func(*config)

type config struct {
	entityID          string
	key               crypto.Signer
	cert              *x509.Certificate
	notBefore         time.Time
	notAfter          time.Time
	ssoURL, sloURL    string
	sigMethod, digest string
}

// WithEntityID sets the IdP's entity ID instead of DefaultEntityID.
func WithEntityID(id string) Option { return func(c *config) { c.entityID = id } }

// WithKey makes the IdP sign with key instead of a fresh RSA-2048 key. The
// key must be RSA, or ECDSA on P-256, P-384 or P-521. Unless WithCertificate
// is also given, New makes a self-signed certificate for it.
func WithKey(key crypto.Signer) Option { return func(c *config) { c.key = key } }

// WithCertificate makes the IdP present cert instead of a fresh self-signed
// certificate, for example an expired one in a test of certificate dates.
// It requires WithKey, and cert must hold that key's public key.
func WithCertificate(cert *x509.Certificate) Option { return func(c *config) { c.cert = cert } }

// WithCertificateValidity sets the validity period of the self-signed
// certificate that New makes (by default from an hour ago for ten years),
// for example to get an expired or not-yet-valid certificate. It is ignored
// when WithCertificate is given.
func WithCertificateValidity(notBefore, notAfter time.Time) Option {
	return func(c *config) { c.notBefore, c.notAfter = notBefore, notAfter }
}

// WithSSOURL sets the SingleSignOnService location instead of
// DefaultSSOURL.
func WithSSOURL(u string) Option { return func(c *config) { c.ssoURL = u } }

// WithSLOURL sets the SingleLogoutService location instead of
// DefaultSLOURL.
func WithSLOURL(u string) Option { return func(c *config) { c.sloURL = u } }

// WithAlgorithms sets the IdP's default SignatureMethod and DigestMethod
// URIs (see IdP.SignatureMethod and IdP.DigestMethod); an empty string keeps
// the default for that one.
func WithAlgorithms(signatureMethod, digestMethod string) Option {
	return func(c *config) { c.sigMethod, c.digest = signatureMethod, digestMethod }
}

// New returns a test IdP with a fresh RSA-2048 key and a self-signed
// certificate (valid from an hour ago for ten years), entity ID
// DefaultEntityID, SSO location DefaultSSOURL and SLO location
// DefaultSLOURL, unless an option says otherwise.
func New(opts ...Option) (*IdP, error) {
	c := config{entityID: DefaultEntityID, ssoURL: DefaultSSOURL, sloURL: DefaultSLOURL}
	for _, o := range opts {
		o(&c)
	}
	if c.entityID == "" {
		return nil, errors.New("samltest: the entity ID is empty")
	}
	if c.cert != nil && c.key == nil {
		return nil, errors.New("samltest: WithCertificate needs WithKey with the certificate's private key")
	}
	if c.key == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("samltest: generating an RSA key: %w", err)
		}
		c.key = k
	}
	if _, err := keyKind(c.key.Public()); err != nil {
		return nil, err
	}
	if c.cert == nil {
		if c.notBefore.IsZero() && c.notAfter.IsZero() {
			now := time.Now()
			c.notBefore, c.notAfter = now.Add(-time.Hour), now.AddDate(10, 0, 0)
		}
		cert, err := NewCertificate(c.key, c.entityID, c.notBefore, c.notAfter)
		if err != nil {
			return nil, err
		}
		c.cert = cert
	} else if !samePublicKey(c.cert.PublicKey, c.key.Public()) {
		return nil, errors.New("samltest: the certificate given with WithCertificate does not hold the public key of the key given with WithKey")
	}
	idp := &IdP{
		EntityID:        c.entityID,
		Key:             c.key,
		Certificate:     c.cert,
		SSOURL:          c.ssoURL,
		SLOURL:          c.sloURL,
		SignatureMethod: c.sigMethod,
		DigestMethod:    c.digest,
	}
	if _, err := idp.algorithms(c.sigMethod, c.digest); err != nil {
		return nil, err
	}
	return idp, nil
}

// NewCertificate returns a self-signed certificate for key (RSA, or ECDSA on
// P-256, P-384 or P-521) with common name cn, valid from notBefore to
// notAfter. It signs with SHA-256 (RSA) or the curve's matching SHA-2
// (ECDSA). New uses it; tests use it to make expired or rotated
// certificates for WithCertificate.
func NewCertificate(key crypto.Signer, cn string, notBefore, notAfter time.Time) (*x509.Certificate, error) {
	if _, err := keyKind(key.Public()); err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("samltest: certificate serial number: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"samltest"}},
		NotBefore:             notBefore.UTC(),
		NotAfter:              notAfter.UTC(),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("samltest: creating a certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

// IdentityProvider returns what a service provider trusts about this IdP:
// its entity ID, its SSO and SLO endpoints for the HTTP-Redirect and
// HTTP-POST bindings (in that order), and its certificate followed by its
// ExtraCertificates.
func (idp *IdP) IdentityProvider() saml.IdentityProvider {
	return saml.IdentityProvider{
		EntityID: idp.EntityID,
		SSOServices: []saml.Endpoint{
			{Binding: saml.BindingHTTPRedirect, Location: idp.SSOURL},
			{Binding: saml.BindingHTTPPOST, Location: idp.SSOURL},
		},
		SLOServices: []saml.Endpoint{
			{Binding: saml.BindingHTTPRedirect, Location: idp.SLOURL},
			{Binding: saml.BindingHTTPPOST, Location: idp.SLOURL},
		},
		Certificates: append([]*x509.Certificate{idp.Certificate}, idp.ExtraCertificates...),
	}
}

type keyType int

const (
	keyRSA keyType = iota + 1
	keyECDSA
)

func keyKind(pub crypto.PublicKey) (keyType, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return keyRSA, nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return keyECDSA, nil
		}
		return 0, fmt.Errorf("samltest: ECDSA curve %s is not supported; use P-256, P-384 or P-521", k.Curve.Params().Name)
	}
	return 0, fmt.Errorf("samltest: key type %T is not supported; use RSA or ECDSA", pub)
}

func samePublicKey(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}
