package mapping_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/siteadmin/integrations/mapping"
)

// TestOnlyXMLWhitespaceIsTrimmed pins issue 13: a value the IdP signed
// loses only XML whitespace at its ends (space, tab, CR and LF, the S of
// XML 1.0 section 2.3). Any other space is part of the value, so an IdP
// user "admin@example.com" followed by U+00A0 never becomes, collides
// with or is refused as "admin@example.com", and a padded team name or
// flag matches nothing.
func TestOnlyXMLWhitespaceIsTrimmed(t *testing.T) {
	t.Parallel()
	q := func(s string) string {
		b, err := json.Marshal(s)
		if err != nil {
			panic(err)
		}
		return string(b)
	}
	anyUsername := mapping.Config{ValidUsername: func(u string) bool { return u != "" }}
	var rules []rule
	for _, c := range []string{"\u00a0", "\u3000", "\u2028", "\u0085", "\u2003", "\u1680"} {
		kept := fmt.Sprintf("U+%04X is kept: ", []rune(c)[0])
		rules = append(rules, rule{
			name:  kept + "the username stays distinct from a taken one",
			cfg:   anyUsername,
			user:  alice(),
			attrs: mapping.Attributes{"Username": {"admin@example.com" + c}},
			taken: []string{"admin@example.com"},
			want:  `{"user":"u-alice","username":{"from":"alice","to":` + q("admin@example.com"+c) + `,"reason":"username_attribute"}}`,
		}, rule{
			name:  kept + "a new user's username stays distinct",
			cfg:   anyUsername,
			attrs: mapping.Attributes{"Username": {c + "admin@example.com"}},
			want:  `{"user":null,"newUser":true,"username":{"from":"","to":` + q(c+"admin@example.com") + `,"reason":"username_attribute"}}`,
		}, rule{
			name:  kept + "the default rule refuses the username rather than trim it",
			user:  alice(),
			attrs: mapping.Attributes{"Username": {"bob" + c}},
			want:  `{"user":"u-alice","ignored":[{"attribute":"Username","value":` + q("bob"+c) + `,"reason":"username_invalid"}]}`,
		}, rule{
			name:  kept + "team values match no team",
			cfg:   sync,
			user:  alice(),
			attrs: mapping.Attributes{"MemberOf": {c + "ops", "qa,grp-ops" + c}},
			want: `{"user":"u-alice","ignored":[
				{"attribute":"MemberOf","value":` + q("grp-ops"+c) + `,"reason":"unknown_team"},
				{"attribute":"MemberOf","value":"qa","reason":"unknown_team"},
				{"attribute":"MemberOf","value":` + q(c+"ops") + `,"reason":"unknown_team"}]}`,
		}, rule{
			name:  kept + "the site-admin role is not granted",
			user:  alice(),
			attrs: mapping.Attributes{"MemberOf": {"site-admins" + c}},
			want:  `{"user":"u-alice"}`,
		}, rule{
			name:  kept + "SiteAdmin is not a boolean",
			user:  alice(),
			attrs: mapping.Attributes{"SiteAdmin": {"true" + c}},
			want:  `{"user":"u-alice","ignored":[{"attribute":"SiteAdmin","value":` + q("true"+c) + `,"reason":"invalid_boolean"}]}`,
		}, rule{
			name:  kept + "IsServiceAccount is not true",
			user:  alice(),
			attrs: mapping.Attributes{"IsServiceAccount": {c + "true"}},
			want:  `{"user":"u-alice"}`,
		})
	}
	for _, c := range []string{" ", "\t", "\r", "\n", " \t\r\n"} {
		trimmed := fmt.Sprintf("%q is trimmed: ", c)
		rules = append(rules, rule{
			name:  trimmed + "username",
			user:  alice(),
			attrs: mapping.Attributes{"Username": {c + "bob" + c}},
			want:  `{"user":"u-alice","username":{"from":"alice","to":"bob","reason":"username_attribute"}}`,
		}, rule{
			name:  trimmed + "team values",
			cfg:   sync,
			user:  alice(),
			attrs: mapping.Attributes{"MemberOf": {c + "ops" + c, "qa," + c + "grp-ops" + c}},
			want: `{"user":"u-alice",
				"add":[{"team":"t-acme-ops","org":"acme","name":"ops","matchedBy":"name","value":"ops"}],
				"ignored":[{"attribute":"MemberOf","value":"qa","reason":"unknown_team"}]}`,
		}, rule{
			name:  trimmed + "the site-admin role",
			user:  alice(),
			attrs: mapping.Attributes{"MemberOf": {c + "site-admins" + c}},
			want:  `{"user":"u-alice","siteAdmin":{"from":false,"to":true,"reason":"site_admin_role_present"}}`,
		}, rule{
			name:  trimmed + "SiteAdmin",
			user:  alice(),
			attrs: mapping.Attributes{"SiteAdmin": {c + "true" + c}},
			want:  `{"user":"u-alice","siteAdmin":{"from":false,"to":true,"reason":"site_admin_attribute"}}`,
		}, rule{
			name:  trimmed + "IsServiceAccount",
			user:  alice(),
			attrs: mapping.Attributes{"IsServiceAccount": {c + "true" + c}},
			want:  `{"user":"u-alice","serviceAccount":{"from":false,"to":true,"reason":"service_account_attribute"}}`,
		})
	}
	runRules(t, rules)
}
