package mapping_test

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/siteadmin/integrations/mapping"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPlanAgainstOracle compares the team part of Plan, which uses an
// index and sorted keys for speed, with a direct reading of the rules
// that compares every value with every team, on random small directories
// full of near-collisions.
func TestPlanAgainstOracle(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(2, 3))
	words := []string{"dev", "ops", "owners", "site-admins", "a", "b", "g1", "g2", "", "dev ", "Dev", "dev\u00a0", "\u3000ops"}
	pick := func() string { return words[rng.IntN(len(words))] }
	for round := range 2000 {
		var teams []mapping.Team
		for i := range rng.IntN(12) {
			teams = append(teams, mapping.Team{
				ID: "t" + string(rune('a'+i)), Org: []string{"acme", "beta", "acme\x01", "ac", "acme\x00x"}[rng.IntN(5)],
				Name: pick(), SSOTeamID: pick(), Owners: rng.IntN(4) == 0, Members: rng.IntN(3),
			})
		}
		user := &mapping.User{ID: "u", Username: "u"}
		for _, tm := range teams {
			if rng.IntN(2) == 0 {
				user.Teams = append(user.Teams, tm)
			}
		}
		var values []string
		for range rng.IntN(8) {
			v := pick()
			if rng.IntN(4) == 0 {
				v += "," + pick()
			}
			values = append(values, v)
		}
		cfg := mapping.Config{TeamSync: true, AllowLastOwnerRemoval: rng.IntN(2) == 0}
		in := mapping.Input{User: user, Attributes: mapping.Attributes{"MemberOf": values}, Teams: teams}
		d, err := cfg.Plan(in)
		require.NoError(t, err)
		add, remove, blocked, ignored := oracle(cfg, in)
		assert.Equal(t, add, teamIDs(d.Add), "round %d adds", round)
		assert.Equal(t, remove, removalIDs(d.Remove), "round %d removals", round)
		assert.Equal(t, blocked, removalIDs(d.Blocked), "round %d blocked", round)
		var gotIgnored []string
		for _, v := range d.Ignored {
			gotIgnored = append(gotIgnored, v.Value+"="+string(v.Reason))
		}
		assert.Equal(t, ignored, gotIgnored, "round %d ignored", round)
	}
}

// oracle applies the team rules the slow, obvious way. It returns team
// IDs in the Diff's order and ignored values as "value=reason", sorted.
func oracle(cfg mapping.Config, in mapping.Input) (add, remove, blocked, ignored []string) {
	var values []string
	for _, raw := range in.Attributes["MemberOf"] {
		for _, part := range strings.Split(raw, ",") {
			if v := strings.Trim(part, " \t\r\n"); v != "" && v != "site-admins" && !slices.Contains(values, v) {
				values = append(values, v)
			}
		}
	}
	matches := func(tm mapping.Team, v string) bool {
		if tm.Owners {
			return tm.SSOTeamID != "" && v == tm.SSOTeamID
		}
		return v == tm.Name || tm.SSOTeamID != "" && v == tm.SSOTeamID
	}
	asserted := func(tm mapping.Team) bool {
		return slices.ContainsFunc(values, func(v string) bool { return matches(tm, v) })
	}
	member := func(tm mapping.Team) bool {
		return slices.ContainsFunc(in.User.Teams, func(m mapping.Team) bool { return m.ID == tm.ID })
	}
	var addT, removeT, blockedT []mapping.Team
	for _, tm := range in.Teams {
		switch {
		case asserted(tm) && !member(tm):
			addT = append(addT, tm)
		case !asserted(tm) && member(tm) && !(tm.Owners && tm.SSOTeamID == ""):
			if tm.Owners && tm.Members <= 1 && !cfg.AllowLastOwnerRemoval {
				blockedT = append(blockedT, tm)
			} else {
				removeT = append(removeT, tm)
			}
		}
	}
	for _, v := range values {
		// A value naming an owners team by its name (not its Role ID) is
		// reported, whatever else it matched.
		if slices.ContainsFunc(in.Teams, func(tm mapping.Team) bool { return tm.Owners && tm.Name == v && !matches(tm, v) }) {
			ignored = append(ignored, v+"=owners_unmanaged")
		} else if !slices.ContainsFunc(in.Teams, func(tm mapping.Team) bool { return matches(tm, v) }) {
			ignored = append(ignored, v+"=unknown_team")
		}
	}
	slices.Sort(ignored)
	return sortedIDs(addT), sortedIDs(removeT), sortedIDs(blockedT), ignored
}

func sortedIDs(teams []mapping.Team) []string {
	slices.SortFunc(teams, func(a, b mapping.Team) int {
		return cmp.Or(strings.Compare(a.Org, b.Org), strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID))
	})
	var ids []string
	for _, tm := range teams {
		ids = append(ids, tm.ID)
	}
	return ids
}

func teamIDs(adds []mapping.TeamAdd) []string {
	var ids []string
	for _, a := range adds {
		ids = append(ids, a.Team)
	}
	return ids
}

func removalIDs(rs []mapping.TeamRemoval) []string {
	var ids []string
	for _, r := range rs {
		ids = append(ids, r.Team)
	}
	return ids
}
