// Package samltest is a test identity provider: it holds a key and a
// self-signed certificate, publishes metadata, and produces freshly signed
// SAML 2.0 Responses shaped like the ones Okta and ADFS post, so that tests
// of a service provider (the host's, and package saml's own) need no real
// IdP and no fixed timestamps.
//
// The shortest real use, in a host test:
//
//	idp, err := samltest.New()
//	// ... configure the service provider with idp.IdentityProvider()
//	// (or parse idp.Metadata()) ...
//	resp, err := idp.Response(samltest.ResponseSpec{
//		InResponseTo: requestID,
//		Attributes:   []samltest.Attribute{{Name: "groups", Values: []string{"admins"}}},
//	})
//	// POST resp.PostForm("") to the ACS handler, or verify resp.Base64().
//
// Every zero field of ResponseSpec means a documented default, so a test
// states only what it is about. For tests of how a verifier treats broken or
// hostile input, build a Response with Sign: SignNone, edit its XML, and sign
// the result with IdP.SignXML, which inserts signatures without
// re-serializing the rest of the document.
//
// For a host's tests of IdP metadata refreshes, MetadataWith signs the
// metadata with a key of its own, Rotate and Publishing play a signing key
// rollover, MetadataServer serves the metadata over HTTPS, and Clock moves
// a refresh schedule or an expiry alert along without waiting.
//
// TestReplayCache is the conformance suite for saml.ReplayCache: a host that
// keeps its replay cache on its own database (saml/samlpg is the PostgreSQL
// one) runs it from a test to prove the cache accepts each ID once, across
// concurrent callers.
//
// Look next at New and its options, ResponseSpec, IdP.SignXML,
// MetadataServer, and TestReplayCache.
package samltest
