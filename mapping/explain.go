package mapping

import (
	"fmt"
	"strings"
)

// String explains d in plain sentences, one per line: what will change and
// why, then what was left alone and why, then the warnings. A Diff with no
// entries reads "Nothing changes."
func (d Diff) String() string {
	var b strings.Builder
	line := func(format string, args ...any) {
		fmt.Fprintf(&b, format, args...)
		b.WriteByte('\n')
	}
	if d.NewUser {
		line("A new user is created.")
	}
	// The username's line carries its own reason: an ignored Username
	// value is told there, not among the other ignored values.
	usernameValue := ignoredUsername(d.Ignored)
	switch {
	case d.Username != nil:
		line("%s", explainUsername(d.Username, d.NewUser, usernameValue))
	case usernameValue != nil:
		line("The username stays as it is: %s.", whyUsernameIgnored(*usernameValue))
	}
	if c := d.SiteAdmin; c != nil {
		line("%s", explainSiteAdmin(c))
	}
	if c := d.ServiceAccount; c != nil {
		line("%s", explainServiceAccount(c))
	}
	for _, a := range d.Add {
		line("%s", explainAdd(a))
	}
	for _, r := range d.Remove {
		// A removal does not say whether the team is an owners team (its
		// JSON is fixed), so the sentence names both keys.
		line("Leaves team %s: no asserted value is its name or SSO Team ID (for an owners team: its SAML Role ID).", teamRef(r.Name, r.Org, r.Team))
	}
	for _, r := range d.Blocked {
		line("Stays in owners team %s: the user is its last member, and removing them would leave the organization without owners.", teamRef(r.Name, r.Org, r.Team))
	}
	for i := range d.Ignored {
		if &d.Ignored[i] != usernameValue {
			line("%s", explainIgnored(d.Ignored[i]))
		}
	}
	for _, w := range d.Warnings {
		line("Warning: %s.", strings.TrimSuffix(w.Detail, "."))
	}
	if b.Len() == 0 {
		return "Nothing changes.\n"
	}
	if d.Empty() {
		return "Nothing changes.\n" + b.String()
	}
	return b.String()
}

func teamRef(name, org, id string) string {
	return fmt.Sprintf("%q of organization %q (ID %s)", name, org, id)
}

// explainAdd names the key a value matched with the reference's term for
// it: the SAML Role ID for an owners team (set on its owners team page),
// the SSO Team ID for every other team.
func explainAdd(a TeamAdd) string {
	ref := teamRef(a.Name, a.Org, a.Team)
	switch a.MatchedBy {
	case MatchName:
		return fmt.Sprintf("Joins team %s: the value %q is its name.", ref, a.Value)
	case MatchSSOTeamID:
		return fmt.Sprintf("Joins team %s: the value %q is its SSO Team ID.", ref, a.Value)
	case MatchOwnersRoleID:
		return fmt.Sprintf("Joins owners team %s: the value %q is its SAML Role ID.", ref, a.Value)
	}
	return fmt.Sprintf("Joins team %s: the value %q matches it (%s).", ref, a.Value, a.MatchedBy)
}

// ignoredUsername returns the ignored Username value, or nil. The planner
// reads only the first value of that attribute, so there is at most one.
func ignoredUsername(ignored []IgnoredValue) *IgnoredValue {
	for i, v := range ignored {
		if v.Reason == ReasonUsernameTaken || v.Reason == ReasonUsernameInvalid {
			return &ignored[i]
		}
	}
	return nil
}

func whyUsernameIgnored(v IgnoredValue) string {
	if v.Reason == ReasonUsernameTaken {
		return fmt.Sprintf("the %s value %q is taken by another user", v.Attribute, v.Value)
	}
	return fmt.Sprintf("the %s value %q is not a valid username", v.Attribute, v.Value)
}

// explainUsername says what the username becomes and why, on one line;
// ignored is the Username value that was not used, or nil.
func explainUsername(c *StringChange, newUser bool, ignored *IgnoredValue) string {
	subject := fmt.Sprintf("The username changes from %q to %q", c.From, c.To)
	if newUser {
		subject = fmt.Sprintf("The username is %q", c.To)
	}
	switch c.Reason {
	case ReasonUsernameAttribute:
		return subject + ": the username attribute asserts it."
	case ReasonEmailDefault:
		if ignored != nil {
			return subject + ", derived from the email address, because " + whyUsernameIgnored(*ignored) + "."
		}
		return subject + ", derived from the email address, as the assertion carries no username."
	}
	return fmt.Sprintf("%s (%s).", subject, c.Reason)
}

func explainSiteAdmin(c *BoolChange) string {
	what := "Site admin access is revoked"
	if c.To {
		what = "Site admin access is granted"
	}
	switch c.Reason {
	case ReasonSiteAdminAttribute:
		if c.To {
			return what + ": the site-admin attribute is true."
		}
		return what + ": the site-admin attribute is not true."
	case ReasonSiteAdminRolePresent:
		return what + ": the team attribute carries the site-admin role."
	case ReasonSiteAdminRoleAbsent:
		return what + ": the team attribute no longer carries the site-admin role."
	}
	return fmt.Sprintf("%s (%s).", what, c.Reason)
}

func explainServiceAccount(c *BoolChange) string {
	if c.To {
		return "The user becomes a service account: the service-account attribute is true, so its tokens do not expire."
	}
	if c.Reason == ReasonServiceAccountAbsent {
		return "The user is no longer a service account: the service-account attribute is absent, so its tokens expire again."
	}
	return "The user is no longer a service account: the service-account attribute is not true, so its tokens expire again."
}

func explainIgnored(v IgnoredValue) string {
	switch v.Reason {
	case ReasonUnknownTeam:
		return fmt.Sprintf("The %s value %q is ignored: it is no team's name or SSO Team ID, nor an owners team's SAML Role ID, and teams are never created.", v.Attribute, v.Value)
	case ReasonOwnersUnmanaged:
		return fmt.Sprintf("The %s value %q is ignored: it is the name of an owners team, which team sync joins only by its SAML Role ID.", v.Attribute, v.Value)
	case ReasonUsernameTaken, ReasonUsernameInvalid:
		// Only a second ignored Username value gets here; say it anyway.
		return fmt.Sprintf("The username stays as it is: %s.", whyUsernameIgnored(v))
	case ReasonInvalidBoolean:
		return fmt.Sprintf("The %s value %q is not true, false, 1 or 0, so it counts as false.", v.Attribute, v.Value)
	}
	return fmt.Sprintf("The %s value %q is ignored (%s).", v.Attribute, v.Value, v.Reason)
}
