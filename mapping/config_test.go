package mapping_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/siteadmin/integrations/mapping"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		cfg    mapping.Config
		fields []string // the FieldError fields expected, in order
	}{
		{"zero value is valid", mapping.Config{}, nil},
		{"every feature off is valid", mapping.Config{TeamAttribute: "-", UsernameAttribute: "-", SiteAdminAttribute: "-", SiteAdminRole: "-", ServiceAccountAttribute: "-"}, nil},
		{"renamed attributes are valid", mapping.Config{TeamAttribute: "groups", UsernameAttribute: "uid", SiteAdminRole: "admins"}, nil},
		{"spaces around a name", mapping.Config{TeamAttribute: " MemberOf"}, []string{"teamAttribute"}},
		{"blank role", mapping.Config{SiteAdminRole: "  "}, []string{"siteAdminRole"}},
		{"two features share an attribute", mapping.Config{UsernameAttribute: "MemberOf"}, []string{"usernameAttribute"}},
		{"a default name reused", mapping.Config{TeamAttribute: "SiteAdmin"}, []string{"siteAdminAttribute"}},
		{"comma in the role while splitting", mapping.Config{SiteAdminRole: "a,b"}, []string{"siteAdminRole"}},
		{"comma in the role without splitting is fine", mapping.Config{SiteAdminRole: "a,b", NoCommaSplit: true}, nil},
		{"every problem at once", mapping.Config{TeamAttribute: "x ", UsernameAttribute: "IsServiceAccount", SiteAdminRole: "a,b"},
			[]string{"teamAttribute", "serviceAccountAttribute", "siteAdminRole"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.cfg.Validate()
			if tc.fields == nil {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			var got []string
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var fe *mapping.FieldError
				require.True(t, errors.As(e, &fe), "%v is not a *FieldError", e)
				got = append(got, fe.Field)
				assert.True(t, strings.HasPrefix(fe.Error(), "mapping: config "+fe.Field+": "), fe.Error())
			}
			assert.Equal(t, tc.fields, got)

			_, planErr := tc.cfg.Plan(mapping.Input{NameID: "a@b"})
			assert.Equal(t, err.Error(), planErr.Error(), "Plan refuses an invalid Config")
		})
	}
}

func TestPlanRefusesInconsistentInput(t *testing.T) {
	t.Parallel()
	cfg := mapping.Config{TeamSync: true}
	attrs := mapping.Attributes{"MemberOf": {"dev"}}
	for _, tc := range []struct {
		name string
		in   mapping.Input
		want string
	}{{
		name: "user team without ID",
		in:   mapping.Input{User: alice(mapping.Team{Org: "acme", Name: "dev"}), Attributes: attrs},
		want: `a team in User.Teams has no ID (org "acme", name "dev")`,
	}, {
		name: "candidate team without ID",
		in:   mapping.Input{User: alice(), Attributes: attrs, Teams: []mapping.Team{{Org: "acme", Name: "x"}}},
		want: `a team in Teams has no ID`,
	}, {
		name: "user team listed twice, differently",
		in:   mapping.Input{User: alice(acmeDev, withMembers(acmeDev, 9)), Attributes: attrs},
		want: `team "t-acme-dev" is listed twice with different fields`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := cfg.Plan(tc.in)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestPlanToleratesRepeats(t *testing.T) {
	t.Parallel()
	cfg := mapping.Config{TeamSync: true}
	in := mapping.Input{
		User:       alice(acmeDev, acmeDev, betaOwners),
		Attributes: mapping.Attributes{"MemberOf": {"ops", "ops", "grp-ops", "ops,ops"}},
		Teams:      []mapping.Team{acmeOps, acmeOps, acmeDev, betaOwners},
	}
	d, err := cfg.Plan(in)
	require.NoError(t, err)
	assert.Len(t, d.Add, 1, "one add for a team listed twice")
	assert.Len(t, d.Remove, 1, "one removal for a team listed twice")
	assert.Len(t, d.Blocked, 1)
	assert.Empty(t, d.Ignored)
}

// TestPlanHostileInput feeds what an attacker or a broken IdP could send:
// none of it may panic, error, or reach a team it does not name exactly.
func TestPlanHostileInput(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("a", 1<<20)
	commas := strings.Repeat(",", 100_000)
	for _, tc := range []struct {
		name  string
		attrs mapping.Attributes
	}{
		{"a megabyte value", mapping.Attributes{"MemberOf": {huge}, "Username": {huge}, "SiteAdmin": {huge}, "IsServiceAccount": {huge}}},
		{"only commas", mapping.Attributes{"MemberOf": {commas}}},
		{"NUL bytes and invalid UTF-8", mapping.Attributes{"MemberOf": {"dev\x00", "\xff\xfe", "d\x00ev,\x00"}, "Username": {"a\x00b"}}},
		{"lookalikes", mapping.Attributes{"MemberOf": {"dev\u200b", "Dev", "dev ", "ｄｅｖ", "ops\t"}, "NoCommaSplit": {"true"}}},
		{"control characters", mapping.Attributes{"MemberOf": {"\r\n", "dev\r\nops"}, "Username": {"a\r\nb"}}},
		{"DN injection", mapping.Attributes{"MemberOf": {"CN=owners,OU=x", "cn=site-admins"}}},
		{"nil and empty", mapping.Attributes{"": nil, "MemberOf": nil, "Username": nil, "SiteAdmin": nil}},
		{"a hundred thousand values", mapping.Attributes{"MemberOf": strings.Split(strings.Repeat("x,", 100_000), ",")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := mapping.Input{User: alice(), Attributes: tc.attrs, Teams: directory()}
			for _, cfg := range []mapping.Config{{TeamSync: true}, {TeamSync: true, NoCommaSplit: true}} {
				d, err := cfg.Plan(in)
				require.NoError(t, err)
				for _, a := range d.Add {
					assert.Contains(t, []string{"dev", "ops", "grp-ops"}, a.Value, "only exact names match")
				}
				_, err = d.MarshalJSON()
				require.NoError(t, err)
				_ = d.String()
			}
		})
	}
}
