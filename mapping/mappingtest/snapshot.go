package mappingtest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/siteadmin/integrations/mapping"
)

// Snapshot is the state of a directory as one login sees it, in the JSON
// form that samlcheck -plan reads:
//
//	{"user": {"id": "u1", "username": "alice", "email": "alice@example.com",
//	          "siteAdmin": false, "serviceAccount": false, "teams": ["t1"]},
//	 "teams": [{"id": "t1", "org": "acme", "name": "dev", "ssoTeamId": "",
//	            "owners": false, "members": 3}],
//	 "usernamesTaken": ["bob"]}
//
// "user" is null (or absent) for a new user. IDs may be JSON strings or
// numbers (42 is the ID "42"). "ssoTeamId" is a team's SSO Team ID, and on
// an owners team ("owners": true) its SAML Role ID. "members" counts the
// user too when they are a member. Absent keys mean zero values; unknown
// keys are errors. The keys are camelCase like the Diff's JSON and
// mapping.Team's, since a snapshot is that data; the mapping file's keys
// are kebab-case like the admin settings' instead (see ParseConfig).
type Snapshot struct {
	// User is the signing-in user, nil for a new one.
	User *SnapshotUser `json:"user"`
	// Teams are every team of every organization.
	Teams []mapping.Team `json:"teams"`
	// UsernamesTaken are the usernames other users hold.
	UsernamesTaken []string `json:"usernamesTaken"`
}

// SnapshotUser is the user of a Snapshot: a mapping.User whose teams are
// given by ID.
type SnapshotUser struct {
	ID             string   `json:"id"`             // the host's user ID; required
	Username       string   `json:"username"`       // the current username
	Email          string   `json:"email"`          // the email, which Load finds the user by
	SiteAdmin      bool     `json:"siteAdmin"`      // has site admin access
	ServiceAccount bool     `json:"serviceAccount"` // is a service account
	Teams          []string `json:"teams"`          // IDs of the user's teams, each listed in Snapshot.Teams
}

// ParseSnapshot reads a Snapshot from its JSON, refusing unknown fields by
// name, and checks it (see Snapshot.Input).
func ParseSnapshot(data []byte) (Snapshot, error) {
	var s Snapshot
	if err := json.Unmarshal(data, &s); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) || len(bytes.TrimSpace(data)) == 0 {
			return Snapshot{}, fmt.Errorf("mappingtest: snapshot is not valid JSON: %w", err)
		}
		return Snapshot{}, fmt.Errorf("mappingtest: %w", err)
	}
	if _, err := s.Input("", nil); err != nil {
		return Snapshot{}, err
	}
	return s, nil
}

// UnmarshalJSON reads the JSON form strictly: keys match exactly, unknown
// keys are errors that name the key and where it is.
func (s *Snapshot) UnmarshalJSON(data []byte) error {
	*s = Snapshot{}
	err := decodeObject(data, "snapshot",
		field{"user", func(raw json.RawMessage) error {
			if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
				return nil
			}
			s.User = new(SnapshotUser)
			return s.User.decode(raw)
		}},
		field{"teams", func(raw json.RawMessage) error {
			return decodeArray(raw, func(i int, elem json.RawMessage) error {
				t, err := decodeTeam(elem, fmt.Sprintf("[%d]", i))
				s.Teams = append(s.Teams, t)
				return err
			})
		}},
		field{"usernamesTaken", &s.UsernamesTaken},
	)
	return err
}

func (u *SnapshotUser) decode(data []byte) error {
	return decodeObject(data, "",
		field{"id", func(raw json.RawMessage) error { return decodeID(raw, &u.ID) }},
		field{"username", &u.Username},
		field{"email", &u.Email},
		field{"siteAdmin", &u.SiteAdmin},
		field{"serviceAccount", &u.ServiceAccount},
		field{"teams", func(raw json.RawMessage) error {
			return decodeArray(raw, func(i int, elem json.RawMessage) error {
				var id string
				if err := decodeID(elem, &id); err != nil {
					return fmt.Errorf("[%d]: %w", i, err)
				}
				u.Teams = append(u.Teams, id)
				return nil
			})
		}},
	)
}

func decodeTeam(data []byte, where string) (mapping.Team, error) {
	var t mapping.Team
	err := decodeObject(data, where,
		field{"id", func(raw json.RawMessage) error { return decodeID(raw, &t.ID) }},
		field{"org", &t.Org},
		field{"name", &t.Name},
		field{"ssoTeamId", &t.SSOTeamID},
		field{"owners", &t.Owners},
		field{"members", &t.Members},
	)
	return t, err
}

