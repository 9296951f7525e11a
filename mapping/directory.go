package mapping

import "context"

// User is the host's record of one user, as the planner needs it.
type User struct {
	// ID is the host's stable identifier for the user.
	ID string
	// Username is the user's current username.
	Username string
	// Email is the user's email address.
	Email string
	// SiteAdmin reports whether the user has site admin access.
	SiteAdmin bool
	// ServiceAccount reports whether the user is a service account (its
	// tokens are exempt from expiry).
	ServiceAccount bool
	// Teams are the teams the user is a member of, in any organization,
	// with their current member counts.
	Teams []Team
}

// Team is one team of one organization.
type Team struct {
	// ID is the host's stable identifier for the team, unique across
	// organizations.
	ID string `json:"id"`
	// Org names the organization the team belongs to.
	Org string `json:"org"`
	// Name is the team's name, unique within its organization. Team
	// attribute values match it exactly (case-sensitive).
	Name string `json:"name"`
	// SSOTeamID is the team's SSO Team ID, often the IdP's group ID; team
	// attribute values match it exactly. On an owners team it is the SAML
	// Role ID: only when it is set is the owners team managed by sync,
	// and then only this value matches it. Empty means none.
	SSOTeamID string `json:"ssoTeamId,omitempty"`
	// Owners marks the organization's owners team.
	Owners bool `json:"owners,omitempty"`
	// Members is the number of members of the team, the user included when
	// they are a member. The last-owner guard reads it.
	Members int `json:"members"`
}

// Login is one sign-in for Preview and Sync: who signed in and what the
// IdP asserted.
type Login struct {
	// NameID identifies the user, as the assertion's NameID. The host's
	// Directory finds the user by it (usually as the email address), and
	// a new user's default username is derived from it.
	NameID string
	// Attributes are the assertion's attributes.
	Attributes Attributes
}

// Directory is the read side of the host's storage. Preview reads through
// it, and Sync through the Tx its Store hands out.
//
// A correct implementation answers from one consistent view of the data
// (inside a Tx, the transaction's), compares strings exactly, and returns
// an error, never a partial answer, when it cannot read.
type Directory interface {
	// FindUser returns the user that nameID identifies, with all of their
	// teams, or (nil, nil) when there is none yet.
	FindUser(ctx context.Context, nameID string) (*User, error)
	// FindTeams returns every team, in every organization, whose Name or
	// SSOTeamID equals one of values exactly. Order does not matter; extra
	// teams are harmless.
	FindTeams(ctx context.Context, values []string) ([]Team, error)
	// UsernameFree reports whether no user holds username.
	UsernameFree(ctx context.Context, username string) (bool, error)
}

// Store is the write side of the host's storage: it runs Sync inside one of
// the host's transactions.
type Store interface {
	// Transact runs fn inside one transaction and commits it when fn
	// returns nil. When fn or the commit fails, nothing fn wrote may
	// remain, and Transact returns the error. Transactions that Transact
	// runs at the same time must be isolated from each other (serializable,
	// or with the user's and the teams' rows locked when read); otherwise
	// two logins at once could both pass the last-owner guard.
	Transact(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error
}

// Tx is one transaction of the host's storage: it reads as a Directory and
// applies a Diff.
type Tx interface {
	Directory
	// Apply writes d for the user that nameID identifies: it creates the
	// user when d.NewUser (with Email and NameID from nameID, the username
	// d.Username.To, and the flags and teams of d), or updates the user
	// d.User. It sets every field in d.Username, d.SiteAdmin and
	// d.ServiceAccount to its To value, adds the memberships in d.Add,
	// removes those in d.Remove, updates the teams' member counts, and
	// writes nothing for Ignored, Blocked and Warnings. It should refuse
	// (with an error) a Diff that no longer fits the stored data.
	Apply(ctx context.Context, nameID string, d Diff) error
}
