package mapping_test

import (
	"testing"

	"github.com/siteadmin/integrations/mapping"
)

func TestMemberOfRule(t *testing.T) {
	t.Parallel()
	runRules(t, []rule{{
		name:  "separate AttributeValues",
		cfg:   sync,
		user:  alice(),
		attrs: mapping.Attributes{"MemberOf": {"ops", "nope"}},
		want: `{"user":"u-alice",
			"add":[{"team":"t-acme-ops","org":"acme","name":"ops","matchedBy":"name","value":"ops"}],
			"ignored":[{"attribute":"MemberOf","value":"nope","reason":"unknown_team"}]}`,
	}, {
		name:  "list,of,roles in one value, split and trimmed",
		cfg:   sync,
		user:  alice(),
		attrs: mapping.Attributes{"MemberOf": {" ops , list,of,,roles, "}},
		want: `{"user":"u-alice",
			"add":[{"team":"t-acme-ops","org":"acme","name":"ops","matchedBy":"name","value":"ops"}],
			"ignored":[
				{"attribute":"MemberOf","value":"list","reason":"unknown_team"},
				{"attribute":"MemberOf","value":"of","reason":"unknown_team"},
				{"attribute":"MemberOf","value":"roles","reason":"unknown_team"}]}`,
	}, {
		name:  "comma splitting off: the whole value is one name",
		cfg:   mapping.Config{TeamSync: true, NoCommaSplit: true},
		user:  alice(),
		attrs: mapping.Attributes{"MemberOf": {"ops,dev", " ops"}},
		want: `{"user":"u-alice","ignored":[
				{"attribute":"MemberOf","value":" ops","reason":"unknown_team"},
				{"attribute":"MemberOf","value":"ops,dev","reason":"unknown_team"}]}`,
	}, {
		name:  "same team name in two organizations: both joined",
		cfg:   sync,
		user:  alice(),
		attrs: mapping.Attributes{"MemberOf": {"dev"}},
		want: `{"user":"u-alice","add":[
				{"team":"t-acme-dev","org":"acme","name":"dev","matchedBy":"name","value":"dev"},
				{"team":"t-beta-dev","org":"beta","name":"dev","matchedBy":"name","value":"dev"}]}`,
	}, {
		name:  "SSO Team ID matches",
		cfg:   sync,
		user:  alice(),
		attrs: mapping.Attributes{"MemberOf": {"grp-ops"}},
		want:  `{"user":"u-alice","add":[{"team":"t-acme-ops","org":"acme","name":"ops","matchedBy":"sso_team_id","value":"grp-ops"}]}`,
	}, {
		name:  "name and SSO Team ID both asserted: one add, by name",
		cfg:   sync,
		user:  alice(),
		attrs: mapping.Attributes{"MemberOf": {"grp-ops", "ops"}},
		want:  `{"user":"u-alice","add":[{"team":"t-acme-ops","org":"acme","name":"ops","matchedBy":"name","value":"ops"}]}`,
	}, {
		name:  "matching is case-sensitive",
		cfg:   sync,
		user:  alice(acmeDev),
		attrs: mapping.Attributes{"MemberOf": {"DEV", "Grp-Ops"}},
		want: `{"user":"u-alice",
			"remove":[{"team":"t-acme-dev","org":"acme","name":"dev","reason":"not_asserted"}],
			"ignored":[
				{"attribute":"MemberOf","value":"DEV","reason":"unknown_team"},
				{"attribute":"MemberOf","value":"Grp-Ops","reason":"unknown_team"}]}`,
	}, {
		name:  "unknown teams are reported, never created",
		cfg:   sync,
		user:  alice(),
		attrs: mapping.Attributes{"MemberOf": {"qa", "qa", "platform"}},
		want: `{"user":"u-alice","ignored":[
				{"attribute":"MemberOf","value":"platform","reason":"unknown_team"},
				{"attribute":"MemberOf","value":"qa","reason":"unknown_team"}]}`,
	}, {
		name:  "teams not asserted are left",
		cfg:   sync,
		user:  alice(acmeDev, betaDev, acmeOps),
		attrs: mapping.Attributes{"MemberOf": {"grp-ops"}},
		want: `{"user":"u-alice","remove":[
				{"team":"t-acme-dev","org":"acme","name":"dev","reason":"not_asserted"},
				{"team":"t-beta-dev","org":"beta","name":"dev","reason":"not_asserted"}]}`,
	}, {
		name:  "already a member: nothing to do",
		cfg:   sync,
		user:  alice(acmeDev, betaDev),
		attrs: mapping.Attributes{"MemberOf": {"dev"}},
		want:  `{"user":"u-alice"}`,
	}, {
		name:  "team sync off: memberships never touched, values not reported",
		user:  alice(acmeDev),
		attrs: mapping.Attributes{"MemberOf": {"ops", "qa"}},
		want:  `{"user":"u-alice"}`,
	}, {
		name:  "renamed team attribute",
		cfg:   mapping.Config{TeamSync: true, TeamAttribute: "groups"},
		user:  alice(acmeDev, betaDev),
		attrs: mapping.Attributes{"groups": {"dev"}, "MemberOf": {"ops"}},
		want:  `{"user":"u-alice"}`,
	}, {
		name:  "team attribute turned off: no sync even when on",
		cfg:   mapping.Config{TeamSync: true, TeamAttribute: mapping.Off},
		user:  alice(acmeDev),
		attrs: mapping.Attributes{"MemberOf": {}},
		want:  `{"user":"u-alice"}`,
	}, {
		name:  "absent: memberships unchanged, with a warning",
		cfg:   mapping.Config{TeamSync: true, SiteAdminRole: mapping.Off},
		user:  alice(acmeDev),
		attrs: mapping.Attributes{"memberOf": {"ops"}},
		want: `{"user":"u-alice","warnings":[{"code":"team_attribute_absent",
			"detail":"the assertion has no \"MemberOf\" attribute, so team memberships were left unchanged; have the IdP send it (with no values to remove every membership)"}]}`,
	}, {
		name:  "present with no values: every managed team is left",
		cfg:   sync,
		user:  alice(acmeDev, betaDev, acmeOwners),
		attrs: mapping.Attributes{"MemberOf": {}},
		want: `{"user":"u-alice","remove":[
				{"team":"t-acme-dev","org":"acme","name":"dev","reason":"not_asserted"},
				{"team":"t-beta-dev","org":"beta","name":"dev","reason":"not_asserted"}]}`,
	}, {
		name:  "present with only empty values is present with no values",
		cfg:   sync,
		user:  alice(acmeDev),
		attrs: mapping.Attributes{"MemberOf": {"", " , "}},
		want:  `{"user":"u-alice","remove":[{"team":"t-acme-dev","org":"acme","name":"dev","reason":"not_asserted"}]}`,
	}, {
		name: "group overage instead of groups: nothing removed",
		cfg:  mapping.Config{TeamSync: true, SiteAdminRole: mapping.Off},
		user: alice(acmeDev),
		attrs: mapping.Attributes{
			"http://schemas.microsoft.com/claims/groups.link": {"https://graph.windows.net/tenant/users/oid/getMemberObjects"},
		},
		want: `{"user":"u-alice","warnings":[{"code":"group_overage",
			"detail":"the assertion carries Azure AD's group overage claim (http://schemas.microsoft.com/claims/groups.link) instead of the full group list, so no team membership was removed; have the IdP send only the groups assigned to the application"}]}`,
	}, {
		name: "group overage with some groups: added, nothing removed",
		cfg:  sync,
		user: alice(acmeDev),
		attrs: mapping.Attributes{
			"MemberOf":                {},
			mapping.GroupOverageClaim: {"https://graph.windows.net/tenant/users/oid/getMemberObjects"},
		},
		want: `{"user":"u-alice","warnings":[{"code":"group_overage",
			"detail":"the assertion carries Azure AD's group overage claim (http://schemas.microsoft.com/claims/groups.link) instead of the full group list, so no team membership was removed and site admin access was not revoked; have the IdP send only the groups assigned to the application"}]}`,
	}, {
		name:  "LDAP DN split at its commas: a warning",
		cfg:   sync,
		user:  alice(),
		attrs: mapping.Attributes{"MemberOf": {"CN=dev,OU=Groups,DC=example,DC=com"}},
		want: `{"user":"u-alice",
			"ignored":[
				{"attribute":"MemberOf","value":"CN=dev","reason":"unknown_team"},
				{"attribute":"MemberOf","value":"DC=com","reason":"unknown_team"},
				{"attribute":"MemberOf","value":"DC=example","reason":"unknown_team"},
				{"attribute":"MemberOf","value":"OU=Groups","reason":"unknown_team"}],
			"warnings":[{"code":"dn_like_value",
				"detail":"MemberOf value \"CN=dev,OU=Groups,DC=example,DC=com\" looks like an LDAP distinguished name and was split at its commas; have the IdP send group names, or set noCommaSplit to match the whole DN"}]}`,
	}, {
		name:  "LDAP DN with comma splitting off matches an SSO Team ID whole",
		cfg:   mapping.Config{TeamSync: true, NoCommaSplit: true},
		user:  alice(),
		teams: []mapping.Team{{ID: "t-x", Org: "acme", Name: "x", SSOTeamID: "CN=x,OU=Groups"}},
		attrs: mapping.Attributes{"MemberOf": {"CN=x,OU=Groups"}},
		want:  `{"user":"u-alice","add":[{"team":"t-x","org":"acme","name":"x","matchedBy":"sso_team_id","value":"CN=x,OU=Groups"}]}`,
	}, {
		name:  "new user: joins teams on an empty record",
		cfg:   sync,
		attrs: mapping.Attributes{"MemberOf": {"dev,site-admins"}, "Username": {"jane"}},
		want: `{"user":null,"newUser":true,
			"username":{"from":"","to":"jane","reason":"username_attribute"},
			"siteAdmin":{"from":false,"to":true,"reason":"site_admin_role_present"},
			"add":[
				{"team":"t-acme-dev","org":"acme","name":"dev","matchedBy":"name","value":"dev"},
				{"team":"t-beta-dev","org":"beta","name":"dev","matchedBy":"name","value":"dev"}]}`,
	}})
}

