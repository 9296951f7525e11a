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
	// value. More teams are harmless, and so is a team listed twice; for
	// a team also in User.Teams, the User.Teams record counts.
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
//   - Every value is trimmed of XML whitespace (space, tab, CR and LF) at
//     both ends, and of nothing else: "bob" followed by U+00A0 is not
//     "bob". Team values are not trimmed when comma splitting is off.
//   - Username, when present and valid and free, becomes the username;
//     otherwise the current username (for a new user, one derived from the
//     NameID's local part, with a number appended while taken) is kept and
//     the value is reported as Ignored.
//   - SiteAdmin, when present, grants site admin access if its values are
//     all "true" or "1" (case-insensitive) and revokes it otherwise,
//     reporting values that are not booleans. When it is absent
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
// Input (a team with no ID, a team listed twice in User.Teams with
// different fields); never for anything the IdP asserted.
func (c Config) Plan(in Input) (Diff, error) {
	if err := c.Validate(); err != nil {
		return Diff{}, err
	}
	member, err := userTeams(in)
	if err != nil {
		return Diff{}, err
	}
	p := planner{cfg: c, in: in, member: member}
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
	if err := p.memberships(tv); err != nil {
		return Diff{}, err
	}
	p.d.sort()
	return p.d, nil
}

// planner holds one Plan call's state.
type planner struct {
	cfg    Config
	in     Input
	member map[string]*Team // the user's teams by ID: the first record of each
	d      Diff
}

// userTeams indexes the user's teams by ID. A team listed twice must be
// listed with the same fields; the first record counts.
func userTeams(in Input) (map[string]*Team, error) {
	if in.User == nil {
		return nil, nil
	}
	member := make(map[string]*Team, len(in.User.Teams))
	for i := range in.User.Teams {
		t := &in.User.Teams[i]
		prev := member[t.ID]
		if err := sameTeam(prev, t, "User.Teams"); err != nil {
			return nil, err
		}
		if prev == nil {
			member[t.ID] = t
		}
	}
	return member, nil
}

