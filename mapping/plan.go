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
// them from the others, and reports values that matched nothing.
//
// Its cost is linear in the values and teams, and stays so in time at
// 100,000 of them (see BenchmarkPlan), where the input no longer fits in
// the CPU caches and its strings lie scattered over the heap: it reads
// each team once, in batches (see batch and touchStrings), and copies
// what the Diff lists while the team is at hand; lookups go through
// stringIndex in batches; and the lists are sorted by radix (see
// sortStrings). Nothing in it compares every value with every team.
func (p *planner) matchTeams(attr string, tv teamValues) error {
	m := matcher{index: tv.index, state: make([]uint8, len(tv.values))}
	var codes [batch]matchCode
	var leave, block, join teamList
	if p.in.User != nil {
		teams := p.in.User.Teams
		leave.teams, block.teams = teams, teams
		for lo := 0; lo < len(teams); lo += batch {
			hi := min(lo+batch, len(teams))
			m.matchAll(teams[lo:hi], codes[:])
			for i := lo; i < hi; i++ {
				t := &teams[i]
				switch {
				case !p.useTeam[i]:
					// listed twice
				case codes[i-lo] != noMatch || tv.overage || t.Owners && t.SSOTeamID == "":
					// still asserted, removals stopped, or an unmanaged owners team
				case t.Owners && t.Members <= 1 && !p.cfg.AllowLastOwnerRemoval:
					block.add(i, len(teams)-i)
				default:
					leave.add(i, len(teams)-i)
				}
			}
		}
	}
	join.teams = p.in.Teams
	var ids [batch]string
	var at [batch]int32
	var found [batch]int32
	for lo := 0; lo < len(p.in.Teams); lo += batch {
		hi := min(lo+batch, len(p.in.Teams))
		teams := p.in.Teams[lo:hi]
		for i := range teams {
			if teams[i].ID == "" {
				return sameTeam(nil, &teams[i], "Teams")
			}
		}
		m.matchAll(teams, codes[:])
		n := 0
		for i := range teams {
			if codes[i] != noMatch {
				ids[n], at[n] = teams[i].ID, int32(i)
				n++
			}
		}
		p.member.findAll(ids[:n], found[:n])
		for j := range n {
			if found[j] < 0 {
				i := int(at[j])
				join.addMatch(lo+i, codes[i], len(p.in.Teams)-lo-i)
			}
		}
	}
	// One scratch buffer, sized for the largest list, serves every sort.
	unmatched := m.unmatched()
	var scratch sortScratch
	scratch.reserve(max(len(leave.idx), len(block.idx), len(join.idx), unmatched))
	p.d.Remove = leave.removals(ReasonNotAsserted, &scratch)
	p.d.Blocked = block.removals(ReasonLastOwner, &scratch)
	p.d.Add = join.additions(&scratch)
	p.teamIgnored = m.ignored(attr, tv.values, unmatched, &scratch)
	return nil
}

// matchCode is a Match in one byte.
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

// teamList collects the teams of one list of the Diff as positions in
// one slice of teams. Before sorting, it copies their sort keys
// (organization, name and ID, and for additions the matched value) back
// to back into one string of exactly their size, reading the teams in the
// order they came, so that sorting reads compact memory rather than team
// records and strings scattered over the heap; the Diff's strings are
// substrings of this copy.
type teamList struct {
	teams []Team
	idx   []int32     // the positions in teams, in the order added
	by    []matchCode // for additions: how idx[j] matched
}

// add appends teams[i]; at most left teams, it included, are still to come.
func (l *teamList) add(i, left int) {
	if l.idx == nil {
		l.idx = make([]int32, 0, min(left, 1024))
	} else if len(l.idx) == cap(l.idx) {
		l.idx = slices.Grow(l.idx, cap(l.idx)) // double: append would grow by a quarter
	}
	l.idx = append(l.idx, int32(i))
}

// addMatch appends teams[i], which matched a value as by says.
func (l *teamList) addMatch(i int, by matchCode, left int) {
	l.add(i, left)
	if l.by == nil {
		l.by = make([]matchCode, 0, cap(l.idx))
	} else if len(l.by) == cap(l.by) {
		l.by = slices.Grow(l.by, cap(l.idx)-len(l.by))
	}
	l.by = append(l.by, by)
}

// teamKeys is the keySource of a teamList: the copy of its keys.
type teamKeys struct {
	keys   string
	cuts   []uint32 // field f of team j is keys[cuts[stride*j+f]:cuts[stride*j+f+1]]
	stride int      // fields per team: 3, or 4 with the matched value
}

func (k teamKeys) key(i uint32, f int) string {
	c := k.cuts[k.stride*int(i)+f:]
	return k.keys[c[0]:c[1]]
}

// value returns the matched value of team j, which matched as by says.
func (l *teamList) value(t *Team, j int) string {
	if l.by[j] == byName {
		return t.Name
	}
	return t.SSOTeamID
}

// copyKeys copies the keys of the teams, and their matched values when
// the list has them, and reports whether an organization, name or ID
// holds a NUL byte.
func (l *teamList) copyKeys() (k teamKeys, nul bool) {
	k.stride = 3
	if l.by != nil {
		k.stride = 4
	}
	size := 0
	for j, i := range l.idx {
		t := &l.teams[i]
		size += len(t.Org) + len(t.Name) + len(t.ID)
		if k.stride == 4 {
			size += len(l.value(t, j))
		}
	}
	var b strings.Builder
	b.Grow(size)
	k.cuts = make([]uint32, 1, 1+k.stride*len(l.idx))
	for j, i := range l.idx {
		t := &l.teams[i]
		start := b.Len()
		b.WriteString(t.Org)
		k.cuts = append(k.cuts, uint32(b.Len()))
		b.WriteString(t.Name)
		k.cuts = append(k.cuts, uint32(b.Len()))
		b.WriteString(t.ID)
		k.cuts = append(k.cuts, uint32(b.Len()))
		if !nul && strings.IndexByte(b.String()[start:], 0) >= 0 {
			nul = true
		}
		if k.stride == 4 {
			b.WriteString(l.value(t, j))
			k.cuts = append(k.cuts, uint32(b.Len()))
		}
	}
	k.keys = b.String()
	return k, nul
}

