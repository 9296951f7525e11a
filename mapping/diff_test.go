package mapping_test

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/siteadmin/integrations/mapping"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fullDiff has every key of the JSON form.
func fullDiff() mapping.Diff {
	return mapping.Diff{
		User:           "u1",
		Username:       &mapping.StringChange{From: "a", To: "b", Reason: mapping.ReasonUsernameAttribute},
		SiteAdmin:      &mapping.BoolChange{From: false, To: true, Reason: mapping.ReasonSiteAdminRolePresent},
		ServiceAccount: &mapping.BoolChange{From: true, To: false, Reason: mapping.ReasonServiceAccountAbsent},
		Add:            []mapping.TeamAdd{{Team: "t1", Org: "acme", Name: "dev", MatchedBy: mapping.MatchSSOTeamID, Value: "g1"}},
		Remove:         []mapping.TeamRemoval{{Team: "t2", Org: "acme", Name: "ops", Reason: mapping.ReasonNotAsserted}},
		Ignored:        []mapping.IgnoredValue{{Attribute: "MemberOf", Value: "qa", Reason: mapping.ReasonUnknownTeam}},
		Blocked:        []mapping.TeamRemoval{{Team: "t3", Org: "acme", Name: "owners", Reason: mapping.ReasonLastOwner}},
		Warnings:       []mapping.Warning{{Code: mapping.WarningDNLikeValue, Detail: "d"}},
	}
}

func TestDiffJSON(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		diff mapping.Diff
		want string
	}{{
		name: "every key, in the documented order",
		diff: fullDiff(),
		want: `{"user":"u1","username":{"from":"a","to":"b","reason":"username_attribute"},` +
			`"siteAdmin":{"from":false,"to":true,"reason":"site_admin_role_present"},` +
			`"serviceAccount":{"from":true,"to":false,"reason":"service_account_attribute_absent"},` +
			`"add":[{"team":"t1","org":"acme","name":"dev","matchedBy":"sso_team_id","value":"g1"}],` +
			`"remove":[{"team":"t2","org":"acme","name":"ops","reason":"not_asserted"}],` +
			`"ignored":[{"attribute":"MemberOf","value":"qa","reason":"unknown_team"}],` +
			`"blocked":[{"team":"t3","org":"acme","name":"owners","reason":"last_owner"}],` +
			`"warnings":[{"code":"dn_like_value","detail":"d"}]}`,
	}, {
		name: "empty keys omitted, user kept",
		diff: mapping.Diff{User: "u1", Add: []mapping.TeamAdd{}},
		want: `{"user":"u1"}`,
	}, {
		name: "a new user is null",
		diff: mapping.Diff{NewUser: true, Username: &mapping.StringChange{To: "x", Reason: mapping.ReasonEmailDefault}},
		want: `{"user":null,"newUser":true,"username":{"from":"","to":"x","reason":"email_default"}}`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := json.Marshal(tc.diff)
			require.NoError(t, err)
			assert.Equal(t, tc.want, string(got))

			var back mapping.Diff
			require.NoError(t, json.Unmarshal(got, &back))
			again, err := json.Marshal(back)
			require.NoError(t, err)
			assert.Equal(t, tc.want, string(again), "JSON round trip")
		})
	}
}

func TestDiffString(t *testing.T) {
	t.Parallel()
	got := fullDiff().String()
	for _, want := range []string{
		`The username changes from "a" to "b": the username attribute asserts it.`,
		`Site admin access is granted: the team attribute carries the site-admin role.`,
		`The user is no longer a service account: the service-account attribute is absent, so its tokens expire again.`,
		`Joins team "dev" of organization "acme" (ID t1): the value "g1" is its SSO Team ID.`,
		`Leaves team "ops" of organization "acme" (ID t2): no asserted value is its name or SSO Team ID (for an owners team: its SAML Role ID).`,
		`Stays in owners team "owners" of organization "acme" (ID t3): the user is its last member`,
		`The MemberOf value "qa" is ignored: it is no team's name or SSO Team ID, nor an owners team's SAML Role ID, and teams are never created.`,
		`Warning: d.`,
	} {
		assert.Contains(t, got, want)
	}
	assert.Equal(t, "Nothing changes.\n", mapping.Diff{User: "u1"}.String())
	assert.True(t, strings.HasPrefix(mapping.Diff{User: "u", Warnings: []mapping.Warning{{Code: "x", Detail: "y"}}}.String(), "Nothing changes.\nWarning: y."))
	assert.Contains(t, mapping.Diff{NewUser: true}.String(), "A new user is created.")
}

