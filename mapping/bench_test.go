package mapping_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/siteadmin/integrations/mapping"
)

// benchInput is a login asserting n team values against a directory of n
// teams in 100 organizations: a quarter of the values name a team, a
// quarter give an SSO Team ID, half match nothing; the user is already in
// half of the teams, so the Diff both adds and removes. Teams and values
// come in a shuffled order (each list allocated in its own order, as a
// database driver and an XML parser would allocate them).
func benchInput(n int) mapping.Input {
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	team := func(i int) mapping.Team {
		return mapping.Team{
			ID:        fmt.Sprintf("team-%07d", i),
			Org:       fmt.Sprintf("org-%03d", i%100),
			Name:      fmt.Sprintf("name-%d", i),
			SSOTeamID: fmt.Sprintf("grp-%d", i),
			Members:   3,
		}
	}
	teams := make([]mapping.Team, n)
	for i, k := range rng.Perm(n) {
		teams[i] = team(k)
	}
	values := make([]string, n)
	for i, k := range rng.Perm(n) {
		switch k % 4 {
		case 0:
			values[i] = fmt.Sprintf("name-%d", k)
		case 1:
			values[i] = fmt.Sprintf("grp-%d", k)
		default:
			values[i] = fmt.Sprintf("unknown-%d", k)
		}
	}
	user := &mapping.User{ID: "u1", Username: "alice", Email: "alice@example.com"}
	for _, k := range rng.Perm(n) {
		if k%2 == 0 {
			user.Teams = append(user.Teams, team(k))
		}
	}
	return mapping.Input{
		User:       user,
		Attributes: mapping.Attributes{"MemberOf": values, "Username": {"alice2"}, "SiteAdmin": {"true"}},
		Teams:      teams,
	}
}

// BenchmarkPlan measures Plan at 10, 1,000 and 100,000 team values against
// as many teams:
//
//	go test -run x -bench BenchmarkPlan -benchmem ./mapping
//
// Plan's goal (issue 11) is O(n log n) in the values and teams, with few
// allocations: a binary search among the sorted values per team name and
// SSO Team ID, and a plain sort of each list it reports. Real IdPs send far
// fewer values (Azure AD stops at 150 groups), so 100,000 is a stress case,
// not the size to tune for.
func BenchmarkPlan(b *testing.B) {
	cfg := mapping.Config{TeamSync: true}
	for _, n := range []int{10, 1_000, 100_000} {
		in := benchInput(n)
		b.Run(fmt.Sprintf("values=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := cfg.Plan(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
