// Package saml is a SAML 2.0 service provider: it verifies the Response an
// identity provider (Okta, Azure AD, ADFS, Google, Shibboleth, ...) posts to
// the host's Assertion Consumer Service and returns who logged in.
//
//	idp, err := saml.ParseIdPMetadata(metadataXML, "")
//	sp, err := saml.NewServiceProvider(saml.Config{
//		EntityID: "https://app.example.com/saml/metadata",
//		ACSURL:   "https://app.example.com/saml/acs",
//		IdP:      *idp,
//	})
//	// in the ACS handler:
//	a, err := sp.Verify(r.Context(), r.PostFormValue("SAMLResponse"), outstandingRequestIDs...)
//	// a.NameID.Value, a.Attributes["MemberOf"], ...
//
// Verification is strict by default. The XML is parsed once and refused if it
// holds a DOCTYPE, an entity, a processing instruction, a duplicate ID or
// attribute, or names a re-serialization could change. There must be exactly
// one Assertion and at least one of the Response and the Assertion must be
// signed, with at most one signature on each, a single "#ID" reference,
// exclusive c14n and RSA or ECDSA with SHA-256 or stronger (SHA-1 only with
// Config.AllowSHA1). Only the pinned IdP certificates are trusted, never one
// from KeyInfo. Every value is read from the element the signature
// verification returned. Then every SAML rule: Status, Issuers, Destination,
// bearer SubjectConfirmation, Conditions and audience, IssueInstant,
// InResponseTo against the host's outstanding requests, AuthnStatement, and
// a replay cache that accepts each assertion once.
//
// A rejection is an *Error whose Code names the rule (errors.Is works with
// ErrAudience, ErrSignature, ...) and whose message says what was expected
// and what came. Config.Debug attaches a Report of every check, for the
// admin's "Enable SAML debugging" page.
//
// Encrypted assertions (and EncryptedID, EncryptedAttribute) are decrypted
// with Config.DecryptionKeys: RSA-OAEP key transport and AES-GCM or AES-CBC
// content, the Response signature checked first, CBC only inside a signed
// Response, RSA PKCS#1 v1.5 and Triple DES only on request, and one error
// message for every failure to decrypt, so that nothing leaks an oracle.
//
// The protocol's other messages are here too: AuthnRequest starts a login
// (HTTP-Redirect or HTTP-POST, signed with Config.SigningKey), Metadata
// publishes the SP metadata, ParseIdPMetadata reads the IdP's, and
// LogoutRequest, ParseLogoutRequest, LogoutResponse and ParseLogoutResponse
// run single logout. The IdP must sign the logout messages it sends: the
// service provider refuses unsigned ones.
//
// # IdP metadata that keeps itself current
//
// IdPs rotate their signing certificates (Entra ID every three years, AD
// FS on its own schedule). A MetadataSource fetches the IdP's metadata
// from its URL over HTTPS, checks it (against pinned metadata-signing
// certificates when configured: without them TLS alone vouches for it),
// and refreshes it within its cacheDuration and validUntil; a service
// provider with Config.MetadataSource trusts the certificates the last
// good metadata lists, so a new certificate is trusted once announced and
// the old one stops being trusted once dropped, with no restart. A failed
// refresh, or one that would change the entity ID, keeps the last good
// metadata; a backing copy the host stores serves after a restart while
// the IdP is down; once the metadata's validUntil has passed, logins fail
// with CodeExpired. SetIdentityProvider swaps a hand-made configuration
// the same way. Config.NextSigningCertificate and
// NextEncryptionCertificate publish the service provider's own next
// certificates ahead of a rollover. An Alerter warns the host 30, 7 and 1
// days before a certificate or the metadata expires, and when refreshes
// keep failing.
//
// This package imports nothing of the SDK beyond itself. The web login flow
// around it (the HTTP handler with team sync, request-tracking cookies,
// the admin's settings page, safe redirects) is package samlsp.
//
// What a stranger can make the service provider do is bounded: bytes,
// elements and attributes are capped before a tree is built, and each
// signature is canonicalized and digested once, however many certificates
// are pinned, so any response up to Config.MaxResponseSize is answered in
// about 50 ms of CPU and 20 MB.
//
// Single logout (ParseLogoutRequest, ParseLogoutResponse) needs the IdP to
// sign its logout messages: unsigned ones are refused, since anyone could
// otherwise end a user's sessions or confirm a logout that did not happen.
// Admins turn signing on at the IdP; in SimpleSAMLphp it is
// 'sign.logout' => true in the IdP's metadata for this service provider.
//
// Read next: Config for the options and their defaults, Assertion for what a
// login yields, ReplayCache for hosts with several instances,
// MetadataSource and Alerter for IdP metadata that stays current, package
// samlsp for the HTTP side, and package samltest for a test IdP.
package saml
