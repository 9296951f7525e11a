package saml

import "time"

// Assertion is a verified SAML assertion: who logged in, for how long, and
// the attributes the IdP sent. Every value comes from the bytes a signature
// covered.
type Assertion struct {
	// ID is the assertion's ID, which the replay cache remembers.
	ID string
	// Issuer is the IdP entity ID (equal to IdentityProvider.EntityID).
	Issuer string
	// NameID identifies the user.
	NameID NameID
	// SessionIndex is the IdP's session index, needed for single logout.
	SessionIndex string
	// AuthnInstant is when the user authenticated at the IdP.
	AuthnInstant time.Time
	// SessionNotOnOrAfter is when the IdP wants the session to end; zero
	// when it did not say.
	SessionNotOnOrAfter time.Time
	// NotOnOrAfter is when the assertion stops being valid: the earlier of
	// the Conditions and the bearer SubjectConfirmationData NotOnOrAfter.
	NotOnOrAfter time.Time
	// InResponseTo is the ID of the AuthnRequest this answers; empty for
	// IdP-initiated login.
	InResponseTo string
	// Attributes maps each attribute Name to its values in document order.
	// Attribute elements of one name are merged; an attribute sent with no
	// value maps to an empty, non-nil slice.
	Attributes Attributes
	// FriendlyNames maps attribute Names to the FriendlyName the IdP gave
	// them, for the attributes that have one.
	FriendlyNames map[string]string
	// Warnings are things an admin should know that did not make the
	// response invalid, such as an expired pinned certificate.
	Warnings []string
	// Report is the debug report, set only when Config.Debug is on.
	Report *Report
}

// NameID is the assertion's subject identifier.
type NameID struct {
	// Value is the identifier, such as "alice@example.com".
	Value string
	// Format is the NameID Format URI; empty when the IdP sent none
	// (which SAML reads as unspecified).
	Format string
	// NameQualifier, SPNameQualifier and SPProvidedID are the optional
	// qualifiers, empty when absent.
	NameQualifier, SPNameQualifier, SPProvidedID string
}

// Attributes maps attribute names to values, in document order.
type Attributes map[string][]string

// Get returns the first value of the attribute name, or "" when it is
// absent or has no value.
func (a Attributes) Get(name string) string {
	if v := a[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Has reports whether the IdP sent the attribute name, even with no value.
func (a Attributes) Has(name string) bool {
	_, ok := a[name]
	return ok
}
