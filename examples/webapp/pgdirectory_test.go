package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/examples/internal/demo"
	"github.com/siteadmin/integrations/internal/pgtest"
	"github.com/siteadmin/integrations/mapping"
	"github.com/siteadmin/integrations/mapping/mappingtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// newTestPGDirectory returns the sample directory on a fresh schema.
func newTestPGDirectory(t *testing.T, db *sql.DB) *pgDirectory {
	t.Helper()
	mem, err := demo.Directory()
	require.NoError(t, err)
	d, err := newPGDirectory(t.Context(), db, mem.Teams(), mem.Users())
	require.NoError(t, err)
	return d
}

// The PostgreSQL directory plans and applies every login as the in-memory
// one does: the same Diffs, the same users and teams afterwards.
func TestPGDirectoryMatchesMemory(t *testing.T) {
	t.Parallel()
	pg := newTestPGDirectory(t, pgtest.DB(t))
	mem, err := demo.Directory()
	require.NoError(t, err)
	cfg := mapping.Config{TeamSync: true}
	logins := []mapping.Login{
		{NameID: "alice@example.com", Attributes: mapping.Attributes{"MemberOf": {"acme-developers", "ops"}}},
		{NameID: "bob@example.com", Attributes: mapping.Attributes{"MemberOf": {"acme-owners", "marketing"}, "SiteAdmin": {"true"}}},
		{NameID: "carol@example.com", Attributes: mapping.Attributes{"Username": {"alice.smith"}, "MemberOf": {"legacy"}}},
		{NameID: "alice@example.com", Attributes: mapping.Attributes{"MemberOf": {"acme-owners"}, "Username": {"alice"}}},
		{NameID: "bob@example.com", Attributes: mapping.Attributes{"MemberOf": {}, "SiteAdmin": {"false"}}},
		{NameID: "dave@example.com", Attributes: mapping.Attributes{"IsServiceAccount": {"true"}, "MemberOf": {"nothing-here"}}},
	}
	for i, l := range logins {
		want, err := cfg.Sync(t.Context(), mem, l)
		require.NoError(t, err, "login %d in memory", i)
		got, err := cfg.Sync(t.Context(), pg, l)
		require.NoError(t, err, "login %d on PostgreSQL", i)
		want.User, got.User = "", "" // the stores number users differently
		assert.Equal(t, want, got, "login %d (%s)", i, l.NameID)
	}
	assertSameDirectory(t, mem, pg)
}

// assertSameDirectory compares the users (by email) and teams of two
// directories.
func assertSameDirectory(t *testing.T, mem *mappingtest.Store, pg *pgDirectory) {
	t.Helper()
	teams, err := pg.Teams(t.Context())
	require.NoError(t, err)
	assert.ElementsMatch(t, mem.Teams(), teams)
	users, err := pg.Users(t.Context())
	require.NoError(t, err)
	summary := func(us []mapping.User) map[string]string {
		out := map[string]string{}
		for _, u := range us {
			var ids []string
			for _, tm := range u.Teams {
				ids = append(ids, tm.ID)
			}
			out[u.Email] = fmt.Sprintf("%s admin=%t sa=%t teams=%v", u.Username, u.SiteAdmin, u.ServiceAccount, ids)
		}
		return out
	}
	assert.Equal(t, summary(mem.Users()), summary(users))
}

// Logins of one user at once, on connections of their own as two instances
// would have, leave what one plan computes: one user, the asserted teams,
// counts that add up. Without the locks, two first logins both create the
// user (one fails on the unique email) or both add the membership.
func TestPGDirectoryConcurrentLoginsOfOneUser(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	pg := newTestPGDirectory(t, pgtest.Open(t, dsn))
	cfg := mapping.Config{TeamSync: true}
	login := mapping.Login{NameID: "erin@example.com", Attributes: mapping.Attributes{"MemberOf": {"acme-developers", "ops", "acme-owners"}}}
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		instance := &pgDirectory{db: pgtest.Open(t, dsn)}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := cfg.Sync(context.Background(), instance, login)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	mem, err := demo.Directory()
	require.NoError(t, err)
	_, err = cfg.Sync(t.Context(), mem, login)
	require.NoError(t, err)
	assertSameDirectory(t, mem, pg)
}

