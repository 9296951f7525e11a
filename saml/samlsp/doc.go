// Package samlsp is the web side of a SAML service provider: the HTTP
// handler that runs a host's whole login under one prefix, the cookies that
// remember which requests each browser has open, the admin's SAML settings
// page, and the redirect checks that keep a RelayState on the site. The
// protocol itself (verifying a Response, building requests, metadata) is
// package saml; team sync is package mapping.
//
//	sp, err := settings.ServiceProvider(saml.Config{ // settings: a samlsp.Settings from the admin page
//		EntityID: "https://app.example.com/saml/metadata",
//		ACSURL:   "https://app.example.com/saml/acs",
//	})
//	m := settings.MappingConfig()
//	h, err := samlsp.NewHandler(sp, samlsp.HandlerConfig{
//		Tracker: &samlsp.CookieTracker{Key: key32}, // the same key on every instance
//		Mapping: &m, Store: store,                // team sync on each login
//		Login:   startSession,                    // the host's session, given the Assertion and the Diff
//	})
//	mux.Handle("/saml/", h)
//
// GET /saml/login sends an AuthnRequest and tracks its ID for this browser;
// the IdP posts the Response to the ACS, where it is verified against this
// browser's outstanding requests, team sync runs, and Login starts the
// host's session; POST /saml/logout and the SLO URL run single logout;
// /saml/metadata serves the SP metadata.
//
// With an "IdP metadata URL" in the settings, the IdP comes from a
// saml.MetadataSource that keeps it current through certificate
// rollovers: build it from Settings.MetadataSourceConfig, store what its
// SaveBackingCopy receives as the settings' IdPMetadata, and pass it in
// saml.Config.MetadataSource. Without a "Metadata signing certificate",
// TLS alone vouches for that metadata.
//
// Read next: HandlerConfig for the options and their defaults,
// CookieTracker and RequestTracker for hosts with several instances,
// Settings for the admin page, and SafeRedirect.
package samlsp