func TestOwnersRule(t *testing.T) {
	t.Parallel()
	runRules(t, []rule{{
		name:  "owners team without Role ID: never joined, a value naming it is reported",
		cfg:   sync,
		user:  alice(),
		attrs: mapping.Attributes{"MemberOf": {"owners"}},
		want:  `{"user":"u-alice","ignored":[{"attribute":"MemberOf","value":"owners","reason":"owners_unmanaged"}]}`,
	}, {
		name:  "owners team without Role ID: never left",
		cfg:   sync,
		user:  alice(withMembers(acmeOwners, 5)),
		attrs: mapping.Attributes{"MemberOf": {}},
		want:  `{"user":"u-alice"}`,
	}, {
		name:  "owners team with Role ID: joined by the Role ID",
		cfg:   sync,
		user:  alice(),
		attrs: mapping.Attributes{"MemberOf": {"beta-admins"}},
		want:  `{"user":"u-alice","add":[{"team":"t-beta-owners","org":"beta","name":"owners","matchedBy":"owners_role_id","value":"beta-admins"}]}`,
	}, {
		name:  "owners team with Role ID: its name does not match",
		cfg:   sync,
		user:  alice(),
		teams: []mapping.Team{betaOwners},
		attrs: mapping.Attributes{"MemberOf": {"owners"}},
		want:  `{"user":"u-alice","ignored":[{"attribute":"MemberOf","value":"owners","reason":"owners_unmanaged"}]}`,
	}, {
		name:  "owners team with Role ID: left when not asserted and others remain",
		cfg:   sync,
		user:  alice(withMembers(betaOwners, 2)),
		attrs: mapping.Attributes{"MemberOf": {"dev"}},
		want: `{"user":"u-alice",
			"add":[
				{"team":"t-acme-dev","org":"acme","name":"dev","matchedBy":"name","value":"dev"},
				{"team":"t-beta-dev","org":"beta","name":"dev","matchedBy":"name","value":"dev"}],
			"remove":[{"team":"t-beta-owners","org":"beta","name":"owners","reason":"not_asserted"}]}`,
	}, {
		name:  "last owner: removal blocked and reported",
		cfg:   sync,
		user:  alice(betaOwners, betaDev),
		attrs: mapping.Attributes{"MemberOf": {}},
		want: `{"user":"u-alice",
			"remove":[{"team":"t-beta-dev","org":"beta","name":"dev","reason":"not_asserted"}],
			"blocked":[{"team":"t-beta-owners","org":"beta","name":"owners","reason":"last_owner"}]}`,
	}, {
		name:  "last owner: guard turned off",
		cfg:   mapping.Config{TeamSync: true, AllowLastOwnerRemoval: true},
		user:  alice(betaOwners),
		attrs: mapping.Attributes{"MemberOf": {}},
		want:  `{"user":"u-alice","remove":[{"team":"t-beta-owners","org":"beta","name":"owners","reason":"not_asserted"}]}`,
	}, {
		name:  "last owner still asserted: nothing to do",
		cfg:   sync,
		user:  alice(betaOwners),
		attrs: mapping.Attributes{"MemberOf": {"beta-admins"}},
		want:  `{"user":"u-alice"}`,
	}, {
		name:  "a member count of zero is treated as the last owner",
		cfg:   sync,
		user:  alice(withMembers(betaOwners, 0)),
		attrs: mapping.Attributes{"MemberOf": {"dev"}},
		want: `{"user":"u-alice",
			"add":[
				{"team":"t-acme-dev","org":"acme","name":"dev","matchedBy":"name","value":"dev"},
				{"team":"t-beta-dev","org":"beta","name":"dev","matchedBy":"name","value":"dev"}],
			"blocked":[{"team":"t-beta-owners","org":"beta","name":"owners","reason":"last_owner"}]}`,
	}, {
		name:  "the last-owner guard is for owners teams only",
		cfg:   sync,
		user:  alice(betaDev),
		attrs: mapping.Attributes{"MemberOf": {}},
		want:  `{"user":"u-alice","remove":[{"team":"t-beta-dev","org":"beta","name":"dev","reason":"not_asserted"}]}`,
	}})
}
