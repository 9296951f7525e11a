package mapping_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/siteadmin/integrations/mapping"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rule is one row of a rule table: a seed example from issue 2 and the
// Diff JSON it must give.
type rule struct {
	name  string
	cfg   mapping.Config
	user  *mapping.User // nil: a new user signing in as newUserEmail
	attrs mapping.Attributes
	taken []string
	teams []mapping.Team // nil: directory()
	want  string         // the Diff's JSON
}

const newUserEmail = "Jane.Doe+ci@example.com"

func (r rule) input() mapping.Input {
	in := mapping.Input{User: r.user, NameID: newUserEmail, Attributes: r.attrs, Teams: r.teams, UsernamesTaken: r.taken}
	if in.Teams == nil {
		in.Teams = directory()
		for i, t := range in.Teams {
			for _, mine := range userTeams(r.user) {
				if mine.ID == t.ID {
					in.Teams[i] = mine // the user's copy may have another member count
				}
			}
		}
	}
	return in
}

func runRules(t *testing.T, rules []rule) {
	t.Helper()
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			in := r.input()
			d, err := r.cfg.Plan(in)
			require.NoError(t, err)
			got, err := json.Marshal(d)
			require.NoError(t, err)
			assert.JSONEq(t, r.want, string(got), "Diff:\n%s", d)
			assertSyncAgrees(t, r.cfg, in, d)
		})
	}
}

var sync = mapping.Config{TeamSync: true}

