package mapping

import (
	"errors"
	"fmt"
	"strings"
)

// Off, as the value of an attribute name or of SiteAdminRole, turns that
// feature off: the attribute is never read and what it controls is never
// changed.
const Off = "-"

// The default attribute names and site-admin role, used when the Config
// field is empty.
const (
	DefaultTeamAttribute           = "MemberOf"
	DefaultUsernameAttribute       = "Username"
	DefaultSiteAdminAttribute      = "SiteAdmin"
	DefaultSiteAdminRole           = "site-admins"
	DefaultServiceAccountAttribute = "IsServiceAccount"
)

// GroupOverageClaim is the attribute Azure AD (Entra ID) sends instead of
// the groups when a user is in too many of them. Its presence means the
// groups in the assertion are incomplete, so the planner removes nothing.
const GroupOverageClaim = "http://schemas.microsoft.com/claims/groups.link"

// Config is the admin's mapping settings. The zero value is usable: every
// empty field means its documented default, and team sync is off. The JSON
// form is the samlcheck mapping file and is suitable for the host's
// settings storage.
//
// Attribute names are matched exactly (case-sensitive), as SAML compares
// them.
type Config struct {
	// TeamSync turns on team membership sync ("Use SAML to manage team
	// memberships"): users are added to the teams the team attribute names
	// and removed from the teams it does not. Default false: memberships
	// are never touched.
	TeamSync bool `json:"teamSync,omitempty"`

	// TeamAttribute names the attribute that lists the user's teams and
	// roles. Default "MemberOf"; Off stops reading it (no team sync, no
	// site-admin role).
	TeamAttribute string `json:"teamAttribute,omitempty"`

	// UsernameAttribute names the attribute that sets the username.
	// Default "Username"; Off keeps usernames as they are.
	UsernameAttribute string `json:"usernameAttribute,omitempty"`

	// SiteAdminAttribute names the attribute that grants ("true" or "1")
	// or revokes site admin access; when present it overrides the
	// site-admin role. Default "SiteAdmin"; Off ignores it.
	SiteAdminAttribute string `json:"siteAdminAttribute,omitempty"`

	// SiteAdminRole is the team-attribute value that grants site admin
	// access (and whose absence revokes it) when the SiteAdmin attribute is
	// absent from the assertion; it works with TeamSync on or off. It is
	// never treated as a team. Default "site-admins"; Off disables the
	// role.
	SiteAdminRole string `json:"siteAdminRole,omitempty"`

	// ServiceAccountAttribute names the attribute whose value "true" marks
	// the user a service account; absent or any other value clears the
	// flag. Default "IsServiceAccount"; Off never changes the flag.
	ServiceAccountAttribute string `json:"serviceAccountAttribute,omitempty"`

	// NoCommaSplit turns off splitting team-attribute values at commas.
	// Default false: "a, b" is the two values "a" and "b", each trimmed of
	// spaces, tabs, CRs and LFs (but not of other Unicode spaces). With
	// splitting off every value is used exactly as sent.
	NoCommaSplit bool `json:"noCommaSplit,omitempty"`

	// AllowLastOwnerRemoval lets sync remove the last member of an
	// organization's owners team. Default false: such a removal is
	// blocked and reported, so an organization never loses its owners.
	AllowLastOwnerRemoval bool `json:"allowLastOwnerRemoval,omitempty"`

	// ValidUsername reports whether a username asserted by the IdP is
	// acceptable. It must be a pure function and must accept every name
	// that DefaultValidUsername accepts and that is made only of letters
	// and digits (email-derived defaults are built that way). Default
	// DefaultValidUsername.
	ValidUsername func(username string) bool `json:"-"`
}

// FieldError is one problem with one Config field. Field is the field's
// JSON name, as in the mapping file.
type FieldError struct {
	Field   string
	Problem string
}

// Error says which field is wrong and how to fix it.
func (e *FieldError) Error() string {
	return "mapping: config " + e.Field + ": " + e.Problem
}

// name returns the effective value of an attribute-name field: def when
// empty, "" when turned off.
func name(v, def string) string {
	switch v {
	case "":
		return def
	case Off:
		return ""
	}
	return v
}

func (c Config) teamAttribute() string { return name(c.TeamAttribute, DefaultTeamAttribute) }
func (c Config) usernameAttribute() string {
	return name(c.UsernameAttribute, DefaultUsernameAttribute)
}
func (c Config) siteAdminAttribute() string {
	return name(c.SiteAdminAttribute, DefaultSiteAdminAttribute)
}
func (c Config) siteAdminRole() string { return name(c.SiteAdminRole, DefaultSiteAdminRole) }
func (c Config) serviceAccountAttribute() string {
	return name(c.ServiceAccountAttribute, DefaultServiceAccountAttribute)
}

func (c Config) validUsername(u string) bool {
	if c.ValidUsername != nil {
		return c.ValidUsername(u)
	}
	return DefaultValidUsername(u)
}

// Validate reports every problem with the configuration at once, as an
// errors.Join of *FieldError, or nil. Plan, Preview and Sync call it.
func (c Config) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
	}
	fields := []struct{ field, value, effective string }{
		{"teamAttribute", c.TeamAttribute, c.teamAttribute()},
		{"usernameAttribute", c.UsernameAttribute, c.usernameAttribute()},
		{"siteAdminAttribute", c.SiteAdminAttribute, c.siteAdminAttribute()},
		{"serviceAccountAttribute", c.ServiceAccountAttribute, c.serviceAccountAttribute()},
		{"siteAdminRole", c.SiteAdminRole, c.siteAdminRole()},
	}
	usedBy := map[string]string{}
	for _, f := range fields {
		if f.value != strings.TrimSpace(f.value) {
			add(f.field, "%q has leading or trailing spaces; remove them (or set %q to turn the feature off)", f.value, Off)
			continue
		}
		if f.effective == "" || f.field == "siteAdminRole" {
			continue
		}
		if other, ok := usedBy[f.effective]; ok {
			add(f.field, "%q is also %s; give each feature its own attribute or turn one off with %q", f.effective, other, Off)
			continue
		}
		usedBy[f.effective] = f.field
	}
	if role := c.siteAdminRole(); !c.NoCommaSplit && strings.Contains(role, ",") {
		add("siteAdminRole", "%q contains a comma, but team values are split at commas so it could never match; rename the role or set noCommaSplit", role)
	}
	return errors.Join(errs...)
}
