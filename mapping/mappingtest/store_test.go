package mappingtest_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/siteadmin/integrations/mapping"
	"github.com/siteadmin/integrations/mapping/mappingtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	dev    = mapping.Team{ID: "t-dev", Org: "acme", Name: "dev"}
	ops    = mapping.Team{ID: "t-ops", Org: "acme", Name: "ops", SSOTeamID: "grp-ops"}
	owners = mapping.Team{ID: "t-owners", Org: "acme", Name: "owners", Owners: true, SSOTeamID: "acme-admins"}
)

// newStore holds dev, ops and owners, and alice in dev and owners (its only
// member).
func newStore(t *testing.T) *mappingtest.Store {
	t.Helper()
	s := mappingtest.NewStore()
	for _, tm := range []mapping.Team{dev, ops, owners} {
		require.NoError(t, s.AddTeam(tm))
	}
	id, err := s.AddUser(mapping.User{ID: "u-alice", Username: "alice", Email: "alice@example.com", Teams: []mapping.Team{dev, owners}})
	require.NoError(t, err)
	require.Equal(t, "u-alice", id)
	return s
}

var cfg = mapping.Config{TeamSync: true}

func aliceLogin(values ...string) mapping.Login {
	return mapping.Login{NameID: "alice@example.com", Attributes: mapping.Attributes{"MemberOf": values, "Username": {"alice2"}, "SiteAdmin": {"true"}}}
}

func TestStoreReadsAndCounts(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()

	u, err := s.FindUser(ctx, "alice@example.com")
	require.NoError(t, err)
	require.NotNil(t, u)
	assert.Equal(t, []mapping.Team{withMembers(dev, 1), withMembers(owners, 1)}, u.Teams, "teams with counts, sorted by ID")

	none, err := s.FindUser(ctx, "ALICE@example.com")
	require.NoError(t, err)
	assert.Nil(t, none, "NameIDs match exactly")

	teams, err := s.FindTeams(ctx, []string{"grp-ops", "owners", "nope"})
	require.NoError(t, err)
	assert.Equal(t, []mapping.Team{withMembers(ops, 0), withMembers(owners, 1)}, teams, "by SSO Team ID and by name")

	s.ReserveUsername("bob")
	for name, want := range map[string]bool{"alice": false, "bob": false, "carol": true} {
		free, err := s.UsernameFree(ctx, name)
		require.NoError(t, err)
		assert.Equal(t, want, free, name)
	}
	assert.Equal(t, 1, s.Calls(mappingtest.OpFindTeams))
	assert.Equal(t, 2, s.Calls(mappingtest.OpFindUser))
}

func TestStoreSyncAppliesAndCounts(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	d, err := cfg.Sync(context.Background(), s, aliceLogin("ops", "acme-admins"))
	require.NoError(t, err)
	assert.False(t, d.Empty())

	u, ok := s.User("u-alice")
	require.True(t, ok)
	assert.Equal(t, "alice2", u.Username)
	assert.True(t, u.SiteAdmin)
	assert.Equal(t, []mapping.Team{withMembers(ops, 1), withMembers(owners, 1)}, u.Teams)
	tm, _ := s.Team("t-dev")
	assert.Equal(t, 0, tm.Members, "removal updates the count")
	assert.Equal(t, 1, s.Calls(mappingtest.OpCommit))
	assert.Equal(t, []mapping.User{u}, s.Users())
	assert.Equal(t, []mapping.Team{withMembers(dev, 0), withMembers(ops, 1), withMembers(owners, 1)}, s.Teams())

	again, err := cfg.Sync(context.Background(), s, aliceLogin("ops", "acme-admins"))
	require.NoError(t, err)
	assert.True(t, again.Empty())
	assert.Equal(t, 1, s.Calls(mappingtest.OpApply), "an Empty Diff is not applied")
}

// TestStoreRollsBack fails an apply after every possible number of writes
// and checks that the store is exactly as before each time.
func TestStoreRollsBack(t *testing.T) {
	t.Parallel()
	login := aliceLogin("ops", "acme-admins")
	probe := newStore(t)
	d, err := cfg.Preview(context.Background(), probe, login)
	require.NoError(t, err)
	writes := len(d.Add) + len(d.Remove)
	for _, changed := range []bool{d.Username != nil, d.SiteAdmin != nil, d.ServiceAccount != nil} {
		if changed {
			writes++
		}
	}
	require.Equal(t, 4, writes, "username, site admin, one add, one removal")
	for after := range writes {
		t.Run(fmt.Sprintf("after %d writes", after), func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			before := s.Snapshot("alice@example.com")
			boom := errors.New("disk full")
			s.FailApplyAfter(after, boom)
			_, err := cfg.Sync(context.Background(), s, login)
			require.ErrorIs(t, err, boom)
			assert.Equal(t, before, s.Snapshot("alice@example.com"), "a failed transaction left changes")
		})
	}
}

func TestStoreFailNext(t *testing.T) {
	t.Parallel()
	for _, op := range []mappingtest.Op{mappingtest.OpFindUser, mappingtest.OpFindTeams, mappingtest.OpUsernameFree, mappingtest.OpApply, mappingtest.OpCommit} {
		t.Run(string(op), func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			before := s.Snapshot("alice@example.com")
			s.FailNext(op, nil)
			_, err := cfg.Sync(context.Background(), s, aliceLogin("ops"))
			require.ErrorIs(t, err, mappingtest.ErrInjected)
			assert.Equal(t, before, s.Snapshot("alice@example.com"))

			_, err = cfg.Sync(context.Background(), s, aliceLogin("ops"))
			require.NoError(t, err, "a failure is injected once")
		})
	}
}

