package mapping

import (
	"bytes"
	"cmp"
	"encoding/json"
	"slices"
	"strings"
)

// Diff is what one login changes for one user, and why. Every change and
// every non-change carries a reason, so a host can show it to an admin
// before or after applying it (see String) and keep it in its audit log
// (see MarshalJSON). Lists are sorted: Add, Remove and Blocked by
// organization, team name and team ID; Ignored by attribute, value and
// reason; Warnings by code and detail.
type Diff struct {
	// User is the existing user's ID; empty for a new user.
	User string
	// NewUser reports that no user exists yet and one is to be created
	// with all of the Diff applied to an empty record.
	NewUser bool
	// Username, when not nil, changes the username.
	Username *StringChange
	// SiteAdmin, when not nil, grants or revokes site admin access.
	SiteAdmin *BoolChange
	// ServiceAccount, when not nil, sets or clears the service-account flag.
	ServiceAccount *BoolChange
	// Add lists the teams the user joins.
	Add []TeamAdd
	// Remove lists the teams the user leaves (Reason NotAsserted).
	Remove []TeamRemoval
	// Ignored lists asserted values that changed nothing, with the reason.
	Ignored []IgnoredValue
	// Blocked lists removals that were not made (Reason LastOwner).
	Blocked []TeamRemoval
	// Warnings are problems with the assertion that an admin should fix.
	Warnings []Warning
}

// StringChange changes a text field From one value To another.
type StringChange struct {
	From   string `json:"from"`
	To     string `json:"to"`
	Reason Reason `json:"reason"`
}

// BoolChange changes a flag From one value To the other.
type BoolChange struct {
	From   bool   `json:"from"`
	To     bool   `json:"to"`
	Reason Reason `json:"reason"`
}

// TeamAdd adds the user to a team because Value matched it.
type TeamAdd struct {
	Team      string `json:"team"`
	Org       string `json:"org"`
	Name      string `json:"name"`
	MatchedBy Match  `json:"matchedBy"`
	Value     string `json:"value"`
}

// TeamRemoval removes the user from a team (in Diff.Remove) or reports a
// removal that was not made (in Diff.Blocked).
type TeamRemoval struct {
	Team   string `json:"team"`
	Org    string `json:"org"`
	Name   string `json:"name"`
	Reason Reason `json:"reason"`
}

// IgnoredValue is one asserted value of Attribute that changed nothing.
type IgnoredValue struct {
	Attribute string `json:"attribute"`
	Value     string `json:"value"`
	Reason    Reason `json:"reason"`
}

// Warning is a problem with the assertion that an admin should fix.
type Warning struct {
	Code   WarningCode `json:"code"`
	Detail string      `json:"detail"`
}

// Match says which field of a team a value matched.
type Match string

// The ways a team attribute value matches a team.
const (
	MatchName         Match = "name"           // the team's name
	MatchSSOTeamID    Match = "sso_team_id"    // the team's SSO Team ID
	MatchOwnersRoleID Match = "owners_role_id" // an owners team's SAML Role ID
)

// Reason is why a field changed, a team was removed, a removal was blocked
// or a value was ignored.
type Reason string

// Reasons for username changes.
const (
	ReasonUsernameAttribute Reason = "username_attribute" // the Username attribute asserts it
	ReasonEmailDefault      Reason = "email_default"      // a new user's default, from the email
)

// Reasons for site admin changes.
const (
	ReasonSiteAdminAttribute   Reason = "site_admin_attribute"    // the SiteAdmin attribute's values
	ReasonSiteAdminRolePresent Reason = "site_admin_role_present" // the role is among the team values
	ReasonSiteAdminRoleAbsent  Reason = "site_admin_role_absent"  // the role is not among them
)

// Reasons for service-account changes.
const (
	ReasonServiceAccountAttribute Reason = "service_account_attribute"        // the attribute's value
	ReasonServiceAccountAbsent    Reason = "service_account_attribute_absent" // the attribute is absent
)