// Input turns s into the planner's Input for a login with that NameID and
// those attributes. It fails, saying what to fix, when a team has no ID or
// a negative member count, when two teams share an ID, or when the user is
// in a team that is not listed.
func (s Snapshot) Input(nameID string, attrs mapping.Attributes) (mapping.Input, error) {
	byID := make(map[string]mapping.Team, len(s.Teams))
	for i, t := range s.Teams {
		switch _, dup := byID[t.ID]; {
		case t.ID == "":
			return mapping.Input{}, fmt.Errorf("mappingtest: snapshot team %d (%q) has no id", i, t.Name)
		case dup:
			return mapping.Input{}, fmt.Errorf("mappingtest: snapshot teams %q: two teams have this id; ids are unique across organizations", t.ID)
		case t.Members < 0:
			return mapping.Input{}, fmt.Errorf("mappingtest: snapshot team %q has members %d; a count cannot be negative", t.ID, t.Members)
		}
		byID[t.ID] = t
	}
	in := mapping.Input{NameID: nameID, Attributes: attrs, Teams: s.Teams, UsernamesTaken: s.UsernamesTaken}
	if s.User == nil {
		return in, nil
	}
	u := s.User
	in.User = &mapping.User{ID: u.ID, Username: u.Username, Email: u.Email, SiteAdmin: u.SiteAdmin, ServiceAccount: u.ServiceAccount}
	if u.ID == "" {
		return mapping.Input{}, fmt.Errorf(`mappingtest: snapshot user has no id; give the user's id, or write "user": null for a new user`)
	}
	seen := make(map[string]bool, len(u.Teams))
	for _, id := range u.Teams {
		t, ok := byID[id]
		if !ok {
			return mapping.Input{}, fmt.Errorf("mappingtest: snapshot user is in team %q, which is not listed in teams", id)
		}
		if !seen[id] {
			seen[id] = true
			in.User.Teams = append(in.User.Teams, t)
		}
	}
	return in, nil
}

// configKeys are the mapping file's keys, spelled as samlsp.Settings spells
// the same settings (kebab-case), each with the camelCase spelling the
// file first had, which ParseConfig still reads.
func configKeys(c *mapping.Config) []field {
	return []field{
		{"team-sync", &c.TeamSync},
		{"team-attribute", &c.TeamAttribute},
		{"username-attribute", &c.UsernameAttribute},
		{"site-admin-attribute", &c.SiteAdminAttribute},
		{"site-admin-role", &c.SiteAdminRole},
		{"service-account-attribute", &c.ServiceAccountAttribute},
		{"no-comma-split", &c.NoCommaSplit},
		{"allow-last-owner-removal", &c.AllowLastOwnerRemoval},
	}
}

// camelCase returns the older spelling of a kebab-case key:
// "team-sync" -> "teamSync".
func camelCase(kebab string) string {
	parts := strings.Split(kebab, "-")
	for i := 1; i < len(parts); i++ {
		parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
	}
	return strings.Join(parts, "")
}

// ParseConfig reads a mapping.Config from the JSON mapping file, whose
// keys are spelled as in samlsp.Settings (the admin page's JSON):
//
//	{"team-sync": true, "team-attribute": "groups", "username-attribute": "-",
//	 "site-admin-attribute": "SiteAdmin", "site-admin-role": "site-admins",
//	 "service-account-attribute": "IsServiceAccount",
//	 "no-comma-split": false, "allow-last-owner-removal": false}
//
// Every key is optional: absent (or null, or "") means the default, and
// "-" as a name turns that feature off. Empty input is the default Config.
// Keys match exactly; an unknown key is an error that names it. The
// older camelCase keys ("teamSync") are still read, so files written for
// earlier versions keep working; OldSpellings lists them so a tool can
// ask for the new spelling. Giving one setting in both spellings is an
// error. The Config is validated (see mapping.Config.Validate); its
// errors name the kebab-case key.
func ParseConfig(data []byte) (mapping.Config, error) {
	var c mapping.Config
	if len(bytes.TrimSpace(data)) == 0 {
		return c, nil
	}
	keys := configKeys(&c)
	aliases := make(map[string]string, len(keys))
	for _, f := range keys {
		aliases[camelCase(f.name)] = f.name
	}
	var raw map[string]json.RawMessage
	if json.Unmarshal(data, &raw) == nil {
		for old, key := range aliases {
			_, hasOld := raw[old]
			if _, hasNew := raw[key]; hasOld && hasNew {
				return mapping.Config{}, fmt.Errorf("mappingtest: mapping file: %q and %q are the same setting; keep %q", key, old, key)
			}
		}
	}
	if err := decodeObjectAliases(data, "mapping file", aliases, keys...); err != nil {
		return mapping.Config{}, fmt.Errorf("mappingtest: %w", err)
	}
	if err := c.Validate(); err != nil {
		return mapping.Config{}, fmt.Errorf("mappingtest: mapping file: %w", kebabErrors(err))
	}
	return c, nil
}

