package saml

import (
	"crypto/x509"
	"time"
)

// SAML binding URIs, as used in metadata and in Endpoint.Binding.
const (
	BindingHTTPRedirect = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
	BindingHTTPPOST     = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
)

// Endpoint is one IdP service location for one binding.
type Endpoint struct {
	// Binding is the SAML binding URI, such as BindingHTTPRedirect.
	Binding string
	// Location is the URL the SP sends the user (or the message) to.
	Location string
}

// IdentityProvider is what the service provider trusts about the IdP: its
// entity ID, where to send users, and the certificates it signs with.
// ParseIdPMetadata fills one from the IdP's metadata; a host can also fill
// it by hand from the admin's settings.
type IdentityProvider struct {
	// EntityID is the IdP's entity ID. Every Response and Assertion Issuer
	// must equal it exactly.
	EntityID string
	// SSOServices are the IdP's SingleSignOnService endpoints, in metadata
	// order.
	SSOServices []Endpoint
	// SLOServices are the IdP's SingleLogoutService endpoints, in metadata
	// order.
	SLOServices []Endpoint
	// Certificates are the IdP's signing certificates. A signature is
	// accepted when it verifies with any of them, so during a key rotation
	// list the old and the new one. Certificates found in a message's
	// KeyInfo are never trusted.
	Certificates []*x509.Certificate
	// ValidUntil is the metadata's validUntil; zero means no expiry. Once
	// it has passed, Verify refuses every response until fresh metadata is
	// configured.
	ValidUntil time.Time
	// CacheDuration is the metadata's shortest cacheDuration: how long it
	// may be used before it is fetched again; zero means the metadata did
	// not say. A MetadataSource refreshes within it.
	CacheDuration time.Duration
}

// SSOURL returns the location of the first SingleSignOnService with the
// given binding, or "" when the IdP offers none.
func (idp *IdentityProvider) SSOURL(binding string) string {
	for _, e := range idp.SSOServices {
		if e.Binding == binding {
			return e.Location
		}
	}
	return ""
}
