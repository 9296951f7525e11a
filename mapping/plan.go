package mapping

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Input is everything the planner reads: the user's current state, what
// the IdP asserted, and the part of the host's directory that the
// assertion can touch.
type Input struct {
	// User is the current record, with all of the user's teams; nil for a
	// user who signs in for the first time.
	User *User
	// NameID is the assertion's NameID, a new user's email address: a new
	// user's default username is derived from its local part. Ignored when
	// User is set.
	NameID string
	// Attributes are the assertion's attributes.
	Attributes Attributes
	// Teams are the candidate teams: at least every team, in every
	// organization, whose Name or SSOTeamID equals an asserted team
	// value. More teams are harmless; a team listed both here and in
	// User.Teams must be the same record.
	Teams []Team
	// UsernamesTaken are usernames held by users: at least the asserted
	// username, and for a new user the default candidates, when taken.
	// The user's own current username may be listed.
	UsernamesTaken []string
}

// Plan computes what a login changes for the user and why. It does no I/O
// and has no side effects; the same Input always gives the same Diff, and
// planning again after applying the Diff gives an Empty one.
//
// The rules, for the default attribute names:
//
//   - Username, when present and valid and free, becomes the username;
//     otherwise the current username (for a new user, one derived from the
//     NameID's local part, with a number appended while taken) is kept and
//     the value is reported as Ignored.
//   - SiteAdmin, when present, grants site admin access if its values are
//     all "true" or "1" (case-insensitive, trimmed) and revokes it
//     otherwise, reporting values that are not booleans. When it is absent
//     the site-admin role grants by its presence among the team values and
//     revokes by its absence (an absent team attribute included, but not
//     under Azure AD's group overage). With both turned off, access is
//     never changed.
//   - IsServiceAccount with the value "true" (case-insensitive) sets the
//     service-account flag; absent or any other value clears it.
//   - MemberOf, with TeamSync on: the user joins every team, in every
//     organization, whose Name or SSOTeamID equals a value, and leaves every
//     other team. Owners teams are managed only through their SAML Role ID
//     (SSOTeamID), and the last member of an owners team is not removed.
//     Values matching no team are reported; teams are never created.
//   - An absent team attribute changes no membership (a present one with
//     no values removes every managed one). Azure AD's group overage claim
//     stops every removal. Both raise a Warning, as do values that look
//     like LDAP DNs split at their commas. The site-admin role value is
//     never a team.
//
// Plan returns an error only for an invalid Config or an inconsistent
// Input (a team ID listed twice with different fields, a team with no ID);
// never for anything the IdP asserted.
func (c Config) Plan(in Input) (Diff, error) {
	if err := c.Validate(); err != nil {
		return Diff{}, err
	}
	teams, member, err := mergeTeams(in)
	if err != nil {
		return Diff{}, err
	}
	p := planner{cfg: c, in: in, teams: teams, member: member}
	if in.User == nil {
		p.d.NewUser = true
	} else {
		p.d.User = in.User.ID
	}
	if err := p.username(); err != nil {
		return Diff{}, err
	}
	tv := c.teamValues(in.Attributes)
	p.siteAdmin(tv)
	p.serviceAccount()
	p.memberships(tv)
	p.d.sort()
	return p.d, nil
}

// planner holds one Plan call's state.
type planner struct {
	cfg    Config
	in     Input
	teams  []*Team         // every known team once, in input order
	member map[string]bool // team IDs the user is a member of
	d      Diff
}

// mergeTeams lists every team of in.Teams and in.User.Teams once and
// returns the IDs of the user's teams.
func mergeTeams(in Input) ([]*Team, map[string]bool, error) {
	var mine []Team
	if in.User != nil {
		mine = in.User.Teams
	}
	byID := make(map[string]*Team, len(in.Teams)+len(mine))
	teams := make([]*Team, 0, len(in.Teams)+len(mine))
	member := make(map[string]bool, len(mine))
	add := func(t *Team, where string) error {
		if t.ID == "" {
			return fmt.Errorf("mapping: input: a team in %s has no ID (org %q, name %q); every team needs its host ID", where, t.Org, t.Name)
		}
		if prev, ok := byID[t.ID]; ok {
			if *prev != *t {
				return fmt.Errorf("mapping: input: team %q is listed twice with different fields (%+v and %+v); the directory must return one record per team", t.ID, *prev, *t)
			}
			return nil
		}
		byID[t.ID] = t
		teams = append(teams, t)
		return nil
	}
	for i := range mine {
		if err := add(&mine[i], "User.Teams"); err != nil {
			return nil, nil, err
		}
		member[mine[i].ID] = true
	}
	for i := range in.Teams {
		if err := add(&in.Teams[i], "Teams"); err != nil {
			return nil, nil, err
		}
	}
	return teams, member, nil
}

