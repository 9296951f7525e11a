package mapping_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/siteadmin/integrations/mapping"
	"github.com/siteadmin/integrations/mapping/mappingtest"
)

// Plan is pure: give it the user, the candidate teams and the assertion's
// attributes, and it says what the login changes and why.
func ExampleConfig_Plan() {
	dev := mapping.Team{ID: "t1", Org: "acme", Name: "dev", Members: 4}
	ops := mapping.Team{ID: "t2", Org: "acme", Name: "ops", SSOTeamID: "0f4c-ops", Members: 2}
	cfg := mapping.Config{TeamSync: true}
	diff, err := cfg.Plan(mapping.Input{
		User: &mapping.User{ID: "u1", Username: "alice", Teams: []mapping.Team{dev}},
		Attributes: mapping.Attributes{
			"MemberOf": {"0f4c-ops, site-admins", "qa"},
			"Username": {"alice.w"},
		},
		Teams: []mapping.Team{dev, ops},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(diff)
	// Output:
	// The username changes from "alice" to "alice.w": the username attribute asserts it.
	// Site admin access is granted: the team attribute carries the site-admin role.
	// Joins team "ops" of organization "acme" (ID t2): the value "0f4c-ops" is its SSO Team ID.
	// Leaves team "dev" of organization "acme" (ID t1): no asserted value is its name or SSO Team ID (for an owners team: its SAML Role ID).
	// The MemberOf value "qa" is ignored: it is no team's name or SSO Team ID, nor an owners team's SAML Role ID, and teams are never created.
}

// Sync plans and applies in one transaction of the host's Store, here the
// in-memory one from mappingtest.
func ExampleConfig_Sync() {
	store := mappingtest.NewStore()
	_ = store.AddTeam(mapping.Team{ID: "t1", Org: "acme", Name: "dev"})
	_ = store.AddTeam(mapping.Team{ID: "t2", Org: "beta", Name: "dev"})
	ctx := context.Background()
	cfg := mapping.Config{TeamSync: true}
	login := mapping.Login{
		NameID:     "jane.doe@example.com",
		Attributes: mapping.Attributes{"MemberOf": {"dev"}, "IsServiceAccount": {"true"}},
	}
	diff, err := cfg.Sync(ctx, store, login)
	if err != nil {
		fmt.Println(err)
		return
	}
	out, _ := json.Marshal(diff)
	fmt.Println(string(out))

	again, _ := cfg.Sync(ctx, store, login)
	fmt.Println("second login changes nothing:", again.Empty())
	// Output:
	// {"user":null,"newUser":true,"username":{"from":"","to":"jane.doe","reason":"email_default"},"serviceAccount":{"from":false,"to":true,"reason":"service_account_attribute"},"add":[{"team":"t1","org":"acme","name":"dev","matchedBy":"name","value":"dev"},{"team":"t2","org":"beta","name":"dev","matchedBy":"name","value":"dev"}]}
	// second login changes nothing: true
}

// String explains a Diff, kept in an audit log as JSON, in sentences.
func ExampleDiff_String() {
	var diff mapping.Diff
	_ = json.Unmarshal([]byte(`{"user":"u7",
		"blocked":[{"team":"t9","org":"acme","name":"owners","reason":"last_owner"}],
		"warnings":[{"code":"team_attribute_absent","detail":"the assertion has no \"MemberOf\" attribute"}]}`), &diff)
	fmt.Fprint(os.Stdout, diff)
	// Output:
	// Nothing changes.
	// Stays in owners team "owners" of organization "acme" (ID t9): the user is its last member, and removing them would leave the organization without owners.
	// Warning: the assertion has no "MemberOf" attribute.
}