// kebabErrors renames mapping's field errors to the file's keys.
func kebabErrors(err error) error {
	var list interface{ Unwrap() []error }
	all := []error{err}
	if errors.As(err, &list) {
		all = list.Unwrap()
	}
	out := make([]error, len(all))
	for i, e := range all {
		out[i] = e
		var fe *mapping.FieldError
		if errors.As(e, &fe) {
			renamed := *fe
			for _, f := range configKeys(new(mapping.Config)) {
				old := camelCase(f.name)
				if renamed.Field == old {
					renamed.Field = f.name
				}
				// The problem may name other fields ("is also teamAttribute").
				renamed.Problem = strings.ReplaceAll(renamed.Problem, old, f.name)
			}
			out[i] = &renamed
		}
	}
	return errors.Join(out...)
}

// A Respelling is a key of a mapping file in the older camelCase spelling
// and the kebab-case key that replaces it.
type Respelling struct {
	Old, New string
}

// OldSpellings returns the keys of the mapping file data that use the
// older camelCase spelling ("teamSync" for "team-sync"), sorted; nil when
// there are none or data is not a JSON object. ParseConfig reads them all
// the same.
func OldSpellings(data []byte) []Respelling {
	var raw map[string]json.RawMessage
	if json.Unmarshal(data, &raw) != nil {
		return nil
	}
	var out []Respelling
	for _, f := range configKeys(new(mapping.Config)) {
		if _, ok := raw[camelCase(f.name)]; ok {
			out = append(out, Respelling{Old: camelCase(f.name), New: f.name})
		}
	}
	slices.SortFunc(out, func(a, b Respelling) int { return cmp.Compare(a.Old, b.Old) })
	return out
}

// PlanFiles plans a login from the samlcheck -plan inputs: snapshot is the
// directory snapshot JSON (see Snapshot) and config the mapping-file JSON
// (see ParseConfig; nil or empty means the defaults). nameID is the
// assertion's NameID (a new user's email). It returns the Diff, which
// marshals to the JSON samlcheck prints.
func PlanFiles(ctx context.Context, snapshot, config []byte, nameID string, attrs map[string][]string) (mapping.Diff, error) {
	if err := ctx.Err(); err != nil {
		return mapping.Diff{}, err
	}
	snap, err := ParseSnapshot(snapshot)
	if err != nil {
		return mapping.Diff{}, err
	}
	cfg, err := ParseConfig(config)
	if err != nil {
		return mapping.Diff{}, err
	}
	in, err := snap.Input(nameID, attrs)
	if err != nil {
		return mapping.Diff{}, err
	}
	return cfg.Plan(in)
}

// Load returns a new Store holding s: its teams, its user (found by the
// user's email), and its taken usernames reserved.
func (s Snapshot) Load() (*Store, error) {
	in, err := s.Input("", nil)
	if err != nil {
		return nil, err
	}
	store := NewStore()
	mine := map[string]bool{}
	if in.User != nil {
		for _, t := range in.User.Teams {
			mine[t.ID] = true
		}
	}
	for _, t := range s.Teams {
		if mine[t.ID] {
			t.Members = max(t.Members-1, 0) // AddUser counts the user
		}
		if err := store.AddTeam(t); err != nil {
			return nil, err
		}
	}
	for _, u := range s.UsernamesTaken {
		if in.User == nil || u != in.User.Username {
			store.ReserveUsername(u)
		}
	}
	if in.User != nil {
		if _, err := store.AddUser(*in.User); err != nil {
			return nil, err
		}
	}
	return store, nil
}

// Snapshot returns the store's state as the login of nameID sees it: that
// user (nil when none has that email), every team, and every other user's
// username and the reserved ones, all sorted.
func (s *Store) Snapshot(nameID string) Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := Snapshot{Teams: s.st.sortedTeams()}
	self := ""
	if u := s.st.userByEmail(nameID); u != nil {
		full := s.st.withTeams(*u)
		self = u.ID
		snap.User = &SnapshotUser{ID: u.ID, Username: u.Username, Email: u.Email, SiteAdmin: u.SiteAdmin, ServiceAccount: u.ServiceAccount}
		for _, t := range full.Teams {
			snap.User.Teams = append(snap.User.Teams, t.ID)
		}
	}
	for _, u := range s.st.users {
		if u.ID != self {
			snap.UsernamesTaken = append(snap.UsernamesTaken, u.Username)
		}
	}
	for u := range s.st.reserved {
		snap.UsernamesTaken = append(snap.UsernamesTaken, u)
	}
	slices.SortFunc(snap.UsernamesTaken, cmp.Compare[string])
	snap.UsernamesTaken = slices.Compact(snap.UsernamesTaken)
	return snap
}
