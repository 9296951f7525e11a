package mappingtest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

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
// numbers (42 is the ID "42"). "members" counts the user too when they are
// a member. Absent keys mean zero values; unknown keys are errors.
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

// ParseConfig reads a mapping.Config from the JSON mapping file:
//
//	{"teamSync": true, "teamAttribute": "groups", "usernameAttribute": "-",
//	 "siteAdminAttribute": "SiteAdmin", "siteAdminRole": "site-admins",
//	 "serviceAccountAttribute": "IsServiceAccount",
//	 "noCommaSplit": false, "allowLastOwnerRemoval": false}
//
// Every key is optional: absent (or null, or "") means the default, and
// "-" as a name turns that feature off. Empty input is the default Config.
// Keys match exactly; an unknown key is an error that names it. The Config
// is validated (see mapping.Config.Validate).
func ParseConfig(data []byte) (mapping.Config, error) {
	var c mapping.Config
	if len(bytes.TrimSpace(data)) == 0 {
		return c, nil
	}
	err := decodeObject(data, "mapping file",
		field{"teamSync", &c.TeamSync},
		field{"teamAttribute", &c.TeamAttribute},
		field{"usernameAttribute", &c.UsernameAttribute},
		field{"siteAdminAttribute", &c.SiteAdminAttribute},
		field{"siteAdminRole", &c.SiteAdminRole},
		field{"serviceAccountAttribute", &c.ServiceAccountAttribute},
		field{"noCommaSplit", &c.NoCommaSplit},
		field{"allowLastOwnerRemoval", &c.AllowLastOwnerRemoval},
	)
	if err != nil {
		return mapping.Config{}, fmt.Errorf("mappingtest: %w", err)
	}
	if err := c.Validate(); err != nil {
		return mapping.Config{}, fmt.Errorf("mappingtest: mapping file: %w", err)
	}
	return c, nil
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
