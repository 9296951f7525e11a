package mapping_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/siteadmin/integrations/mapping"
	"github.com/siteadmin/integrations/mapping/mappingtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzPlan checks that any attributes, state and configuration give a
// Diff without panic, that Sync through mappingtest applies exactly that
// Diff, and that planning again afterwards gives an Empty Diff. The seeds
// are the examples; plain go test runs them.
//
// state holds one record a line, fields split by '|':
//
//	t|ID|org|name|ssoTeamId|owners (1)|members
//	u|username|siteAdmin (1)|serviceAccount (1)|team ID,team ID,...
//	x|a username another user holds
//
// attrs holds one attribute a line: Name=value|value|...
// flags: 1 team sync, 2 no comma split, 4 allow last-owner removal, 8 role
// off, 16 username off, 32 SiteAdmin off, 64 IsServiceAccount off.
func FuzzPlan(f *testing.F) {
	dir := "t|d1|acme|dev||0|3\nt|d2|beta|dev||0|1\nt|o1|acme|owners||1|1\nt|o2|beta|owners|beta-admins|1|1\nt|s1|acme|ops|grp-ops|0|2\nt|sa|acme|site-admins||0|1\n"
	for _, seed := range []struct {
		state, attrs string
		flags        uint8
	}{
		{dir + "u|alice|0|0|", "MemberOf=dev|ops", 1},                                      // separate AttributeValues
		{dir + "u|alice|0|0|d1", "MemberOf=list,of,roles, dev", 1},                         // comma-separated
		{dir + "u|alice|1|0|", "MemberOf=dev", 0},                                          // site-admins absent revokes
		{dir + "u|alice|0|0|", "MemberOf=site-admins", 1},                                  // site-admins grants, not a team
		{dir + "u|alice|0|0|", "MemberOf=site-admins\nSiteAdmin=false", 1},                 // SiteAdmin overrides
		{dir + "u|alice|0|1|", "IsServiceAccount=TRUE", 0},                                 // case rules
		{dir + "u|alice|0|1|", "isserviceaccount=true", 0},                                 // name is case-sensitive
		{dir + "u|alice|0|0|o1,o2", "MemberOf=owners", 1},                                  // owners without Role ID
		{dir + "u|alice|0|0|", "MemberOf=beta-admins", 1},                                  // owners with Role ID
		{dir + "u|alice|0|0|o2", "MemberOf=", 1},                                           // last owner
		{dir + "u|alice|0|0|o2", "MemberOf=", 5},                                           // last owner, guard off
		{dir + "u|alice|0|0|s1", "MemberOf=grp-ops|qa", 1},                                 // SSO Team ID, unknown team
		{dir + "u|alice|0|0|d1\nx|bob", "Username=bob", 0},                                 // taken username
		{dir + "u|alice|0|0|", "Username=not valid!", 0},                                   // invalid username
		{dir + "x|fuzz\nx|fuzz1", "MemberOf=dev\nUsername=bob", 1},                         // new user
		{dir + "u|alice|0|0|d1", "Other=x", 1},                                             // absent team attribute
		{dir + "u|alice|0|0|d1", "http://schemas.microsoft.com/claims/groups.link=x", 1},   // overage
		{dir + "u|alice|0|0|d1", "MemberOf=CN=dev,OU=Groups,DC=example", 1},                // DN-like
		{dir + "u|alice|0|0|d1", "MemberOf=CN=dev,OU=Groups,DC=example", 3},                // DN, no split
		{dir + "u|alice|1|1|d1,o2", "MemberOf=dev\nSiteAdmin=yes\nUsername=alice", 127},    // every feature off
		{"t|a|o|n|n|1|0\nt|b|o|n|n|0|0\nu||0|0|a,b,a\nx|", "MemberOf=n|n,n\nUsername=", 1}, // odd directory
	} {
		f.Add(seed.state, seed.attrs, seed.flags)
	}
	f.Fuzz(func(t *testing.T, state, attrText string, flags uint8) {
		const email = "fuzz@example.com"
		cfg := fuzzConfig(flags)
		snap := parseFuzzState(state, email)
		attrs := parseFuzzAttrs(attrText)
		in, err := snap.Input(email, attrs)
		require.NoError(t, err)
		d, err := cfg.Plan(in)
		require.NoError(t, err)
		checkInvariants(t, cfg, in, d)
		_, err = json.Marshal(d)
		require.NoError(t, err)
		require.NotEmpty(t, d.String())

		store, err := snap.Load()
		require.NoError(t, err)
		ctx := context.Background()
		login := mapping.Login{NameID: email, Attributes: attrs}
		synced, err := cfg.Sync(ctx, store, login)
		require.NoError(t, err)
		require.Equal(t, d, synced, "Sync applied another Diff than Plan gave")
		again, err := cfg.Preview(ctx, store, login)
		require.NoError(t, err)
		require.True(t, again.Empty(), "planning after applying still changes:\n%s\nfirst:\n%s", again, d)
	})
}