func (p *planner) ignore(attr, value string, r Reason) {
	p.d.Ignored = append(p.d.Ignored, IgnoredValue{Attribute: attr, Value: value, Reason: r})
}

func (p *planner) warn(code WarningCode, format string, args ...any) {
	p.d.Warnings = append(p.d.Warnings, Warning{Code: code, Detail: fmt.Sprintf(format, args...)})
}

// username applies the Username rule, and for a new user the default.
func (p *planner) username() error {
	current := ""
	if p.in.User != nil {
		current = p.in.User.Username
	}
	attr := p.cfg.usernameAttribute()
	to, reason := "", ReasonUsernameAttribute
	if v, ok := p.cfg.assertedUsername(p.in.Attributes); ok {
		switch {
		case v == current && p.in.User != nil:
			return nil
		case !p.cfg.validUsername(v):
			p.ignore(attr, v, ReasonUsernameInvalid)
		case slices.Contains(p.in.UsernamesTaken, v):
			p.ignore(attr, v, ReasonUsernameTaken)
		default:
			to = v
		}
	}
	if to == "" && p.in.User == nil {
		taken := make(map[string]bool, len(p.in.UsernamesTaken))
		for _, u := range p.in.UsernamesTaken {
			taken[u] = true
		}
		to, _ = defaultUsername(usernameBase(p.in.NameID), func(u string) (bool, error) { return taken[u], nil })
		reason = ReasonEmailDefault
		if !p.cfg.validUsername(to) {
			return fmt.Errorf("mapping: the default username %q (from NameID %q) breaks Config.ValidUsername; the rule must accept letters, digits, '-', '_' and '.'", to, p.in.NameID)
		}
	}
	if to != "" && to != current {
		p.d.Username = &StringChange{From: current, To: to, Reason: reason}
	}
	return nil
}

// siteAdmin applies the SiteAdmin attribute, or else the site-admin role.
func (p *planner) siteAdmin(tv teamValues) {
	current := p.in.User != nil && p.in.User.SiteAdmin
	to, reason := current, Reason("")
	if p.siteAdminAsserted() {
		attr := p.cfg.siteAdminAttribute()
		vals := p.in.Attributes[attr]
		to, reason = len(vals) > 0, ReasonSiteAdminAttribute
		seen := map[string]bool{}
		for _, v := range vals {
			b, ok := parseBool(v)
			to = to && b
			if !ok && !seen[v] {
				seen[v] = true
				p.ignore(attr, v, ReasonInvalidBoolean)
			}
		}
	} else if p.roleInUse() {
		switch {
		case tv.role:
			to, reason = true, ReasonSiteAdminRolePresent
		case !tv.overage:
			to, reason = false, ReasonSiteAdminRoleAbsent
		}
	}
	if to != current {
		p.d.SiteAdmin = &BoolChange{From: current, To: to, Reason: reason}
	}
}

// serviceAccount applies the IsServiceAccount rule.
func (p *planner) serviceAccount() {
	attr := p.cfg.serviceAccountAttribute()
	if attr == "" {
		return
	}
	current := p.in.User != nil && p.in.User.ServiceAccount
	vals, ok := p.in.Attributes[attr]
	to, reason := ok && len(vals) > 0, ReasonServiceAccountAttribute
	for _, v := range vals {
		to = to && strings.EqualFold(strings.TrimSpace(v), "true")
	}
	if !ok {
		reason = ReasonServiceAccountAbsent
	}
	if to != current {
		p.d.ServiceAccount = &BoolChange{From: current, To: to, Reason: reason}
	}
}