func TestUsernameRule(t *testing.T) {
	t.Parallel()
	runRules(t, []rule{{
		name:  "present, valid and free: it becomes the username",
		user:  alice(),
		attrs: mapping.Attributes{"Username": {"alice.w"}},
		want:  `{"user":"u-alice","username":{"from":"alice","to":"alice.w","reason":"username_attribute"}}`,
	}, {
		name:  "value is trimmed",
		user:  alice(),
		attrs: mapping.Attributes{"Username": {"  al-1_x \t"}},
		want:  `{"user":"u-alice","username":{"from":"alice","to":"al-1_x","reason":"username_attribute"}}`,
	}, {
		name:  "of several values the first counts",
		user:  alice(),
		attrs: mapping.Attributes{"Username": {"first", "second"}},
		want:  `{"user":"u-alice","username":{"from":"alice","to":"first","reason":"username_attribute"}}`,
	}, {
		name:  "taken by another user: login completes, the username is kept",
		user:  alice(),
		attrs: mapping.Attributes{"Username": {"bob"}},
		taken: []string{"alice", "bob"},
		want:  `{"user":"u-alice","ignored":[{"attribute":"Username","value":"bob","reason":"username_taken"}]}`,
	}, {
		name:  "invalid: spaces and punctuation",
		user:  alice(),
		attrs: mapping.Attributes{"Username": {"alice smith!"}},
		want:  `{"user":"u-alice","ignored":[{"attribute":"Username","value":"alice smith!","reason":"username_invalid"}]}`,
	}, {
		name:  "invalid: starts with punctuation",
		user:  alice(),
		attrs: mapping.Attributes{"Username": {".alice"}},
		want:  `{"user":"u-alice","ignored":[{"attribute":"Username","value":".alice","reason":"username_invalid"}]}`,
	}, {
		name:  "invalid: 65 characters",
		user:  alice(),
		attrs: mapping.Attributes{"Username": {strings.Repeat("a", 65)}},
		want:  `{"user":"u-alice","ignored":[{"attribute":"Username","value":"` + strings.Repeat("a", 65) + `","reason":"username_invalid"}]}`,
	}, {
		name:  "64 characters are fine",
		user:  alice(),
		attrs: mapping.Attributes{"Username": {strings.Repeat("b", 64)}},
		want:  `{"user":"u-alice","username":{"from":"alice","to":"` + strings.Repeat("b", 64) + `","reason":"username_attribute"}}`,
	}, {
		name:  "invalid: non-ASCII letters",
		user:  alice(),
		attrs: mapping.Attributes{"Username": {"zoë"}},
		want:  `{"user":"u-alice","ignored":[{"attribute":"Username","value":"zoë","reason":"username_invalid"}]}`,
	}, {
		name:  "invalid: present with no values",
		user:  alice(),
		attrs: mapping.Attributes{"Username": {}},
		want:  `{"user":"u-alice","ignored":[{"attribute":"Username","value":"","reason":"username_invalid"}]}`,
	}, {
		name:  "same as the current username: nothing to do",
		user:  alice(),
		attrs: mapping.Attributes{"Username": {"alice"}},
		taken: []string{"alice"},
		want:  `{"user":"u-alice"}`,
	}, {
		name:  "absent: the username is kept",
		user:  alice(),
		attrs: mapping.Attributes{"username": {"lowercase-name-is-another-attribute"}},
		want:  `{"user":"u-alice"}`,
	}, {
		name:  "turned off: never read",
		cfg:   mapping.Config{UsernameAttribute: mapping.Off},
		user:  alice(),
		attrs: mapping.Attributes{"Username": {"carol"}},
		want:  `{"user":"u-alice"}`,
	}, {
		name:  "renamed attribute",
		cfg:   mapping.Config{UsernameAttribute: "uid"},
		user:  alice(),
		attrs: mapping.Attributes{"uid": {"carol"}, "Username": {"dave"}},
		want:  `{"user":"u-alice","username":{"from":"alice","to":"carol","reason":"username_attribute"}}`,
	}, {
		name:  "host rule replaces the default",
		cfg:   mapping.Config{ValidUsername: func(u string) bool { return mapping.DefaultValidUsername(u) && !strings.Contains(u, ".") }},
		user:  alice(),
		attrs: mapping.Attributes{"Username": {"alice.w"}},
		want:  `{"user":"u-alice","ignored":[{"attribute":"Username","value":"alice.w","reason":"username_invalid"}]}`,
	}, {
		name: "new user: default from the email's local part, invalid characters become _",
		want: `{"user":null,"newUser":true,"username":{"from":"","to":"Jane.Doe_ci","reason":"email_default"}}`,
	}, {
		name:  "new user: default takes a numeric suffix while taken",
		taken: []string{"Jane.Doe_ci", "Jane.Doe_ci1"},
		want:  `{"user":null,"newUser":true,"username":{"from":"","to":"Jane.Doe_ci2","reason":"email_default"}}`,
	}, {
		name:  "new user: asserted username wins over the default",
		attrs: mapping.Attributes{"Username": {"jdoe"}},
		want:  `{"user":null,"newUser":true,"username":{"from":"","to":"jdoe","reason":"username_attribute"}}`,
	}, {
		name:  "new user: asserted username taken, the default is used",
		attrs: mapping.Attributes{"Username": {"jdoe"}},
		taken: []string{"jdoe"},
		want:  `{"user":null,"newUser":true,"username":{"from":"","to":"Jane.Doe_ci","reason":"email_default"},"ignored":[{"attribute":"Username","value":"jdoe","reason":"username_taken"}]}`,
	}, {
		name:  "new user: asserted username invalid, the default is used",
		attrs: mapping.Attributes{"Username": {"j doe"}},
		want:  `{"user":null,"newUser":true,"username":{"from":"","to":"Jane.Doe_ci","reason":"email_default"},"ignored":[{"attribute":"Username","value":"j doe","reason":"username_invalid"}]}`,
	}})
}

