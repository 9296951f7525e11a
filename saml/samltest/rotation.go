package samltest

import "crypto/x509"

// Rotate returns the IdP after a signing key rollover: a copy with the
// same entity ID, endpoints and algorithms, a fresh key and certificate
// (or those of opts: WithKey, WithCertificate, WithCertificateValidity),
// and no ExtraCertificates. With Publishing it plays the three steps a
// real IdP takes, so that a host can test that its service provider
// follows them through a metadata refresh:
//
//	next, err := idp.Rotate()
//	announce := idp.Publishing(next.Certificate) // old key signs, new certificate listed
//	switched := next.Publishing(idp.Certificate) // new key signs, old certificate still listed
//	done := next                                 // old certificate gone
//
// idp itself is not changed, so it may keep serving other tests.
func (idp *IdP) Rotate(opts ...Option) (*IdP, error) {
	base := []Option{
		WithEntityID(idp.EntityID), WithSSOURL(idp.SSOURL), WithSLOURL(idp.SLOURL),
		WithAlgorithms(idp.SignatureMethod, idp.DigestMethod),
	}
	return New(append(base, opts...)...)
}

// Publishing returns a copy of idp whose metadata and IdentityProvider
// also list certs (as ExtraCertificates), which never sign.
func (idp *IdP) Publishing(certs ...*x509.Certificate) *IdP {
	c := *idp
	c.ExtraCertificates = append([]*x509.Certificate(nil), certs...)
	return &c
}
