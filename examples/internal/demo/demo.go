// Package demo holds the sample directory that examples/quickstart and
// examples/webapp share: two organizations with their teams, and alice.
package demo

import (
	"github.com/siteadmin/integrations/mapping"
	"github.com/siteadmin/integrations/mapping/mappingtest"
)

// Directory returns an in-memory directory with two organizations, acme
// and globex, and the user alice (alice@example.com, username alice.smith),
// who is already in acme's legacy team. acme's owners team is managed by
// SAML through its Role ID "acme-owners"; developers and ops have SSO Team
// IDs, legacy and marketing match by name only.
func Directory() (*mappingtest.Store, error) {
	store := mappingtest.NewStore()
	for _, t := range []mapping.Team{
		{ID: "acme-owners", Org: "acme", Name: "owners", Owners: true, SSOTeamID: "acme-owners", Members: 1},
		{ID: "acme-dev", Org: "acme", Name: "developers", SSOTeamID: "acme-developers", Members: 4},
		{ID: "acme-legacy", Org: "acme", Name: "legacy", Members: 2},
		{ID: "globex-ops", Org: "globex", Name: "ops", SSOTeamID: "globex-ops", Members: 2},
		{ID: "globex-marketing", Org: "globex", Name: "marketing", Members: 3},
	} {
		if err := store.AddTeam(t); err != nil {
			return nil, err
		}
	}
	_, err := store.AddUser(mapping.User{
		ID: "u-alice", Username: "alice.smith", Email: "alice@example.com",
		Teams: []mapping.Team{{ID: "acme-legacy"}},
	})
	return store, err
}