// sort returns the teams sorted by organization, name and ID (as sort
// records whose i is the position in idx), and for each whether it
// repeats the team before it in that order: the same organization, name
// and ID, or, when some key holds a NUL byte, the same ID (as the
// comparison sort this replaces did). Both live in scratch.
func (l *teamList) sort(scratch *sortScratch) (k teamKeys, order []sortRec, repeat []bool) {
	k, nul := l.copyKeys()
	if len(k.keys) > 1<<32-1 {
		panic("mapping: team keys exceed 4 GiB")
	}
	order, repeat = sortStrings(k, len(l.idx), 3, scratch)
	if nul {
		for j := range order {
			repeat[order[j].i] = j > 0 && k.key(order[j].i, 2) == k.key(order[j-1].i, 2)
		}
	}
	return k, order, repeat
}

// distinct counts the items that repeat marks false.
func distinct(repeat []bool) int {
	n := 0
	for _, r := range repeat {
		if !r {
			n++
		}
	}
	return n
}

// additions returns the teams as sorted, de-duplicated TeamAdds.
func (l *teamList) additions(scratch *sortScratch) []TeamAdd {
	if len(l.idx) == 0 {
		return nil
	}
	k, order, repeat := l.sort(scratch)
	out := make([]TeamAdd, 0, distinct(repeat))
	for _, r := range order {
		if j := r.i; !repeat[j] {
			out = append(out, TeamAdd{Team: k.key(j, 2), Org: k.key(j, 0), Name: k.key(j, 1), MatchedBy: l.by[j].Match(), Value: k.key(j, 3)})
		}
	}
	return out
}

// removals returns the teams as sorted, de-duplicated TeamRemovals with
// reason r.
func (l *teamList) removals(r Reason, scratch *sortScratch) []TeamRemoval {
	if len(l.idx) == 0 {
		return nil
	}
	k, order, repeat := l.sort(scratch)
	out := make([]TeamRemoval, 0, distinct(repeat))
	for _, o := range order {
		if j := o.i; !repeat[j] {
			out = append(out, TeamRemoval{Team: k.key(j, 2), Org: k.key(j, 0), Name: k.key(j, 1), Reason: r})
		}
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
	index   *stringIndex // numbers the values
	state   []uint8      // per value: matched, namesOwners
	touched byte         // see touchStrings
}

// matchAll sets codes[i] to how teams[i] matches a value, if it does, and
// records it. teams holds at most batch teams; it reads all of their
// strings at once (see touchStrings) and looks their names and SSO Team
// IDs up together (see stringIndex.findAll).
func (m *matcher) matchAll(teams []Team, codes []matchCode) {
	var names, ssos, other [batch]string
	var nameAt, ssoAt [batch]int32
	for i := range teams {
		names[i], ssos[i] = teams[i].Name, teams[i].SSOTeamID
	}
	n := len(teams)
	touch := touchStrings(names[:n]) + touchStrings(ssos[:n])
	for i := range teams {
		other[i] = teams[i].ID
	}
	touch += touchStrings(other[:n])
	for i := range teams {
		other[i] = teams[i].Org
	}
	m.touched += touch + touchStrings(other[:n])
	m.index.findAll(names[:n], nameAt[:])
	m.index.findAll(ssos[:n], ssoAt[:])
	for i := range teams {
		codes[i] = m.match(&teams[i], int(nameAt[i]), int(ssoAt[i]))
	}
}

// match returns how t matches a value, given the numbers of the values
// that equal its name and SSO Team ID (-1 for none), and records it.
func (m *matcher) match(t *Team, nameAt, ssoAt int) matchCode {
	nameHit, ssoHit := nameAt >= 0, ssoAt >= 0 && t.SSOTeamID != ""
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

// valueKeys is the keySource of the values.
type valueKeys []string

func (k valueKeys) key(i uint32, _ int) string { return k[i] }

// unmatched counts the values that ignored lists.
func (m *matcher) unmatched() int {
	n := 0
	for _, st := range m.state {
		if st&matched == 0 || st&namesOwners != 0 {
			n++
		}
	}
	return n
}

// ignored lists, sorted by value, the values that matched no team; there
// are n of them (see unmatched).
func (m *matcher) ignored(attr string, values []string, n int, scratch *sortScratch) []IgnoredValue {
	if n == 0 {
		return []IgnoredValue{}
	}
	recs := scratch.recs(n)
	j := 0
	for i := range values {
		// A value naming an owners team that sync cannot manage is
		// reported even when it also matched another team: the admin
		// should know the owners team was left alone.
		if m.state[i]&matched == 0 || m.state[i]&namesOwners != 0 {
			recs[j].i = uint32(i)
			j++
		}
	}
	sortRecs(valueKeys(values), recs, 1, scratch, nil) // values are distinct
	out := make([]IgnoredValue, n)
	for j, r := range recs {
		v := r.i
		reason := ReasonUnknownTeam
		if m.state[v]&namesOwners != 0 {
			reason = ReasonOwnersUnmanaged
		}
		out[j] = IgnoredValue{Attribute: attr, Value: values[v], Reason: reason}
	}
	return out
}
