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
// The rest of the login is here too: AuthnRequest starts a login (HTTP-Redirect
// or HTTP-POST, signed with Config.SigningKey), CookieTracker (or the host's
// RequestTracker) remembers which requests a browser has outstanding,
// SafeRedirect keeps RelayState on the site, Metadata publishes the SP
// metadata, LogoutRequest and ParseLogoutRequest run single logout, and
// NewHandler serves all of it (login, ACS with team sync, metadata, logout)
// under one prefix. Settings is the admin's SAML page.
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
// login yields, Handler for the HTTP side, ReplayCache for hosts with
// several instances, and package samltest for a test IdP.
package saml
