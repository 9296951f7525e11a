// Package mapping turns the attributes of a sign-in (a SAML assertion, OIDC
// claims, LDAP groups) into an explainable Diff of the user's username,
// site admin access, service-account flag and team memberships, and applies
// it through the host's own storage.
//
// On every login the host hands over who signed in and what the IdP
// asserted; Sync reads what it needs, plans, and applies the plan in one of
// the host's transactions:
//
//	cfg := mapping.Config{TeamSync: true} // MemberOf, Username, SiteAdmin, ... by default
//	diff, err := cfg.Sync(ctx, store, mapping.Login{
//		NameID:     assertion.NameID,
//		Attributes: mapping.Attributes(assertion.Attributes),
//	})
//	if err != nil {
//		return err // nothing was changed
//	}
//	audit.Log("saml login", diff) // JSON, or diff.String() for people
//
// Every change and every non-change in the Diff carries its reason: why a
// team was joined (which value matched which field), why one was left, why
// a value was ignored (no such team, an owners team, a taken username),
// why a removal was blocked (the last owner), and warnings about the
// assertion itself (no team attribute, Azure AD's group overage, LDAP DNs
// split at commas). Diff.String says it in sentences; Diff's JSON is what
// samlcheck -plan prints.
//
// The planner, Config.Plan, is pure: it reads an Input and returns a Diff,
// sorted, with no I/O, so it is also how an admin previews a login
// (Config.Preview) and how tests pin the rules down. Planning again after
// applying a Diff yields an Empty Diff.
//
// Read next: Config (the admin's settings and their defaults), Plan (the
// rules), Diff (the result), and Directory, Store and Tx (what the host
// implements). Package mappingtest has an in-memory Store to test against.
package mapping
