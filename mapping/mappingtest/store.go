package mappingtest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/siteadmin/integrations/mapping"
)

// Store is an in-memory mapping.Store and mapping.Directory: users, teams
// with member counts, and usernames held by users it does not model. It
// runs one transaction at a time (so they are serializable), and a
// transaction that fails leaves nothing changed. Its Apply is strict: it
// refuses a Diff that does not fit the stored state, so a stale or wrong
// plan fails a test instead of passing silently.
//
// A Store is safe for concurrent use. The zero value is not; use NewStore.
type Store struct {
	mu sync.Mutex // held by Transact for the whole transaction
	st state

	fmu    sync.Mutex // guards the fields below
	faults map[Op][]error
	apply  *applyFault
	calls  map[Op]int
}

// Op names a Store operation, for FailNext and Calls.
type Op string

// The operations a Store counts and can fail.
const (
	OpFindUser     Op = "FindUser"
	OpFindTeams    Op = "FindTeams"
	OpUsernameFree Op = "UsernameFree"
	OpApply        Op = "Apply"
	OpCommit       Op = "Commit" // the end of a Transact whose fn succeeded
)

// ErrInjected is the error FailNext and FailApplyAfter return when given a
// nil error.
var ErrInjected = errors.New("mappingtest: injected failure")

// state is everything a transaction can change.
type state struct {
	users    map[string]mapping.User // by ID, Teams always nil
	teams    map[string]mapping.Team // by ID, Members kept up to date
	members  map[membership]bool
	reserved map[string]bool // usernames held by users the store does not model
	nextID   int
}

type membership struct{ user, team string }

type applyFault struct {
	after int
	err   error
}

// NewStore returns an empty Store.
func NewStore() *Store {
	return &Store{
		st: state{
			users:    map[string]mapping.User{},
			teams:    map[string]mapping.Team{},
			members:  map[membership]bool{},
			reserved: map[string]bool{},
		},
		faults: map[Op][]error{},
		calls:  map[Op]int{},
	}
}

func (st state) clone() state {
	return state{
		users:    maps.Clone(st.users),
		teams:    maps.Clone(st.teams),
		members:  maps.Clone(st.members),
		reserved: maps.Clone(st.reserved),
		nextID:   st.nextID,
	}
}

// AddTeam adds a team. t.Members counts the members the store has no user
// for; AddUser adds one for each of its teams. It fails on an empty or
// duplicate ID or a negative count.
func (s *Store) AddTeam(t mapping.Team) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.ID == "" {
		return errors.New("mappingtest: AddTeam: the team needs an ID")
	}
	if _, dup := s.st.teams[t.ID]; dup {
		return fmt.Errorf("mappingtest: AddTeam: team %q exists", t.ID)
	}
	if t.Members < 0 {
		return fmt.Errorf("mappingtest: AddTeam: team %q has %d members; counts cannot be negative", t.ID, t.Members)
	}
	s.st.teams[t.ID] = t
	return nil
}

// AddUser adds a user, a member of u.Teams (by ID; the teams must have been
// added). It assigns an ID when u.ID is empty and returns the ID. Users
// are found by Email (the NameID), which must be unique, as must usernames.
func (s *Store) AddUser(u mapping.User) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range u.Teams {
		if _, ok := s.st.teams[t.ID]; !ok {
			return "", fmt.Errorf("mappingtest: AddUser: team %q does not exist; add it first", t.ID)
		}
	}
	if u.ID == "" {
		u.ID = s.st.newID()
	}
	if _, dup := s.st.users[u.ID]; dup {
		return "", fmt.Errorf("mappingtest: AddUser: user %q exists", u.ID)
	}
	if other := s.st.userByEmail(u.Email); other != nil {
		return "", fmt.Errorf("mappingtest: AddUser: user %q already has email %q", other.ID, u.Email)
	}
	if !s.st.usernameFree(u.Username) {
		return "", fmt.Errorf("mappingtest: AddUser: username %q is taken", u.Username)
	}
	for _, t := range u.Teams {
		if m := (membership{u.ID, t.ID}); !s.st.members[m] {
			s.st.members[m] = true
			team := s.st.teams[t.ID]
			team.Members++
			s.st.teams[t.ID] = team
		}
	}
	u.Teams = nil
	s.st.users[u.ID] = u
	return u.ID, nil
}

// ReserveUsername marks username as held by a user the store does not
// model, so UsernameFree reports it taken.
func (s *Store) ReserveUsername(username string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.reserved[username] = true
}

// User returns the user with that ID and their teams, sorted by ID.
func (s *Store) User(id string) (mapping.User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.st.users[id]
	if !ok {
		return mapping.User{}, false
	}
	return s.st.withTeams(u), true
}