func TestDefaultUsernames(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 70)
	for _, tc := range []struct {
		email string
		taken []string
		want  string
	}{
		{"alice@example.com", nil, "alice"},
		{"Alice.Smith@example.com", nil, "Alice.Smith"},
		{"a+b@example.com", nil, "a_b"},
		{"_leading@example.com", nil, "leading"},
		{"+++@example.com", nil, "user"},
		{"", nil, "user"},
		{"no-at-sign", nil, "no-at-sign"},
		{`"odd@local"@example.com`, nil, "odd_local_"},
		{"zoë@example.com", nil, "zo_"},
		{"名前@example.com", nil, "user"},
		{"user@example.com", []string{"user"}, "user1"},
		{long + "@example.com", nil, long[:64]},
		{long + "@example.com", []string{long[:64]}, long[:63] + "1"},
		{"bob@x", []string{"bob", "bob1", "bob2", "bob3", "bob4", "bob5", "bob6", "bob7", "bob8", "bob9"}, "bob10"},
	} {
		d, err := mapping.Config{}.Plan(mapping.Input{NameID: tc.email, UsernamesTaken: tc.taken})
		require.NoError(t, err, tc.email)
		require.NotNil(t, d.Username, tc.email)
		assert.Equal(t, tc.want, d.Username.To, tc.email)
		assert.True(t, mapping.DefaultValidUsername(d.Username.To), tc.email)
	}
}