// siteAdminAsserted reports whether the SiteAdmin attribute is on and in
// the assertion, overriding the site-admin role.
func (p *planner) siteAdminAsserted() bool {
	attr := p.cfg.siteAdminAttribute()
	_, ok := p.in.Attributes[attr]
	return attr != "" && ok
}

// roleInUse reports whether the site-admin role decides site admin access:
// the role and the team attribute are on and the SiteAdmin attribute is
// not in the assertion.
func (p *planner) roleInUse() bool {
	return p.cfg.siteAdminRole() != "" && p.cfg.teamAttribute() != "" && !p.siteAdminAsserted()
}

// memberships applies the team rules, and warns about the team attribute
// whenever it is read (for team sync or for the site-admin role).
func (p *planner) memberships(tv teamValues) {
	attr := p.cfg.teamAttribute()
	if attr == "" || !p.cfg.TeamSync && !p.roleInUse() {
		return
	}
	for _, raw := range tv.dnLike {
		p.warn(WarningDNLikeValue, "%s value %q looks like an LDAP distinguished name and was split at its commas; have the IdP send group names, or set noCommaSplit to match the whole DN", attr, raw)
	}
	if tv.overage {
		var kept []string
		if p.cfg.TeamSync {
			kept = append(kept, "no team membership was removed")
		}
		if p.roleInUse() && !tv.role {
			kept = append(kept, "site admin access was not revoked")
		}
		p.warn(WarningGroupOverage, "the assertion carries Azure AD's group overage claim (%s) instead of the full group list, so %s; have the IdP send only the groups assigned to the application",
			GroupOverageClaim, cmp.Or(strings.Join(kept, " and "), "its groups were not used"))
	}
	if !p.cfg.TeamSync {
		return
	}
	if !tv.present {
		if !tv.overage {
			p.warn(WarningTeamAttributeAbsent, "the assertion has no %q attribute, so team memberships were left unchanged; have the IdP send it (with no values to remove every membership)", attr)
		}
		return
	}
	p.matchTeams(attr, tv)
}

// matchTeams adds the user to every managed team a value matches, removes
// them from the others, and reports values that matched nothing.
func (p *planner) matchTeams(attr string, tv teamValues) {
	index := make(map[string]int, len(tv.values))
	for i, v := range tv.values {
		index[v] = i
	}
	const (
		matched     = 1
		namesOwners = 2
	)
	state := make([]uint8, len(tv.values))
	for _, t := range p.teams {
		by, value := Match(""), ""
		nameAt, byName := index[t.Name]
		ssoAt, bySSO := index[t.SSOTeamID]
		bySSO = bySSO && t.SSOTeamID != ""
		switch {
		case t.Owners:
			if bySSO {
				by, value = MatchOwnersRoleID, t.SSOTeamID
				state[ssoAt] |= matched
			}
			if byName && (!bySSO || nameAt != ssoAt) {
				state[nameAt] |= namesOwners
			}
		case byName:
			by, value = MatchName, t.Name
			state[nameAt] |= matched
			if bySSO {
				state[ssoAt] |= matched
			}
		case bySSO:
			by, value = MatchSSOTeamID, t.SSOTeamID
			state[ssoAt] |= matched
		}
		switch {
		case by != "":
			if !p.member[t.ID] {
				p.d.Add = append(p.d.Add, TeamAdd{Team: t.ID, Org: t.Org, Name: t.Name, MatchedBy: by, Value: value})
			}
		case !p.member[t.ID] || tv.overage || t.Owners && t.SSOTeamID == "":
			// not a member, removals stopped, or an unmanaged owners team
		case t.Owners && t.Members <= 1 && !p.cfg.AllowLastOwnerRemoval:
			p.d.Blocked = append(p.d.Blocked, TeamRemoval{Team: t.ID, Org: t.Org, Name: t.Name, Reason: ReasonLastOwner})
		default:
			p.d.Remove = append(p.d.Remove, TeamRemoval{Team: t.ID, Org: t.Org, Name: t.Name, Reason: ReasonNotAsserted})
		}
	}
	for i, v := range tv.values {
		switch {
		case state[i]&matched != 0:
		case state[i]&namesOwners != 0:
			p.ignore(attr, v, ReasonOwnersUnmanaged)
		default:
			p.ignore(attr, v, ReasonUnknownTeam)
		}
	}
}
