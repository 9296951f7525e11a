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
	if c := d.Username; c != nil {
		line("%s", explainUsername(c, d.NewUser))
	}
	if c := d.SiteAdmin; c != nil {
		line("%s", explainSiteAdmin(c))
	}
	if c := d.ServiceAccount; c != nil {
		line("%s", explainServiceAccount(c))
	}
	for _, a := range d.Add {
		line("Joins team %s: the value %q matches %s.", teamRef(a.Name, a.Org, a.Team), a.Value, matchWhat(a.MatchedBy))
	}
	for _, r := range d.Remove {
		line("Leaves team %s: no asserted value matches its name or SSO Team ID.", teamRef(r.Name, r.Org, r.Team))
	}
	for _, r := range d.Blocked {
		line("Stays in owners team %s: the user is its last member, and removing them would leave the organization without owners.", teamRef(r.Name, r.Org, r.Team))
	}
	for _, v := range d.Ignored {
		line("%s", explainIgnored(v, d.NewUser))
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

func matchWhat(m Match) string {
	switch m {
	case MatchName:
		return "its name"
	case MatchSSOTeamID:
		return "its SSO Team ID"
	case MatchOwnersRoleID:
		return "its SAML Role ID (it is the owners team)"
	}
	return string(m)
}

func explainUsername(c *StringChange, newUser bool) string {
	subject := fmt.Sprintf("The username changes from %q to %q", c.From, c.To)
	if newUser {
		subject = fmt.Sprintf("The username is %q", c.To)
	}
	switch c.Reason {
	case ReasonUsernameAttribute:
		return subject + ": the username attribute asserts it."
	case ReasonEmailDefault:
		return subject + ", derived from the email address."
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

func explainIgnored(v IgnoredValue, newUser bool) string {
	kept := "The username stays as it is"
	if newUser {
		kept = "The default username is used"
	}
	switch v.Reason {
	case ReasonUnknownTeam:
		return fmt.Sprintf("The %s value %q is ignored: no team has that name or SSO Team ID, and teams are never created.", v.Attribute, v.Value)
	case ReasonOwnersUnmanaged:
		return fmt.Sprintf("The %s value %q is ignored: it names an owners team, which sync manages only through its SAML Role ID.", v.Attribute, v.Value)
	case ReasonUsernameTaken:
		return fmt.Sprintf("%s: the %s value %q is taken by another user.", kept, v.Attribute, v.Value)
	case ReasonUsernameInvalid:
		return fmt.Sprintf("%s: the %s value %q is not a valid username.", kept, v.Attribute, v.Value)
	case ReasonInvalidBoolean:
		return fmt.Sprintf("The %s value %q is not true, false, 1 or 0, so it counts as false.", v.Attribute, v.Value)
	}
	return fmt.Sprintf("The %s value %q is ignored (%s).", v.Attribute, v.Value, v.Reason)
}