// sameTeam checks a team record t against an earlier record of the same
// ID, if any.
func sameTeam(prev, t *Team, where string) error {
	switch {
	case t.ID == "":
		return fmt.Errorf("mapping: input: a team in %s has no ID (org %q, name %q); every team needs its host ID", where, t.Org, t.Name)
	case prev != nil && *prev != *t:
		return fmt.Errorf("mapping: input: team %q is listed twice with different fields (%+v and %+v); the directory must return one record per team", t.ID, *prev, *t)
	}
	return nil
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
		to = to && strings.EqualFold(trimXMLSpace(v), "true")
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
func (p *planner) memberships(tv teamValues) error {
	attr := p.cfg.teamAttribute()
	if attr == "" || !p.cfg.TeamSync && !p.roleInUse() {
		return nil
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
		if len(kept) > 0 {
			p.warn(WarningGroupOverage, "the assertion carries Azure AD's group overage claim (%s) instead of the full group list, so %s; have the IdP send only the groups assigned to the application",
				GroupOverageClaim, strings.Join(kept, " and "))
		}
	}
	if !p.cfg.TeamSync {
		return nil
	}
	if !tv.present {
		if !tv.overage {
			p.warn(WarningTeamAttributeAbsent, "the assertion has no %q attribute, so team memberships were left unchanged; have the IdP send it (with no values to remove every membership)", attr)
		}
		return nil
	}
	return p.matchTeams(attr, tv)
}

// matchTeams adds the user to every managed team a value matches, removes
// them from the others, and reports values that matched nothing. It looks
// each team's name and SSO Team ID up in a map of the values and sorts
// each list it reports: O(n log n) in the values and teams, with a few
// allocations (see BenchmarkPlan).
func (p *planner) matchTeams(attr string, tv teamValues) error {
	m := newMatcher(tv.values)
	var leave, block []hit
	var mine []Team
	if p.in.User != nil {
		mine = p.in.User.Teams
		leave = make([]hit, 0, len(mine))
		for i := range mine {
			t := &mine[i]
			switch {
			case p.member[t.ID] != t:
				// listed twice
			case m.match(t) != "" || tv.overage || t.Owners && t.SSOTeamID == "":
				// still asserted, removals stopped, or an unmanaged owners team
			case t.Owners && t.Members <= 1 && !p.cfg.AllowLastOwnerRemoval:
				block = append(block, hit{at: i})
			default:
				leave = append(leave, hit{at: i})
			}
		}
	}
	join := make([]hit, 0, len(p.in.Teams))
	for i := range p.in.Teams {
		t := &p.in.Teams[i]
		if t.ID == "" {
			return sameTeam(nil, t, "Teams")
		}
		if by := m.match(t); by != "" && p.member[t.ID] == nil {
			join = append(join, hit{at: i, by: by})
		}
	}
	p.d.Remove = removals(mine, leave, ReasonNotAsserted)
	p.d.Blocked = removals(mine, block, ReasonLastOwner)
	p.d.Add = additions(p.in.Teams, join)
	p.d.Ignored = m.ignored(p.d.Ignored, attr)
	return nil
}

// hit is a team of a list of the Diff: its position in the slice of teams
// it came from, and for an addition how a value matched it.
type hit struct {
	at int
	by Match
}

// sortTeams sorts hits by organization, name and ID, the first listed
// first among equals, and drops repeats of a team (a directory may list a
// team twice): the same organization, name and ID, or, when any of those
// holds a NUL byte, the same ID (as the NUL-separated sort keys of earlier
// versions did; kept so that no Diff changes).
func sortTeams(teams []Team, hits []hit) []hit {
	slices.SortFunc(hits, func(a, b hit) int {
		x, y := &teams[a.at], &teams[b.at]
		return cmp.Or(strings.Compare(x.Org, y.Org), strings.Compare(x.Name, y.Name), strings.Compare(x.ID, y.ID), cmp.Compare(a.at, b.at))
	})
	nul := slices.ContainsFunc(hits, func(h hit) bool {
		t := &teams[h.at]
		return strings.Contains(t.Org, "\x00") || strings.Contains(t.Name, "\x00") || strings.Contains(t.ID, "\x00")
	})
	return slices.CompactFunc(hits, func(a, b hit) bool {
		x, y := &teams[a.at], &teams[b.at]
		return x.ID == y.ID && (nul || x.Org == y.Org && x.Name == y.Name)
	})
}

// additions returns the teams of hits as sorted TeamAdds.
func additions(teams []Team, hits []hit) []TeamAdd {
	if len(hits) == 0 {
		return nil
	}
	hits = sortTeams(teams, hits)
	out := make([]TeamAdd, len(hits))
	for i, h := range hits {
		t := &teams[h.at]
		out[i] = TeamAdd{Team: t.ID, Org: t.Org, Name: t.Name, MatchedBy: h.by, Value: t.SSOTeamID}
		if h.by == MatchName {
			out[i].Value = t.Name
		}
	}
	return out
}

// removals returns the teams of hits as sorted TeamRemovals with reason r.
func removals(teams []Team, hits []hit, r Reason) []TeamRemoval {
	if len(hits) == 0 {
		return nil
	}
	hits = sortTeams(teams, hits)
	out := make([]TeamRemoval, len(hits))
	for i, h := range hits {
		t := &teams[h.at]
		out[i] = TeamRemoval{Team: t.ID, Org: t.Org, Name: t.Name, Reason: r}
	}
	return out
}

// What a matcher records about each value.
const (
	matched     = 1 << iota // the value matched a team
	namesOwners             // the value names an owners team it cannot manage
)

// matcher matches teams against the asserted values.
type matcher struct {
	values []string       // sorted and distinct, never ""
	index  map[string]int // the position of each value
	state  []uint8        // per value: matched, namesOwners
}

// newMatcher returns a matcher of values, which are sorted and distinct.
func newMatcher(values []string) matcher {
	m := matcher{values: values, index: make(map[string]int, len(values)), state: make([]uint8, len(values))}
	for i, v := range values {
		m.index[v] = i
	}
	return m
}

// match returns how t matches a value, or "", and records it. An empty
// name or SSO Team ID matches nothing, as no value is empty.
func (m *matcher) match(t *Team) Match {
	nameAt, byName := m.index[t.Name]
	ssoAt, bySSO := m.index[t.SSOTeamID]
	switch {
	case t.Owners:
		if byName && t.Name != t.SSOTeamID {
			m.state[nameAt] |= namesOwners
		}
		if bySSO {
			m.state[ssoAt] |= matched
			return MatchOwnersRoleID
		}
	case byName:
		m.state[nameAt] |= matched
		if bySSO {
			m.state[ssoAt] |= matched
		}
		return MatchName
	case bySSO:
		m.state[ssoAt] |= matched
		return MatchSSOTeamID
	}
	return ""
}

// ignored appends to out the values that matched no team, and those that
// name an owners team it cannot manage even when they also matched another
// team: the admin should know the owners team was left alone. So every
// value is listed but one that only matched.
func (m *matcher) ignored(out []IgnoredValue, attr string) []IgnoredValue {
	n := 0
	for _, st := range m.state {
		if st != matched {
			n++
		}
	}
	out = slices.Grow(out, n)
	for i, v := range m.values {
		switch st := m.state[i]; {
		case st&namesOwners != 0:
			out = append(out, IgnoredValue{Attribute: attr, Value: v, Reason: ReasonOwnersUnmanaged})
		case st&matched == 0:
			out = append(out, IgnoredValue{Attribute: attr, Value: v, Reason: ReasonUnknownTeam})
		}
	}
	return out
}
