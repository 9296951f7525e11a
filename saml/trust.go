package saml

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// trust is what a service provider trusts about its IdP at one moment: the
// IdentityProvider and one verification context per pinned certificate. A
// trust is never modified once published; a new one replaces it whole, so
// that one Verify (or logout message, or AuthnRequest) reads one consistent
// IdP from start to end, whatever swaps happen meanwhile.
type trust struct {
	idp   IdentityProvider
	certs []trustedCert
}

// trustCell holds the current trust. A ServiceProvider has its own, or
// shares its MetadataSource's.
type trustCell struct {
	p atomic.Pointer[trust]
}

func (c *trustCell) load() *trust { return c.p.Load() }

// newTrust validates idp and builds its verification contexts. The
// certificate slices are copied, so that the caller may reuse its own.
func newTrust(idp IdentityProvider) (*trust, error) {
	if err := errors.Join(validateIdP(idp, "IdP")...); err != nil {
		return nil, err
	}
	idp.Certificates = append(idp.Certificates[:0:0], idp.Certificates...)
	idp.SSOServices = append(idp.SSOServices[:0:0], idp.SSOServices...)
	idp.SLOServices = append(idp.SLOServices[:0:0], idp.SLOServices...)
	t := &trust{idp: idp, certs: make([]trustedCert, 0, len(idp.Certificates))}
	for _, c := range idp.Certificates {
		t.certs = append(t.certs, trustedCert{cert: c})
	}
	return t, nil
}

// validateIdP returns the problems of idp as Config field errors under
// the given field name.
func validateIdP(idp IdentityProvider, name string) []error {
	var errs []error
	field := func(f, format string, args ...any) {
		errs = append(errs, fmt.Errorf("saml: Config.%s: %s", name+f, fmt.Sprintf(format, args...)))
	}
	if idp.EntityID == "" {
		field(".EntityID", "required: the IdP's entity ID, which every Issuer must equal")
	}
	if len(idp.Certificates) == 0 {
		field(".Certificates", "required: at least one IdP signing certificate")
	}
	for i, c := range idp.Certificates {
		if c == nil {
			field(fmt.Sprintf(".Certificates[%d]", i), "is nil")
			continue
		}
		switch c.PublicKey.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey:
		default:
			field(fmt.Sprintf(".Certificates[%d]", i), "has a %T key; only RSA and ECDSA are supported", c.PublicKey)
		}
	}
	return errs
}

// ErrEntityIDChanged is returned (wrapped) when new IdP configuration, set
// with SetIdentityProvider or fetched by a MetadataSource, names another
// entity ID than the one in use, and when metadata describes another
// entity than the one asked for. A different IdP is a new service
// provider configuration for the admin to make, never a side effect of a
// refresh.
var ErrEntityIDChanged = errors.New("saml: the IdP entity ID changed")

// trusted returns the trust in use. Load it once per operation.
func (sp *ServiceProvider) trusted() *trust { return sp.trust.load() }

// IdentityProvider returns the IdP the service provider trusts right now:
// the one of Config.IdP, or of the last SetIdentityProvider, or the
// current metadata of Config.MetadataSource. Its slices must not be
// modified.
func (sp *ServiceProvider) IdentityProvider() IdentityProvider { return sp.trusted().idp }

// SetIdentityProvider replaces the trusted IdP configuration, for example
// after the admin pasted the IdP's new certificate, without a restart:
// Verify calls in progress finish with the configuration they started
// with, later ones use idp. It refuses, and keeps the configuration in
// use, an idp without an entity ID or signing certificate, with an
// unsupported key, or with another entity ID than the one in use
// (ErrEntityIDChanged: a different IdP is a new ServiceProvider). A
// service provider whose IdP comes from a MetadataSource refuses it too:
// the source decides.
func (sp *ServiceProvider) SetIdentityProvider(idp IdentityProvider) error {
	if sp.cfg.MetadataSource != nil {
		return errors.New("saml: SetIdentityProvider: this service provider's IdP comes from a MetadataSource; refresh the source instead")
	}
	t, err := newTrust(idp)
	if err != nil {
		return err
	}
	for {
		old := sp.trust.load()
		if old.idp.EntityID != idp.EntityID {
			return fmt.Errorf("%w: %q is in use, the new configuration names %q; make a new ServiceProvider for another IdP", ErrEntityIDChanged, old.idp.EntityID, idp.EntityID)
		}
		if sp.trust.p.CompareAndSwap(old, t) {
			return nil
		}
	}
}

// validateNext checks the certificates published ahead of a key rollover.
func (cfg *Config) validateNext() []error {
	var errs []error
	field := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("saml: Config.%s: %s", name, fmt.Sprintf(format, args...)))
	}
	if c := cfg.NextSigningCertificate; c != nil {
		switch c.PublicKey.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey:
		default:
			field("NextSigningCertificate", "has a %T key; only RSA and ECDSA are supported", c.PublicKey)
		}
		if cfg.SigningCertificate == nil {
			field("NextSigningCertificate", "is set but SigningCertificate is not: publish the next certificate beside a current one")
		}
	}
	if c := cfg.NextEncryptionCertificate; c != nil {
		if cfg.EncryptionCertificate == nil {
			field("NextEncryptionCertificate", "is set but EncryptionCertificate is not: publish the next certificate beside a current one")
		}
		found := false
		for _, k := range cfg.DecryptionKeys {
			found = found || k != nil && samePublicKey(&k.PublicKey, c.PublicKey)
		}
		if !found {
			field("NextEncryptionCertificate", "holds none of DecryptionKeys' public keys: add its private key, or the SP could not decrypt what the IdP encrypts to it")
		}
	}
	return errs
}

// checkValidUntil refuses everything once the IdP metadata has expired:
// the IdP may have moved on to keys and endpoints it no longer tells us.
func (t *trust) checkValidUntil(now time.Time) *Error {
	if until := t.idp.ValidUntil; !until.IsZero() && !now.Before(until) {
		return newError(CodeExpired, "the IdP metadata was valid until %s (validUntil); fetch fresh metadata from the IdP", stamp(until))
	}
	return nil
}
