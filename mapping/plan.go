package mapping

import (
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
// Input (a team with no ID, a team listed twice in User.Teams with
// different fields); never for anything the IdP asserted.
func (c Config) Plan(in Input) (Diff, error) {
	if err := c.Validate(); err != nil {
		return Diff{}, err
	}
	member, use, err := userTeams(in)
	if err != nil {
		return Diff{}, err
	}
	p := planner{cfg: c, in: in, member: member, useTeam: use}
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
	p.d.Ignored = mergeIgnored(p.d.Ignored, p.teamIgnored)
	return p.d, nil
}

// planner holds one Plan call's state.
type planner struct {
	cfg         Config
	in          Input
	member      *stringIndex   // the user's team IDs
	useTeam     []bool         // per User.Teams: false for a repeated record
	teamIgnored []IgnoredValue // team values that matched nothing, sorted
	d           Diff
}

// userTeams indexes the user's teams by ID and returns, for each of
// User.Teams, whether to use it: false for the second record of a team
// listed twice, which must be the same record.
func userTeams(in Input) (*stringIndex, []bool, error) {
	if in.User == nil {
		return newStringIndex(nil), nil, nil
	}
	ids := make([]string, len(in.User.Teams))
	for i := range in.User.Teams {
		ids[i] = in.User.Teams[i].ID
	}
	index, nums := numberStrings(ids)
	use := make([]bool, len(ids))
	first := make([]int32, len(index.keys))
	seen := 0
	for i, n := range nums {
		t := &in.User.Teams[i]
		switch {
		case n < 0:
			return nil, nil, sameTeam(nil, t, "User.Teams")
		case int(n) == seen:
			first[n], use[i] = int32(i), true
			seen++
		default:
			if err := sameTeam(&in.User.Teams[first[n]], t, "User.Teams"); err != nil {
				return nil, nil, err
			}
		}
	}
	return index, use, nil
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
// them from the others, and reports values that matched nothing. It costs
// a few index lookups per value and team (see stringIndex) plus sorting
// what it reports, and sizes every list before filling it; nothing in it
// compares every value with every team (see BenchmarkPlan).
func (p *planner) matchTeams(attr string, tv teamValues) error {
	m := matcher{index: tv.index, state: make([]uint8, len(tv.values))}
	var leave, block []hit
	if p.in.User != nil {
		leave = make([]hit, 0, len(p.in.User.Teams))
		for i := range p.in.User.Teams {
			t := &p.in.User.Teams[i]
			if !p.useTeam[i] {
				continue // listed twice
			}
			switch by := m.match(t); {
			case by != noMatch || tv.overage || t.Owners && t.SSOTeamID == "":
				// still asserted, removals stopped, or an unmanaged owners team
			case t.Owners && t.Members <= 1 && !p.cfg.AllowLastOwnerRemoval:
				block = append(block, hit{t, noMatch})
			default:
				leave = append(leave, hit{t, noMatch})
			}
		}
	}
	join := make([]hit, 0, len(p.in.Teams))
	for i := range p.in.Teams {
		t := &p.in.Teams[i]
		if t.ID == "" {
			return sameTeam(nil, t, "Teams")
		}
		if by := m.match(t); by != noMatch {
			if _, mine := p.member.find(t.ID); !mine {
				join = append(join, hit{t, by})
			}
		}
	}
	join = sortHits(join)
	if len(join) > 0 {
		p.d.Add = make([]TeamAdd, 0, len(join))
	}
	for _, h := range join {
		a := TeamAdd{Team: h.t.ID, Org: h.t.Org, Name: h.t.Name, MatchedBy: h.by.Match(), Value: h.t.Name}
		if h.by != byName {
			a.Value = h.t.SSOTeamID
		}
		p.d.Add = append(p.d.Add, a)
	}
	p.d.Remove = removals(sortHits(leave), ReasonNotAsserted)
	p.d.Blocked = removals(sortHits(block), ReasonLastOwner)
	p.teamIgnored = m.ignored(attr, tv.values)
	return nil
}

// hit is a team and how a value matched it.
type hit struct {
	t  *Team
	by matchCode
}

// matchCode is a Match in one byte, to keep hits small.
type matchCode uint8

const (
	noMatch matchCode = iota
	byName
	bySSOTeamID
	byOwnersRoleID
)

// Match returns the Match the code stands for.
func (c matchCode) Match() Match {
	return [...]Match{"", MatchName, MatchSSOTeamID, MatchOwnersRoleID}[c]
}

// sortHits sorts hits by organization, team name and team ID, and drops
// repeats of a team (a directory may list a team twice). It copies each
// team's sort key into one contiguous string first, so that the
// comparisons read compact memory rather than strings scattered over the
// heap (see stringIndex); keys holding a NUL byte, which the encoding
// needs as a separator, fall back to comparing the fields.
func sortHits(hits []hit) []hit {
	if len(hits) < 2 {
		return hits
	}
	size := 0
	for _, h := range hits {
		if strings.IndexByte(h.t.Org, 0) >= 0 || strings.IndexByte(h.t.Name, 0) >= 0 || strings.IndexByte(h.t.ID, 0) >= 0 {
			slices.SortFunc(hits, func(a, b hit) int { return compareTeams(a.t.Org, a.t.Name, a.t.ID, b.t.Org, b.t.Name, b.t.ID) })
			return slices.CompactFunc(hits, func(a, b hit) bool { return a.t.ID == b.t.ID })
		}
		size += len(h.t.Org) + len(h.t.Name) + len(h.t.ID) + 2
	}
	var b strings.Builder
	b.Grow(size)
	for _, h := range hits {
		b.WriteString(h.t.Org)
		b.WriteByte(0)
		b.WriteString(h.t.Name)
		b.WriteByte(0)
		b.WriteString(h.t.ID)
	}
	all := b.String()
	keyed := make([]keyedHit, len(hits))
	off := 0
	for i, h := range hits {
		n := len(h.t.Org) + len(h.t.Name) + len(h.t.ID) + 2
		keyed[i] = keyedHit{all[off : off+n], h}
		off += n
	}
	slices.SortFunc(keyed, func(a, b keyedHit) int { return strings.Compare(a.key, b.key) })
	hits = hits[:0]
	for i := range keyed {
		if i == 0 || keyed[i].key != keyed[i-1].key {
			hits = append(hits, keyed[i].hit)
		}
	}
	return hits
}

// keyedHit is a hit with its sort key: organization, NUL, name, NUL, ID.
type keyedHit struct {
	key string
	hit
}

func removals(hits []hit, r Reason) []TeamRemoval {
	if len(hits) == 0 {
		return nil
	}
	out := make([]TeamRemoval, len(hits))
	for i, h := range hits {
		out[i] = TeamRemoval{Team: h.t.ID, Org: h.t.Org, Name: h.t.Name, Reason: r}
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
	index *stringIndex // numbers the values
	state []uint8      // per value: matched, namesOwners
}

// match returns how t matches a value, if it does, and records it.
func (m *matcher) match(t *Team) matchCode {
	nameAt, nameHit := m.index.find(t.Name)
	ssoAt, ssoHit := -1, false
	if t.SSOTeamID != "" {
		ssoAt, ssoHit = m.index.find(t.SSOTeamID)
	}
	switch {
	case t.Owners:
		if nameHit && (!ssoHit || nameAt != ssoAt) {
			m.state[nameAt] |= namesOwners
		}
		if ssoHit {
			m.state[ssoAt] |= matched
			return byOwnersRoleID
		}
	case nameHit:
		m.state[nameAt] |= matched
		if ssoHit {
			m.state[ssoAt] |= matched
		}
		return byName
	case ssoHit:
		m.state[ssoAt] |= matched
		return bySSOTeamID
	}
	return noMatch
}

// ignored lists, sorted by value, the values that matched no team.
func (m *matcher) ignored(attr string, values []string) []IgnoredValue {
	var unknown, owners []string
	for i, v := range values {
		switch st := m.state[i]; {
		case st&matched != 0:
		case st&namesOwners != 0:
			owners = append(owners, v)
		default:
			if unknown == nil {
				unknown = make([]string, 0, len(values)-i)
			}
			unknown = append(unknown, v)
		}
	}
	slices.Sort(unknown)
	slices.Sort(owners)
	out := make([]IgnoredValue, 0, len(unknown)+len(owners))
	for len(unknown)+len(owners) > 0 { // merge: values are distinct
		if len(owners) == 0 || len(unknown) > 0 && unknown[0] < owners[0] {
			out = append(out, IgnoredValue{Attribute: attr, Value: unknown[0], Reason: ReasonUnknownTeam})
			unknown = unknown[1:]
		} else {
			out = append(out, IgnoredValue{Attribute: attr, Value: owners[0], Reason: ReasonOwnersUnmanaged})
			owners = owners[1:]
		}
	}
	return out
}
