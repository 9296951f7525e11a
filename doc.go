// Package integrations is the root of an SDK that gives a multi-tenant
// application (organizations, teams, users, site admins) its site-wide
// service integrations. The host keeps its own users, teams and settings;
// the SDK verifies, computes, renders and sends, and reaches the host's data
// only through small interfaces the host implements.
//
// The packages:
//
//   - saml: the SAML 2.0 protocol of a service provider; it verifies the
//     IdP's Response, strictly by default; saml/samltest is a test IdP.
//   - saml/samlsp: the web login flow around it: an HTTP handler with team
//     sync, request-tracking cookies, the admin's SAML settings.
//   - mapping: turns assertion attributes (Username, SiteAdmin, MemberOf,
//     IsServiceAccount) into an explained membership Diff and applies it
//     through the host's store; mapping/mappingtest is an in-memory store.
//   - notify: notification kinds, templates and delivery with retries and
//     an outbox; notify/notifytest records what would be sent.
//   - smtpx: a notify.Mailer over SMTP; smtpx/smtptest is a real SMTP
//     server in-process.
//   - twilio: a notify.SMSSender over Twilio; twilio/twiliotest fakes its
//     Messages API.
//
// A login, in short:
//
//	a, err := sp.Verify(ctx, r.PostFormValue("SAMLResponse"), requestIDs...)
//	if err != nil { ... } // err.(*saml.Error).Code says which rule failed
//	diff, err := cfg.Sync(ctx, store, mapping.Login{
//		NameID:     a.NameID.Value,
//		Attributes: mapping.Attributes(a.Attributes),
//	})
//	log.Print(diff) // every change and why
//
// Secret, in this package, is the one type of every password, token and key
// in the settings types: it never prints, yet round-trips JSON.
//
// examples/quickstart runs the whole flow on the bundled fakes.
package integrations
