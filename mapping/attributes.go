package mapping

import (
	"slices"
	"strings"
)

// Attributes are the assertion's attributes: each name with its values in
// the order the IdP sent them. A name that is present with no values is
// different from an absent name (see Plan). The saml package's attributes
// convert directly: mapping.Attributes(assertion.Attributes). OIDC claims
// and LDAP groups fit the same shape.
type Attributes map[string][]string

// teamValues is what the team attribute asserts, after splitting.
type teamValues struct {
	present bool     // the team attribute is in the assertion
	overage bool     // Azure AD's group overage claim is in the assertion
	values  []string // distinct values, sorted, without "" and the role
	role    bool     // the site-admin role is among the values
	dnLike  []string // raw values that look like LDAP DNs split at commas
}

// teamValues reads the team attribute. It returns the zero value when the
// attribute is turned off.
func (c Config) teamValues(attrs Attributes) teamValues {
	attr := c.teamAttribute()
	if attr == "" {
		return teamValues{}
	}
	raw, present := attrs[attr]
	_, overage := attrs[GroupOverageClaim]
	tv := teamValues{present: present, overage: overage}
	role := c.siteAdminRole()
	pieces := make([]string, 0, len(raw))
	use := func(v string) {
		if v == role {
			tv.role = true
		} else if v != "" {
			pieces = append(pieces, v)
		}
	}
	for _, r := range raw {
		if c.NoCommaSplit || !strings.Contains(r, ",") {
			if c.NoCommaSplit {
				use(r)
			} else {
				use(trimXMLSpace(r))
			}
			continue
		}
		dn := false
		for part := range strings.SplitSeq(r, ",") {
			if looksLikeRDN(part) {
				dn = true
			}
			use(trimXMLSpace(part))
		}
		if dn {
			tv.dnLike = append(tv.dnLike, r)
		}
	}
	slices.Sort(pieces)
	tv.values = slices.Compact(pieces)
	return tv
}

// looksLikeRDN reports whether s starts like one component of an LDAP
// distinguished name, such as "CN=Developers" or " OU=Groups".
func looksLikeRDN(s string) bool {
	key, _, ok := strings.Cut(trimXMLSpace(s), "=")
	if !ok {
		return false
	}
	switch strings.ToUpper(trimXMLSpace(key)) {
	case "CN", "OU", "DC", "O", "L", "ST", "C", "UID", "STREET":
		return true
	}
	return false
}

// parseBool reads a SiteAdmin value: "true" or "1" is true, "false" or "0"
// is false, case-insensitive and trimmed (see trimXMLSpace); ok is false
// for anything else.
func parseBool(v string) (value, ok bool) {
	switch strings.ToLower(trimXMLSpace(v)) {
	case "true", "1":
		return true, true
	case "false", "0":
		return false, true
	}
	return false, false
}

// trimXMLSpace trims XML whitespace from both ends of s: space, tab, CR and
// LF (S in XML 1.0, section 2.3), which an IdP may wrap around a value, and
// nothing else. strings.TrimSpace would also trim Unicode spaces such as
// U+00A0 or U+3000, and a signed username "admin@example.com" followed by
// U+00A0 would become the user "admin@example.com" (issue 13).
func trimXMLSpace(s string) string {
	return strings.Trim(s, " \t\r\n")
}