// Each key is named with the reference's term for its case: an owners
// team's SAML Role ID, every other team's SSO Team ID; and a username's
// line says why it was kept or derived.
func TestDiffStringWording(t *testing.T) {
	t.Parallel()
	taken := mapping.IgnoredValue{Attribute: "Username", Value: "bob", Reason: mapping.ReasonUsernameTaken}
	invalid := mapping.IgnoredValue{Attribute: "login", Value: "-x", Reason: mapping.ReasonUsernameInvalid}
	derived := &mapping.StringChange{To: "alice", Reason: mapping.ReasonEmailDefault}
	for _, tc := range []struct {
		name string
		diff mapping.Diff
		want []string // the whole String, line by line
	}{{
		name: "owners team joined by its SAML Role ID",
		diff: mapping.Diff{User: "u1", Add: []mapping.TeamAdd{{Team: "t0", Org: "acme", Name: "owners", MatchedBy: mapping.MatchOwnersRoleID, Value: "acme-owners"}}},
		want: []string{`Joins owners team "owners" of organization "acme" (ID t0): the value "acme-owners" is its SAML Role ID.`},
	}, {
		name: "other teams by name and by SSO Team ID",
		diff: mapping.Diff{User: "u1", Add: []mapping.TeamAdd{
			{Team: "t1", Org: "acme", Name: "dev", MatchedBy: mapping.MatchName, Value: "dev"},
			{Team: "t2", Org: "acme", Name: "ops", MatchedBy: mapping.MatchSSOTeamID, Value: "g-ops"},
		}},
		want: []string{
			`Joins team "dev" of organization "acme" (ID t1): the value "dev" is its name.`,
			`Joins team "ops" of organization "acme" (ID t2): the value "g-ops" is its SSO Team ID.`,
		},
	}, {
		name: "an owners team's name is not its key",
		diff: mapping.Diff{User: "u1", Ignored: []mapping.IgnoredValue{{Attribute: "MemberOf", Value: "owners", Reason: mapping.ReasonOwnersUnmanaged}}},
		want: []string{"Nothing changes.", `The MemberOf value "owners" is ignored: it is the name of an owners team, which team sync joins only by its SAML Role ID.`},
	}, {
		name: "derived username with the taken value on the same line",
		diff: mapping.Diff{NewUser: true, Username: derived, Ignored: []mapping.IgnoredValue{{Attribute: "MemberOf", Value: "qa", Reason: mapping.ReasonUnknownTeam}, taken}},
		want: []string{
			"A new user is created.",
			`The username is "alice", derived from the email address, because the Username value "bob" is taken by another user.`,
			`The MemberOf value "qa" is ignored: it is no team's name or SSO Team ID, nor an owners team's SAML Role ID, and teams are never created.`,
		},
	}, {
		name: "derived username with the invalid value on the same line",
		diff: mapping.Diff{NewUser: true, Username: derived, Ignored: []mapping.IgnoredValue{invalid}},
		want: []string{
			"A new user is created.",
			`The username is "alice", derived from the email address, because the login value "-x" is not a valid username.`,
		},
	}, {
		name: "derived username without an asserted one",
		diff: mapping.Diff{NewUser: true, Username: derived},
		want: []string{"A new user is created.", `The username is "alice", derived from the email address, as the assertion carries no username.`},
	}, {
		name: "kept username, first among the lines",
		diff: mapping.Diff{User: "u1", Add: fullDiff().Add, Ignored: []mapping.IgnoredValue{taken}},
		want: []string{
			`The username stays as it is: the Username value "bob" is taken by another user.`,
			`Joins team "dev" of organization "acme" (ID t1): the value "g1" is its SSO Team ID.`,
		},
	}, {
		name: "kept username alone changes nothing",
		diff: mapping.Diff{User: "u1", Ignored: []mapping.IgnoredValue{invalid}},
		want: []string{"Nothing changes.", `The username stays as it is: the login value "-x" is not a valid username.`},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, strings.Join(tc.want, "\n")+"\n", tc.diff.String())
		})
	}
}

func TestDiffEmpty(t *testing.T) {
	t.Parallel()
	assert.True(t, mapping.Diff{User: "u", Ignored: fullDiff().Ignored, Blocked: fullDiff().Blocked, Warnings: fullDiff().Warnings}.Empty(),
		"explanations of non-changes are not changes")
	for name, d := range map[string]mapping.Diff{
		"new user":        {NewUser: true},
		"username":        {Username: fullDiff().Username},
		"site admin":      {SiteAdmin: fullDiff().SiteAdmin},
		"service account": {ServiceAccount: fullDiff().ServiceAccount},
		"add":             {Add: fullDiff().Add},
		"remove":          {Remove: fullDiff().Remove},
	} {
		assert.False(t, d.Empty(), name)
	}
}

// TestPlanDeterministic shuffles every input list and checks that the Diff
// stays the same, sorted as documented.
func TestPlanDeterministic(t *testing.T) {
	t.Parallel()
	cfg := mapping.Config{TeamSync: true}
	base := benchInput(300)
	base.Attributes["MemberOf"] = append(base.Attributes["MemberOf"], "owners", "beta-admins", "x,CN=a,OU=b")
	base.Attributes["SiteAdmin"] = []string{"maybe", "true", "nope"}
	base.Teams = append(base.Teams, acmeOwners, betaOwners)
	want, err := cfg.Plan(base)
	require.NoError(t, err)
	require.NotEmpty(t, want.Add)
	require.NotEmpty(t, want.Remove)
	require.NotEmpty(t, want.Ignored)

	rng := rand.New(rand.NewPCG(7, 7))
	for range 20 {
		in := base
		in.Teams = shuffled(rng, base.Teams)
		user := *base.User
		user.Teams = shuffled(rng, base.User.Teams)
		in.User = &user
		in.Attributes = mapping.Attributes{}
		for k, v := range base.Attributes {
			in.Attributes[k] = shuffled(rng, v)
		}
		in.Attributes["SiteAdmin"] = base.Attributes["SiteAdmin"] // order of reports is sorted anyway
		got, err := cfg.Plan(in)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	assert.IsNonDecreasing(t, orgNameIDs(want.Add))
	var ignored []string
	for _, v := range want.Ignored {
		ignored = append(ignored, v.Attribute+"\x00"+v.Value)
	}
	assert.IsNonDecreasing(t, ignored)
}

func shuffled[T any](rng *rand.Rand, s []T) []T {
	out := append([]T(nil), s...)
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func orgNameIDs(adds []mapping.TeamAdd) []string {
	var out []string
	for _, a := range adds {
		out = append(out, a.Org+"\x00"+a.Name+"\x00"+a.Team)
	}
	return out
}
