package mappingtest_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/siteadmin/integrations/mapping"
	"github.com/siteadmin/integrations/mapping/mappingtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const snapshotJSON = `{
  "user": {"id": "u1", "username": "alice", "email": "alice@example.com",
           "siteAdmin": true, "serviceAccount": false, "teams": ["t1", 7]},
  "teams": [
    {"id": "t1", "org": "acme", "name": "dev", "ssoTeamId": "", "owners": false, "members": 3},
    {"id": 7, "org": "acme", "name": "owners", "ssoTeamId": "acme-admins", "owners": true, "members": 1},
    {"id": "t3", "org": "beta", "name": "dev"}
  ],
  "usernamesTaken": ["bob"]
}`

func TestParseSnapshot(t *testing.T) {
	t.Parallel()
	snap, err := mappingtest.ParseSnapshot([]byte(snapshotJSON))
	require.NoError(t, err)
	assert.Equal(t, mappingtest.Snapshot{
		User: &mappingtest.SnapshotUser{ID: "u1", Username: "alice", Email: "alice@example.com", SiteAdmin: true, Teams: []string{"t1", "7"}},
		Teams: []mapping.Team{
			{ID: "t1", Org: "acme", Name: "dev", Members: 3},
			{ID: "7", Org: "acme", Name: "owners", SSOTeamID: "acme-admins", Owners: true, Members: 1},
			{ID: "t3", Org: "beta", Name: "dev"},
		},
		UsernamesTaken: []string{"bob"},
	}, snap)

	out, err := json.Marshal(snap)
	require.NoError(t, err)
	back, err := mappingtest.ParseSnapshot(out)
	require.NoError(t, err)
	assert.Equal(t, snap, back, "a Snapshot round-trips its JSON")

	for _, newUser := range []string{`{"user": null, "teams": []}`, `{"teams": []}`, `{}`} {
		snap, err := mappingtest.ParseSnapshot([]byte(newUser))
		require.NoError(t, err, newUser)
		assert.Nil(t, snap.User, newUser)
	}
}

func TestParseSnapshotErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, json, want string
	}{
		{"unknown top-level field", `{"user": null, "team": []}`, `unknown field "team"`},
		{"field names are case-sensitive", `{"User": null}`, `unknown field "User"`},
		{"unknown user field", `{"user": {"id": "u", "admin": true}}`, `"user": unknown field "admin"`},
		{"unknown team field", `{"teams": [{"id": "t", "ssoTeamID": "x"}]}`, `"teams": [0]: unknown field "ssoTeamID"`},
		{"user in an unlisted team", `{"user": {"id": "u", "teams": ["t9"]}, "teams": []}`, `team "t9", which is not listed`},
		{"two teams, one ID", `{"teams": [{"id": "t"}, {"id": "t"}]}`, `two teams have this id`},
		{"team without ID", `{"teams": [{"name": "dev"}]}`, `has no id`},
		{"user without ID", `{"user": {"username": "a"}}`, `user has no id`},
		{"negative members", `{"teams": [{"id": "t", "members": -1}]}`, `cannot be negative`},
		{"wrong type", `{"teams": [{"id": "t", "owners": "yes"}]}`, `"owners"`},
		{"ID of another type", `{"teams": [{"id": true}]}`, `an ID must be a string or a number`},
		{"not an object", `[]`, `want a JSON object`},
		{"null", `null`, `want a JSON object`},
		{"empty", ``, `not valid JSON`},
		{"trailing data", `{} {}`, `not valid JSON`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := mappingtest.ParseSnapshot([]byte(tc.json))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestParseConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, json string
		want       mapping.Config
	}{
		{"nil is the defaults", ``, mapping.Config{}},
		{"blank is the defaults", " \n", mapping.Config{}},
		{"empty object is the defaults", `{}`, mapping.Config{}},
		{"absent, null and empty mean the default", `{"teamAttribute": null, "usernameAttribute": ""}`, mapping.Config{}},
		{"every field", `{"teamSync": true, "teamAttribute": "groups", "usernameAttribute": "uid",
			"siteAdminAttribute": "admin", "siteAdminRole": "tfe-admins", "serviceAccountAttribute": "svc",
			"noCommaSplit": true, "allowLastOwnerRemoval": true}`,
			mapping.Config{TeamSync: true, TeamAttribute: "groups", UsernameAttribute: "uid", SiteAdminAttribute: "admin",
				SiteAdminRole: "tfe-admins", ServiceAccountAttribute: "svc", NoCommaSplit: true, AllowLastOwnerRemoval: true}},
		{"dash turns features off", `{"teamAttribute": "-", "usernameAttribute": "-", "siteAdminAttribute": "-", "siteAdminRole": "-", "serviceAccountAttribute": "-"}`,
			mapping.Config{TeamAttribute: "-", UsernameAttribute: "-", SiteAdminAttribute: "-", SiteAdminRole: "-", ServiceAccountAttribute: "-"}},
		{"every field, spelled as samlsp.Settings", `{"team-sync": true, "team-attribute": "groups", "username-attribute": "uid",
			"site-admin-attribute": "admin", "site-admin-role": "tfe-admins", "service-account-attribute": "svc",
			"no-comma-split": true, "allow-last-owner-removal": true}`,
			mapping.Config{TeamSync: true, TeamAttribute: "groups", UsernameAttribute: "uid", SiteAdminAttribute: "admin",
				SiteAdminRole: "tfe-admins", ServiceAccountAttribute: "svc", NoCommaSplit: true, AllowLastOwnerRemoval: true}},
		{"both spellings, different settings", `{"team-sync": true, "teamAttribute": "groups"}`,
			mapping.Config{TeamSync: true, TeamAttribute: "groups"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := mappingtest.ParseConfig([]byte(tc.json))
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParseConfigErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, json, want string
	}{
		{"unknown field", `{"teamSync": true, "groupAttribute": "x"}`, `unknown field "groupAttribute"`},
		{"case matters", `{"teamsync": true}`, `unknown field "teamsync"`},
		{"wrong type", `{"teamSync": "yes"}`, `"teamSync"`},
		{"invalid config names the new spelling", `{"usernameAttribute": "MemberOf"}`, `config username-attribute: "MemberOf" is also team-attribute`},
		{"one setting spelled both ways", `{"teamSync": true, "team-sync": false}`, `"team-sync" and "teamSync" are the same setting; keep "team-sync"`},
		{"the key as written", `{"team-sync": "yes"}`, `"team-sync"`},
		{"unknown field lists the new spellings", `{"groups": 1}`, `the fields are team-sync, team-attribute, username-attribute`},
		{"kebab case matters too", `{"Team-Sync": true}`, `unknown field "Team-Sync"`},
		{"not an object", `"x"`, `want a JSON object`},
		{"trailing data", `{}x`, `invalid character`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := mappingtest.ParseConfig([]byte(tc.json))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestOldSpellings(t *testing.T) {
	t.Parallel()
	got := mappingtest.OldSpellings([]byte(`{"teamSync": true, "site-admin-role": "x", "usernameAttribute": "-", "allowLastOwnerRemoval": false}`))
	assert.Equal(t, []mappingtest.Respelling{
		{Old: "allowLastOwnerRemoval", New: "allow-last-owner-removal"},
		{Old: "teamSync", New: "team-sync"},
		{Old: "usernameAttribute", New: "username-attribute"},
	}, got)
	for _, none := range []string{``, `{}`, `{"team-sync": true}`, `[1]`, `{"teamsync": 1}`, `not json`} {
		assert.Nil(t, mappingtest.OldSpellings([]byte(none)), none)
	}
}

func TestPlanFiles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		snapshot string
		config   string
		nameID   string
		attrs    map[string][]string
		want     string
	}{{
		name:     "existing user, team sync, numeric team IDs",
		snapshot: snapshotJSON,
		config:   `{"teamSync": true}`,
		attrs:    map[string][]string{"MemberOf": {"dev"}, "IsServiceAccount": {"true"}},
		want: `{"user":"u1",
			"siteAdmin":{"from":true,"to":false,"reason":"site_admin_role_absent"},
			"serviceAccount":{"from":false,"to":true,"reason":"service_account_attribute"},
			"add":[{"team":"t3","org":"beta","name":"dev","matchedBy":"name","value":"dev"}],
			"blocked":[{"team":"7","org":"acme","name":"owners","reason":"last_owner"}]}`,
	}, {
		name:     "defaults: team sync off",
		snapshot: snapshotJSON,
		attrs:    map[string][]string{"MemberOf": {"site-admins"}},
		want:     `{"user":"u1"}`,
	}, {
		name:     "dash turns the role off",
		snapshot: snapshotJSON,
		config:   `{"siteAdminRole": "-"}`,
		attrs:    map[string][]string{},
		want:     `{"user":"u1"}`,
	}, {
		name:     "new user from the NameID",
		snapshot: `{"user": null, "teams": [{"id": "t1", "org": "acme", "name": "dev"}], "usernamesTaken": ["jane"]}`,
		config:   `{"teamSync": true}`,
		nameID:   "jane@example.com",
		attrs:    map[string][]string{"MemberOf": {"dev"}},
		want: `{"user":null,"newUser":true,"username":{"from":"","to":"jane1","reason":"email_default"},
			"add":[{"team":"t1","org":"acme","name":"dev","matchedBy":"name","value":"dev"}]}`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var config []byte
			if tc.config != "" {
				config = []byte(tc.config)
			}
			d, err := mappingtest.PlanFiles(ctx, []byte(tc.snapshot), config, tc.nameID, tc.attrs)
			require.NoError(t, err)
			got, err := json.Marshal(d)
			require.NoError(t, err)
			assert.JSONEq(t, tc.want, string(got))
		})
	}

	_, err := mappingtest.PlanFiles(ctx, []byte(`{"teams":[{"id":"t","Name":"x"}]}`), nil, "", nil)
	assert.ErrorContains(t, err, `unknown field "Name"`)
	_, err = mappingtest.PlanFiles(ctx, []byte(`{}`), []byte(`{"teamsync":true}`), "", nil)
	assert.ErrorContains(t, err, `unknown field "teamsync"`)
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = mappingtest.PlanFiles(canceled, []byte(`{}`), nil, "", nil)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestSnapshotLoadRoundTrip(t *testing.T) {
	t.Parallel()
	snap, err := mappingtest.ParseSnapshot([]byte(snapshotJSON))
	require.NoError(t, err)
	store, err := snap.Load()
	require.NoError(t, err)
	got := store.Snapshot("alice@example.com")
	want := *snap.User
	want.Teams = []string{"7", "t1"} // sorted by ID
	assert.Equal(t, &want, got.User)
	assert.ElementsMatch(t, snap.Teams, got.Teams, "member counts survive loading")
	assert.Equal(t, []string{"bob"}, got.UsernamesTaken)

	plain, err := mappingtest.PlanFiles(context.Background(), []byte(snapshotJSON), []byte(`{"teamSync":true}`), "alice@example.com",
		map[string][]string{"MemberOf": {"t3-nope", "dev"}})
	require.NoError(t, err)
	synced, err := mapping.Config{TeamSync: true}.Sync(context.Background(), store, mapping.Login{NameID: "alice@example.com",
		Attributes: mapping.Attributes{"MemberOf": {"t3-nope", "dev"}}})
	require.NoError(t, err)
	assert.Equal(t, plain, synced, "PlanFiles and Sync on the loaded store agree")
}

// ParseConfig never panics, and what it accepts is a valid Config that
// reads the same from either spelling of its keys.
func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"teamSync": true}`, `{"team-sync": true, "teamSync": true}`,
		`{"team-attribute": "groups", "usernameAttribute": "-"}`, `{"site-admin-role": null}`, `[]`, `{"x": 1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := mappingtest.ParseConfig(data)
		_ = mappingtest.OldSpellings(data)
		if err != nil {
			return
		}
		require.NoError(t, c.Validate())
	})
}