func TestStoreCanceledContext(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	before := s.Snapshot("alice@example.com")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := cfg.Sync(ctx, s, aliceLogin("ops"))
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, before, s.Snapshot("alice@example.com"))
}

func TestStoreRefusesStaleDiffs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		nameID string
		diff   mapping.Diff
		want   string
	}{
		{"username changed meanwhile", "alice@example.com", mapping.Diff{User: "u-alice", Username: &mapping.StringChange{From: "al", To: "x"}}, "stale diff: username"},
		{"username taken meanwhile", "alice@example.com", mapping.Diff{User: "u-alice", Username: &mapping.StringChange{From: "alice", To: "bob"}}, `username "bob" is taken`},
		{"flag changed meanwhile", "alice@example.com", mapping.Diff{User: "u-alice", SiteAdmin: &mapping.BoolChange{From: true, To: false}}, "stale diff: site admin"},
		{"already a member", "alice@example.com", mapping.Diff{User: "u-alice", Add: []mapping.TeamAdd{{Team: "t-dev"}}}, "already true"},
		{"not a member", "alice@example.com", mapping.Diff{User: "u-alice", Remove: []mapping.TeamRemoval{{Team: "t-ops"}}}, "already false"},
		{"team deleted", "alice@example.com", mapping.Diff{User: "u-alice", Add: []mapping.TeamAdd{{Team: "t-gone"}}}, `team "t-gone" does not exist`},
		{"user created meanwhile", "alice@example.com", mapping.Diff{NewUser: true, Username: &mapping.StringChange{To: "a"}}, "it creates a user"},
		{"new user without username", "new@example.com", mapping.Diff{NewUser: true}, "must set the username"},
		{"wrong user", "other@example.com", mapping.Diff{User: "u-alice"}, "identifies another user or none"},
		{"unknown user", "alice@example.com", mapping.Diff{User: "u-nobody"}, "does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			s.ReserveUsername("bob")
			before := s.Snapshot("alice@example.com")
			err := s.Transact(ctx, func(ctx context.Context, tx mapping.Tx) error { return tx.Apply(ctx, tc.nameID, tc.diff) })
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Equal(t, before, s.Snapshot("alice@example.com"))
		})
	}
}

func TestStoreTxClosedAfterTransact(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	var kept mapping.Tx
	require.NoError(t, s.Transact(context.Background(), func(_ context.Context, tx mapping.Tx) error { kept = tx; return nil }))
	_, err := kept.FindUser(context.Background(), "alice@example.com")
	assert.ErrorContains(t, err, "transaction has ended")
	assert.ErrorContains(t, kept.Apply(context.Background(), "alice@example.com", mapping.Diff{User: "u-alice"}), "transaction has ended")
}

func TestStoreAddErrors(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	assert.ErrorContains(t, s.AddTeam(mapping.Team{}), "needs an ID")
	assert.ErrorContains(t, s.AddTeam(dev), "exists")
	assert.ErrorContains(t, s.AddTeam(mapping.Team{ID: "n", Members: -1}), "negative")
	_, err := s.AddUser(mapping.User{Email: "x@example.com", Username: "alice"})
	assert.ErrorContains(t, err, "taken")
	_, err = s.AddUser(mapping.User{Email: "alice@example.com", Username: "z"})
	assert.ErrorContains(t, err, "already has email")
	_, err = s.AddUser(mapping.User{Email: "y@example.com", Username: "y", Teams: []mapping.Team{{ID: "nope"}}})
	assert.ErrorContains(t, err, "does not exist")
	id, err := s.AddUser(mapping.User{Email: "z@example.com", Username: "z"})
	require.NoError(t, err)
	assert.NotEmpty(t, id, "an ID is assigned")
}

// TestStoreLastOwnerUnderConcurrency runs two owners' logins at once, each
// dropping the owners team: transactions are serialized, so exactly one
// leaves and the other is blocked as the last owner.
func TestStoreLastOwnerUnderConcurrency(t *testing.T) {
	t.Parallel()
	for range 20 {
		s := mappingtest.NewStore()
		require.NoError(t, s.AddTeam(owners))
		for _, name := range []string{"a", "b"} {
			_, err := s.AddUser(mapping.User{ID: name, Username: name, Email: name + "@example.com", Teams: []mapping.Team{owners}})
			require.NoError(t, err)
		}
		var wg sync.WaitGroup
		diffs := make([]mapping.Diff, 2)
		for i, name := range []string{"a", "b"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d, err := cfg.Sync(context.Background(), s, mapping.Login{NameID: name + "@example.com", Attributes: mapping.Attributes{"MemberOf": {}}})
				assert.NoError(t, err)
				diffs[i] = d
			}()
		}
		wg.Wait()
		tm, _ := s.Team(owners.ID)
		assert.Equal(t, 1, tm.Members, "the organization kept an owner")
		assert.Equal(t, 1, len(diffs[0].Remove)+len(diffs[1].Remove))
		assert.Equal(t, 1, len(diffs[0].Blocked)+len(diffs[1].Blocked))
	}
}

func withMembers(t mapping.Team, n int) mapping.Team {
	t.Members = n
	return t
}