// Two owners of acme leave the owners team at once, on two connections:
// the last-owner guard sees both, and acme keeps an owner.
func TestPGDirectoryLastOwnerGuardUnderConcurrency(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	pg := newTestPGDirectory(t, pgtest.Open(t, dsn))
	cfg := mapping.Config{TeamSync: true}
	owner := func(who string) mapping.Login {
		return mapping.Login{NameID: who, Attributes: mapping.Attributes{"MemberOf": {"acme-owners"}}}
	}
	// The seed's owners team counts one phantom owner; make it two real
	// ones and drop the phantom, so that only these two remain.
	for _, who := range []string{"o1@example.com", "o2@example.com"} {
		_, err := cfg.Sync(t.Context(), pg, owner(who))
		require.NoError(t, err)
	}
	_, err := pg.db.ExecContext(t.Context(), `UPDATE webapp_teams SET members = 2 WHERE id = 'acme-owners'`)
	require.NoError(t, err)

	var wg sync.WaitGroup
	diffs := make([]mapping.Diff, 2)
	for i, who := range []string{"o1@example.com", "o2@example.com"} {
		instance := &pgDirectory{db: pgtest.Open(t, dsn)}
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := cfg.Sync(context.Background(), instance, mapping.Login{NameID: who, Attributes: mapping.Attributes{"MemberOf": {"acme-developers"}}})
			assert.NoError(t, err)
			diffs[i] = d
		}()
	}
	wg.Wait()
	removed := len(diffs[0].Remove) + len(diffs[1].Remove)
	blocked := len(diffs[0].Blocked) + len(diffs[1].Blocked)
	assert.Equal(t, 1, removed, "one owner leaves")
	assert.Equal(t, 1, blocked, "the other is the last owner and stays")
	teams, err := pg.Teams(t.Context())
	require.NoError(t, err)
	for _, tm := range teams {
		if tm.ID == "acme-owners" {
			assert.Equal(t, 1, tm.Members)
		}
	}
}

// What the host records beside a login commits or rolls back with it.
func TestPGDirectoryAfterApplyIsInTheTransaction(t *testing.T) {
	t.Parallel()
	pg := newTestPGDirectory(t, pgtest.DB(t))
	cfg := mapping.Config{TeamSync: true}
	pg.afterApply = func(ctx context.Context, tx *sql.Tx, nameID string, d mapping.Diff) error {
		return errors.New("the welcome email could not be enqueued")
	}
	_, err := cfg.Sync(t.Context(), pg, mapping.Login{NameID: "frank@example.com", Attributes: mapping.Attributes{"MemberOf": {"ops"}}})
	require.ErrorContains(t, err, "welcome email")
	u, err := pg.FindUser(t.Context(), "frank@example.com")
	require.NoError(t, err)
	assert.Nil(t, u, "the user was not created")
	teams, err := pg.FindTeams(t.Context(), []string{"ops"})
	require.NoError(t, err)
	require.Len(t, teams, 1)
	assert.Equal(t, 2, teams[0].Members, "nor the membership counted")
}

// A Diff planned on data that changed since is refused, and nothing of it
// stays.
func TestPGDirectoryRefusesStaleDiff(t *testing.T) {
	t.Parallel()
	pg := newTestPGDirectory(t, pgtest.DB(t))
	cfg := mapping.Config{TeamSync: true}
	login := mapping.Login{NameID: "alice@example.com", Attributes: mapping.Attributes{"MemberOf": {"ops", "acme-developers"}}}
	d, err := cfg.Preview(t.Context(), pg, login)
	require.NoError(t, err)
	_, err = cfg.Sync(t.Context(), pg, login)
	require.NoError(t, err)
	err = pg.Transact(t.Context(), func(ctx context.Context, tx mapping.Tx) error { return tx.Apply(ctx, login.NameID, d) })
	require.ErrorContains(t, err, "stale diff")
	u, err := pg.FindUser(t.Context(), "alice@example.com")
	require.NoError(t, err)
	assert.Len(t, u.Teams, 2, "legacy was removed and two teams joined, once")
}