// Reasons for removals, blocked removals and ignored values.
const (
	ReasonNotAsserted     Reason = "not_asserted"     // no value matches the team
	ReasonLastOwner       Reason = "last_owner"       // the user is the owners team's last member
	ReasonUnknownTeam     Reason = "unknown_team"     // no team has this name or SSO Team ID
	ReasonOwnersUnmanaged Reason = "owners_unmanaged" // names an owners team, which only its Role ID matches
	ReasonUsernameTaken   Reason = "username_taken"   // another user holds the username
	ReasonUsernameInvalid Reason = "username_invalid" // the username breaks the username rule
	ReasonInvalidBoolean  Reason = "invalid_boolean"  // not true, false, 1 or 0
)

// WarningCode identifies a kind of Warning.
type WarningCode string

// The warnings the planner raises.
const (
	WarningTeamAttributeAbsent WarningCode = "team_attribute_absent" // memberships left unchanged
	WarningGroupOverage        WarningCode = "group_overage"         // Azure AD sent groups.link: nothing removed
	WarningDNLikeValue         WarningCode = "dn_like_value"         // an LDAP DN was split at its commas
)

// Empty reports whether d changes nothing: no new user, no field change,
// no team added or removed. Ignored values, blocked removals and warnings
// explain non-changes and do not count, so planning again after applying
// a Diff always yields an Empty Diff.
func (d Diff) Empty() bool {
	return !d.NewUser && d.Username == nil && d.SiteAdmin == nil && d.ServiceAccount == nil &&
		len(d.Add) == 0 && len(d.Remove) == 0
}

// diffJSON fixes the JSON form: key order, null for a new user, and empty
// keys omitted.
type diffJSON struct {
	User           *string        `json:"user"`
	NewUser        bool           `json:"newUser,omitempty"`
	Username       *StringChange  `json:"username,omitempty"`
	SiteAdmin      *BoolChange    `json:"siteAdmin,omitempty"`
	ServiceAccount *BoolChange    `json:"serviceAccount,omitempty"`
	Add            []TeamAdd      `json:"add,omitempty"`
	Remove         []TeamRemoval  `json:"remove,omitempty"`
	Ignored        []IgnoredValue `json:"ignored,omitempty"`
	Blocked        []TeamRemoval  `json:"blocked,omitempty"`
	Warnings       []Warning      `json:"warnings,omitempty"`
}

// MarshalJSON writes d as
//
//	{"user":ID|null,"newUser":true,"username":{...},"siteAdmin":{...},
//	 "serviceAccount":{...},"add":[...],"remove":[...],"ignored":[...],
//	 "blocked":[...],"warnings":[...]}
//
// with "user" always present (null for a new user) and every other key
// omitted when empty or false.
func (d Diff) MarshalJSON() ([]byte, error) {
	j := diffJSON{
		NewUser: d.NewUser, Username: d.Username, SiteAdmin: d.SiteAdmin, ServiceAccount: d.ServiceAccount,
		Add: d.Add, Remove: d.Remove, Ignored: d.Ignored, Blocked: d.Blocked, Warnings: d.Warnings,
	}
	if d.User != "" {
		j.User = &d.User
	}
	// Team names and values are shown as they are: "R&D" stays "R&D",
	// not "R\u0026D" (an encoder that wants HTML escaping still escapes
	// this output).
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(j); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// UnmarshalJSON reads the form MarshalJSON writes, so a Diff kept in an
// audit log can be explained again with String.
func (d *Diff) UnmarshalJSON(data []byte) error {
	var j diffJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	*d = Diff{
		NewUser: j.NewUser, Username: j.Username, SiteAdmin: j.SiteAdmin, ServiceAccount: j.ServiceAccount,
		Add: j.Add, Remove: j.Remove, Ignored: j.Ignored, Blocked: j.Blocked, Warnings: j.Warnings,
	}
	if j.User != nil {
		d.User = *j.User
	}
	return nil
}

// sort puts the lists of d that the planner does not build sorted (see
// matchTeams) in their documented order.
func (d *Diff) sort() {
	slices.SortFunc(d.Ignored, func(a, b IgnoredValue) int {
		return cmp.Or(strings.Compare(a.Attribute, b.Attribute), strings.Compare(a.Value, b.Value), strings.Compare(string(a.Reason), string(b.Reason)))
	})
	slices.SortFunc(d.Warnings, func(a, b Warning) int {
		return cmp.Or(strings.Compare(string(a.Code), string(b.Code)), strings.Compare(a.Detail, b.Detail))
	})
}
