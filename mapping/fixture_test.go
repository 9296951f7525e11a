package mapping_test

import (
	"context"
	"testing"

	"github.com/siteadmin/integrations/mapping"
	"github.com/siteadmin/integrations/mapping/mappingtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The directory most tests run against: two organizations, each with a
// "dev" team and an owners team.
var (
	acmeDev    = mapping.Team{ID: "t-acme-dev", Org: "acme", Name: "dev", Members: 4}
	acmeOps    = mapping.Team{ID: "t-acme-ops", Org: "acme", Name: "ops", SSOTeamID: "grp-ops", Members: 2}
	acmeOwners = mapping.Team{ID: "t-acme-owners", Org: "acme", Name: "owners", Owners: true, Members: 1}
	betaDev    = mapping.Team{ID: "t-beta-dev", Org: "beta", Name: "dev", Members: 1}
	betaOwners = mapping.Team{ID: "t-beta-owners", Org: "beta", Name: "owners", Owners: true, SSOTeamID: "beta-admins", Members: 1}
	siteAdmins = mapping.Team{ID: "t-acme-site-admins", Org: "acme", Name: "site-admins", Members: 1}
)

func directory() []mapping.Team {
	return []mapping.Team{acmeDev, acmeOps, acmeOwners, betaDev, betaOwners, siteAdmins}
}

const aliceEmail = "alice@example.com"

// alice is an existing user, a member of teams.
func alice(teams ...mapping.Team) *mapping.User {
	return &mapping.User{ID: "u-alice", Username: "alice", Email: aliceEmail, Teams: teams}
}

// withMembers returns t with another member count.
func withMembers(t mapping.Team, n int) mapping.Team {
	t.Members = n
	return t
}

// load builds a mappingtest.Store holding in, for checking Sync against
// Plan.
func load(t *testing.T, in mapping.Input) *mappingtest.Store {
	t.Helper()
	store := mappingtest.NewStore()
	mine := map[string]bool{}
	if in.User != nil {
		for _, tm := range in.User.Teams {
			mine[tm.ID] = true
		}
	}
	seen := map[string]bool{}
	for _, tm := range append(append([]mapping.Team{}, in.Teams...), userTeams(in.User)...) {
		if seen[tm.ID] {
			continue
		}
		seen[tm.ID] = true
		if mine[tm.ID] {
			tm.Members = max(tm.Members-1, 0)
		}
		require.NoError(t, store.AddTeam(tm))
	}
	for _, u := range in.UsernamesTaken {
		if in.User == nil || u != in.User.Username {
			store.ReserveUsername(u)
		}
	}
	if in.User != nil {
		_, err := store.AddUser(*in.User)
		require.NoError(t, err)
	}
	return store
}

func userTeams(u *mapping.User) []mapping.Team {
	if u == nil {
		return nil
	}
	return u.Teams
}

// nameID is the NameID a test login uses for in.
func nameID(in mapping.Input) string {
	if in.User != nil {
		return in.User.Email
	}
	return in.NameID
}

// assertSyncAgrees checks that Sync on a store holding in applies the same
// Diff that Plan gave, and that planning again afterwards gives an Empty
// Diff with the same non-changes.
func assertSyncAgrees(t *testing.T, cfg mapping.Config, in mapping.Input, planned mapping.Diff) {
	t.Helper()
	ctx := context.Background()
	store := load(t, in)
	login := mapping.Login{NameID: nameID(in), Attributes: in.Attributes}
	synced, err := cfg.Sync(ctx, store, login)
	require.NoError(t, err)
	assert.Equal(t, planned, synced, "Sync (through the Directory) and Plan disagree")

	again, err := cfg.Preview(ctx, store, login)
	require.NoError(t, err)
	assert.True(t, again.Empty(), "planning again after applying changes something:\n%s", again)
	assert.Equal(t, planned.Blocked, again.Blocked)
	assert.Equal(t, planned.Warnings, again.Warnings)
}