func TestSiteAdminRule(t *testing.T) {
	t.Parallel()
	admin := alice()
	admin.SiteAdmin = true
	runRules(t, []rule{{
		name:  "SiteAdmin true grants",
		user:  alice(),
		attrs: mapping.Attributes{"SiteAdmin": {"true"}},
		want:  `{"user":"u-alice","siteAdmin":{"from":false,"to":true,"reason":"site_admin_attribute"}}`,
	}, {
		name:  "SiteAdmin 1, TRUE and padded values grant",
		user:  alice(),
		attrs: mapping.Attributes{"SiteAdmin": {"1", "TRUE", " True "}},
		want:  `{"user":"u-alice","siteAdmin":{"from":false,"to":true,"reason":"site_admin_attribute"}}`,
	}, {
		name:  "SiteAdmin false revokes",
		user:  admin,
		attrs: mapping.Attributes{"SiteAdmin": {"false"}},
		want:  `{"user":"u-alice","siteAdmin":{"from":true,"to":false,"reason":"site_admin_attribute"}}`,
	}, {
		name:  "SiteAdmin 0 revokes",
		user:  admin,
		attrs: mapping.Attributes{"SiteAdmin": {"0"}},
		want:  `{"user":"u-alice","siteAdmin":{"from":true,"to":false,"reason":"site_admin_attribute"}}`,
	}, {
		name:  "values must all be true",
		user:  admin,
		attrs: mapping.Attributes{"SiteAdmin": {"true", "false"}},
		want:  `{"user":"u-alice","siteAdmin":{"from":true,"to":false,"reason":"site_admin_attribute"}}`,
	}, {
		name:  "unparseable value revokes and is reported",
		user:  admin,
		attrs: mapping.Attributes{"SiteAdmin": {"yes", "true", "yes"}},
		want:  `{"user":"u-alice","siteAdmin":{"from":true,"to":false,"reason":"site_admin_attribute"},"ignored":[{"attribute":"SiteAdmin","value":"yes","reason":"invalid_boolean"}]}`,
	}, {
		name:  "present with no values revokes",
		user:  admin,
		attrs: mapping.Attributes{"SiteAdmin": {}},
		want:  `{"user":"u-alice","siteAdmin":{"from":true,"to":false,"reason":"site_admin_attribute"}}`,
	}, {
		name:  "already granted: no change",
		user:  admin,
		attrs: mapping.Attributes{"SiteAdmin": {"true"}},
		want:  `{"user":"u-alice"}`,
	}, {
		name:  "site-admins in MemberOf grants without SiteAdmin (team sync off)",
		user:  alice(),
		attrs: mapping.Attributes{"MemberOf": {"dev", "site-admins"}},
		want:  `{"user":"u-alice","siteAdmin":{"from":false,"to":true,"reason":"site_admin_role_present"}}`,
	}, {
		name:  "site-admins in list,of,roles grants",
		user:  alice(),
		attrs: mapping.Attributes{"MemberOf": {"list,site-admins,of,roles"}},
		want:  `{"user":"u-alice","siteAdmin":{"from":false,"to":true,"reason":"site_admin_role_present"}}`,
	}, {
		name:  "site-admins absent from MemberOf revokes",
		user:  admin,
		attrs: mapping.Attributes{"MemberOf": {"dev"}},
		want:  `{"user":"u-alice","siteAdmin":{"from":true,"to":false,"reason":"site_admin_role_absent"}}`,
	}, {
		name:  "MemberOf absent: the role is absent, access revoked",
		user:  admin,
		attrs: mapping.Attributes{},
		want:  `{"user":"u-alice","siteAdmin":{"from":true,"to":false,"reason":"site_admin_role_absent"}}`,
	}, {
		name:  "SiteAdmin false overrides site-admins",
		user:  admin,
		attrs: mapping.Attributes{"SiteAdmin": {"false"}, "MemberOf": {"site-admins"}},
		want:  `{"user":"u-alice","siteAdmin":{"from":true,"to":false,"reason":"site_admin_attribute"}}`,
	}, {
		name:  "SiteAdmin true overrides the role's absence",
		user:  alice(),
		attrs: mapping.Attributes{"SiteAdmin": {"true"}, "MemberOf": {"dev"}},
		want:  `{"user":"u-alice","siteAdmin":{"from":false,"to":true,"reason":"site_admin_attribute"}}`,
	}, {
		name:  "role turned off: MemberOf never changes site admin",
		cfg:   mapping.Config{SiteAdminRole: mapping.Off},
		user:  admin,
		attrs: mapping.Attributes{"MemberOf": {"dev"}},
		want:  `{"user":"u-alice"}`,
	}, {
		name:  "renamed role",
		cfg:   mapping.Config{SiteAdminRole: "tfe-admins"},
		user:  alice(),
		attrs: mapping.Attributes{"MemberOf": {"site-admins", "tfe-admins"}},
		want:  `{"user":"u-alice","siteAdmin":{"from":false,"to":true,"reason":"site_admin_role_present"}}`,
	}, {
		name:  "role is case-sensitive",
		user:  admin,
		attrs: mapping.Attributes{"MemberOf": {"Site-Admins"}},
		want:  `{"user":"u-alice","siteAdmin":{"from":true,"to":false,"reason":"site_admin_role_absent"}}`,
	}, {
		name:  "neither configured: never changed",
		cfg:   mapping.Config{SiteAdminAttribute: mapping.Off, SiteAdminRole: mapping.Off},
		user:  admin,
		attrs: mapping.Attributes{"SiteAdmin": {"false"}, "MemberOf": {"dev"}},
		want:  `{"user":"u-alice"}`,
	}, {
		name:  "SiteAdmin attribute turned off: the role decides",
		cfg:   mapping.Config{SiteAdminAttribute: mapping.Off},
		user:  alice(),
		attrs: mapping.Attributes{"SiteAdmin": {"false"}, "MemberOf": {"site-admins"}},
		want:  `{"user":"u-alice","siteAdmin":{"from":false,"to":true,"reason":"site_admin_role_present"}}`,
	}, {
		name:  "team attribute turned off: the role cannot decide",
		cfg:   mapping.Config{TeamAttribute: mapping.Off},
		user:  admin,
		attrs: mapping.Attributes{"MemberOf": {"dev"}},
		want:  `{"user":"u-alice"}`,
	}, {
		name:  "the role value is not a team, even when a team has its name",
		cfg:   sync,
		user:  alice(),
		attrs: mapping.Attributes{"MemberOf": {"site-admins"}},
		want:  `{"user":"u-alice","siteAdmin":{"from":false,"to":true,"reason":"site_admin_role_present"}}`,
	}, {
		name:  "role turned off: site-admins is an ordinary team value",
		cfg:   mapping.Config{TeamSync: true, SiteAdminRole: mapping.Off},
		user:  alice(),
		attrs: mapping.Attributes{"MemberOf": {"site-admins"}},
		want:  `{"user":"u-alice","add":[{"team":"t-acme-site-admins","org":"acme","name":"site-admins","matchedBy":"name","value":"site-admins"}]}`,
	}, {
		name:  "group overage: the role's absence does not revoke",
		user:  admin,
		attrs: mapping.Attributes{mapping.GroupOverageClaim: {"https://graph.microsoft.com/v1.0/users/x/getMemberObjects"}},
		want:  `{"user":"u-alice","warnings":[{"code":"group_overage","detail":"the assertion carries Azure AD's group overage claim (http://schemas.microsoft.com/claims/groups.link) instead of the full group list, so site admin access was not revoked; have the IdP send only the groups assigned to the application"}]}`,
	}})
}