func fuzzConfig(flags uint8) mapping.Config {
	off := func(bit uint8) string {
		if flags&bit != 0 {
			return mapping.Off
		}
		return ""
	}
	return mapping.Config{
		TeamSync:                flags&1 != 0,
		NoCommaSplit:            flags&2 != 0,
		AllowLastOwnerRemoval:   flags&4 != 0,
		SiteAdminRole:           off(8),
		UsernameAttribute:       off(16),
		SiteAdminAttribute:      off(32),
		ServiceAccountAttribute: off(64),
	}
}

// parseFuzzState reads the state format of FuzzPlan, skipping what would
// make an inconsistent directory (repeated or empty IDs, unknown teams).
func parseFuzzState(text, email string) mappingtest.Snapshot {
	var snap mappingtest.Snapshot
	ids := map[string]bool{}
	var userTeams []string
	for _, line := range strings.Split(text, "\n") {
		f := strings.Split(line, "|")
		switch {
		case f[0] == "t" && len(f) == 7 && f[1] != "" && !ids[f[1]]:
			members, _ := strconv.Atoi(f[6])
			ids[f[1]] = true
			snap.Teams = append(snap.Teams, mapping.Team{ID: f[1], Org: f[2], Name: f[3], SSOTeamID: f[4], Owners: f[5] == "1", Members: min(max(members, 0), 5)})
		case f[0] == "u" && len(f) == 5 && snap.User == nil:
			snap.User = &mappingtest.SnapshotUser{ID: "u1", Username: f[1], Email: email, SiteAdmin: f[2] == "1", ServiceAccount: f[3] == "1"}
			userTeams = strings.Split(f[4], ",")
		case f[0] == "x" && len(f) == 2:
			snap.UsernamesTaken = append(snap.UsernamesTaken, f[1])
		}
	}
	if snap.User != nil {
		for _, id := range userTeams {
			if ids[id] {
				snap.User.Teams = append(snap.User.Teams, id)
			}
		}
		kept := snap.UsernamesTaken[:0]
		for _, u := range snap.UsernamesTaken {
			if u != snap.User.Username {
				kept = append(kept, u)
			}
		}
		snap.UsernamesTaken = kept
	}
	return snap
}

func parseFuzzAttrs(text string) mapping.Attributes {
	attrs := mapping.Attributes{}
	for _, line := range strings.Split(text, "\n") {
		if name, values, ok := strings.Cut(line, "="); ok {
			attrs[name] = append(attrs[name], strings.Split(values, "|")...)
		}
	}
	return attrs
}

// checkInvariants checks rules that hold for every Diff.
func checkInvariants(t *testing.T, cfg mapping.Config, in mapping.Input, d mapping.Diff) {
	t.Helper()
	_, teamAttr := in.Attributes["MemberOf"]
	if !cfg.TeamSync || !teamAttr {
		assert.Empty(t, d.Add, "memberships touched without team sync or team attribute")
		assert.Empty(t, d.Remove)
	}
	if _, overage := in.Attributes[mapping.GroupOverageClaim]; overage {
		assert.Empty(t, d.Remove, "removed under group overage")
	}
	teams := map[string]mapping.Team{}
	for _, tm := range in.Teams {
		teams[tm.ID] = tm
	}
	for _, a := range d.Add {
		tm := teams[a.Team]
		if tm.Owners {
			assert.Equal(t, mapping.MatchOwnersRoleID, a.MatchedBy, "owners team joined other than by Role ID")
			assert.NotEmpty(t, tm.SSOTeamID)
		}
		if cfg.SiteAdminRole != mapping.Off {
			assert.NotEqual(t, "site-admins", a.Value, "the role value joined a team")
		}
	}
	for _, r := range d.Remove {
		tm := teams[r.Team]
		assert.False(t, tm.Owners && tm.SSOTeamID == "", "unmanaged owners team left")
		assert.False(t, tm.Owners && tm.Members <= 1 && !cfg.AllowLastOwnerRemoval, "last owner removed")
	}
	if d.Username != nil {
		assert.True(t, mapping.DefaultValidUsername(d.Username.To), "invalid username %q", d.Username.To)
		assert.NotContains(t, in.UsernamesTaken, d.Username.To, "taken username given")
	}
	assert.Equal(t, in.User == nil, d.NewUser)
}