// Users returns every user with their teams, sorted by ID.
func (s *Store) Users() []mapping.User {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []mapping.User
	for _, u := range s.st.users {
		out = append(out, s.st.withTeams(u))
	}
	slices.SortFunc(out, func(a, b mapping.User) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Team returns the team with that ID, with its current member count.
func (s *Store) Team(id string) (mapping.Team, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.st.teams[id]
	return t, ok
}

// Teams returns every team, sorted by ID.
func (s *Store) Teams() []mapping.Team {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.sortedTeams()
}

// FailNext makes the next call of op fail with err (ErrInjected when nil).
// Calls queue up: FailNext twice fails the next two calls. OpCommit fails
// a transaction after its fn succeeded, as a database's COMMIT can.
func (s *Store) FailNext(op Op, err error) {
	if err == nil {
		err = ErrInjected
	}
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.faults[op] = append(s.faults[op], err)
}

// FailApplyAfter makes the next Apply fail with err (ErrInjected when nil)
// after it has made writes writes (creating the user, setting a field,
// adding or removing one membership: one write each), to show that a
// failed transaction leaves nothing behind.
func (s *Store) FailApplyAfter(writes int, err error) {
	if err == nil {
		err = ErrInjected
	}
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.apply = &applyFault{after: writes, err: err}
}

// Calls returns how many times op was called (OpCommit: how many
// transactions committed).
func (s *Store) Calls(op Op) int {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	return s.calls[op]
}

// enter counts a call of op and returns its injected failure, if any.
func (s *Store) enter(op Op) error {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.calls[op]++
	if q := s.faults[op]; len(q) > 0 {
		s.faults[op] = q[1:]
		return q[0]
	}
	return nil
}

// FindUser implements mapping.Directory outside a transaction: the user
// whose Email equals nameID, or nil.
func (s *Store) FindUser(ctx context.Context, nameID string) (*mapping.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.findUser(ctx, &s.st, nameID)
}

// FindTeams implements mapping.Directory outside a transaction.
func (s *Store) FindTeams(ctx context.Context, values []string) ([]mapping.Team, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.findTeams(ctx, &s.st, values)
}

// UsernameFree implements mapping.Directory outside a transaction.
func (s *Store) UsernameFree(ctx context.Context, username string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.usernameFree(ctx, &s.st, username)
}

func (s *Store) findUser(ctx context.Context, st *state, nameID string) (*mapping.User, error) {
	if err := cmp.Or(ctx.Err(), s.enter(OpFindUser)); err != nil {
		return nil, err
	}
	u := st.userByEmail(nameID)
	if u == nil {
		return nil, nil
	}
	full := st.withTeams(*u)
	return &full, nil
}

func (s *Store) findTeams(ctx context.Context, st *state, values []string) ([]mapping.Team, error) {
	if err := cmp.Or(ctx.Err(), s.enter(OpFindTeams)); err != nil {
		return nil, err
	}
	want := make(map[string]bool, len(values))
	for _, v := range values {
		want[v] = true
	}
	var out []mapping.Team
	for _, t := range st.sortedTeams() {
		if want[t.Name] || t.SSOTeamID != "" && want[t.SSOTeamID] {
			out = append(out, t)
		}
	}
	return out, nil
}

func (s *Store) usernameFree(ctx context.Context, st *state, username string) (bool, error) {
	if err := cmp.Or(ctx.Err(), s.enter(OpUsernameFree)); err != nil {
		return false, err
	}
	return st.usernameFree(username), nil
}

func (st *state) newID() string {
	for {
		st.nextID++
		id := fmt.Sprintf("user-%d", st.nextID)
		if _, taken := st.users[id]; !taken {
			return id
		}
	}
}

func (st *state) userByEmail(email string) *mapping.User {
	for _, u := range st.users {
		if u.Email == email {
			return &u
		}
	}
	return nil
}

func (st *state) usernameFree(username string) bool {
	if st.reserved[username] {
		return false
	}
	for _, u := range st.users {
		if u.Username == username {
			return false
		}
	}
	return true
}

func (st *state) withTeams(u mapping.User) mapping.User {
	u.Teams = nil
	for m := range st.members {
		if m.user == u.ID {
			u.Teams = append(u.Teams, st.teams[m.team])
		}
	}
	slices.SortFunc(u.Teams, func(a, b mapping.Team) int { return cmp.Compare(a.ID, b.ID) })
	return u
}

func (st *state) sortedTeams() []mapping.Team {
	out := slices.Collect(maps.Values(st.teams))
	slices.SortFunc(out, func(a, b mapping.Team) int { return cmp.Compare(a.ID, b.ID) })
	return out
}