func TestServiceAccountRule(t *testing.T) {
	t.Parallel()
	svc := alice()
	svc.ServiceAccount = true
	runRules(t, []rule{{
		name:  "true marks a service account",
		user:  alice(),
		attrs: mapping.Attributes{"IsServiceAccount": {"true"}},
		want:  `{"user":"u-alice","serviceAccount":{"from":false,"to":true,"reason":"service_account_attribute"}}`,
	}, {
		name:  "the value is case-insensitive",
		user:  alice(),
		attrs: mapping.Attributes{"IsServiceAccount": {"TRUE"}},
		want:  `{"user":"u-alice","serviceAccount":{"from":false,"to":true,"reason":"service_account_attribute"}}`,
	}, {
		name:  "the name is case-sensitive: isserviceaccount is another attribute",
		user:  alice(),
		attrs: mapping.Attributes{"isserviceaccount": {"true"}},
		want:  `{"user":"u-alice"}`,
	}, {
		name:  "absent clears the flag, so tokens expire again",
		user:  svc,
		attrs: mapping.Attributes{"isServiceAccount": {"true"}},
		want:  `{"user":"u-alice","serviceAccount":{"from":true,"to":false,"reason":"service_account_attribute_absent"}}`,
	}, {
		name:  "1 is not true here",
		user:  svc,
		attrs: mapping.Attributes{"IsServiceAccount": {"1"}},
		want:  `{"user":"u-alice","serviceAccount":{"from":true,"to":false,"reason":"service_account_attribute"}}`,
	}, {
		name:  "false clears",
		user:  svc,
		attrs: mapping.Attributes{"IsServiceAccount": {"false"}},
		want:  `{"user":"u-alice","serviceAccount":{"from":true,"to":false,"reason":"service_account_attribute"}}`,
	}, {
		name:  "present with no values clears",
		user:  svc,
		attrs: mapping.Attributes{"IsServiceAccount": {}},
		want:  `{"user":"u-alice","serviceAccount":{"from":true,"to":false,"reason":"service_account_attribute"}}`,
	}, {
		name:  "still asserted: no change",
		user:  svc,
		attrs: mapping.Attributes{"IsServiceAccount": {"True"}},
		want:  `{"user":"u-alice"}`,
	}, {
		name:  "turned off: never changed",
		cfg:   mapping.Config{ServiceAccountAttribute: mapping.Off},
		user:  svc,
		attrs: mapping.Attributes{},
		want:  `{"user":"u-alice"}`,
	}, {
		name:  "new user marked at creation",
		attrs: mapping.Attributes{"IsServiceAccount": {"true"}, "Username": {"ci-bot"}},
		want:  `{"user":null,"newUser":true,"username":{"from":"","to":"ci-bot","reason":"username_attribute"},"serviceAccount":{"from":false,"to":true,"reason":"service_account_attribute"}}`,
	}})
}
