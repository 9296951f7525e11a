package mappingtest

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"github.com/siteadmin/integrations/mapping"
)

// errClosed is returned by a Tx used after its transaction ended.
var errClosed = errors.New("mappingtest: the transaction has ended; use the Tx only inside fn")

// Transact implements mapping.Store. It runs fn on a private copy of the
// store's state, holding the store for the whole transaction, and keeps the
// copy only when fn returns nil, ctx is not done, and no commit failure was
// injected (see FailNext with OpCommit).
func (s *Store) Transact(ctx context.Context, fn func(ctx context.Context, tx mapping.Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := &tx{s: s, st: s.st.clone()}
	defer func() { tx.closed = true }()
	if err := fn(ctx, tx); err != nil {
		return err
	}
	if err := cmp.Or(ctx.Err(), s.enter(OpCommit)); err != nil {
		return fmt.Errorf("mappingtest: commit: %w", err)
	}
	s.st = tx.st
	return nil
}

// tx is one transaction: reads and writes go to st, a copy of the store's
// state that Transact keeps on success. Not safe for concurrent use, like
// a database transaction.
type tx struct {
	s      *Store
	st     state
	closed bool
	writes int
	fault  *applyFault
}

func (t *tx) FindUser(ctx context.Context, nameID string) (*mapping.User, error) {
	if t.closed {
		return nil, errClosed
	}
	return t.s.findUser(ctx, &t.st, nameID)
}

func (t *tx) FindTeams(ctx context.Context, values []string) ([]mapping.Team, error) {
	if t.closed {
		return nil, errClosed
	}
	return t.s.findTeams(ctx, &t.st, values)
}

func (t *tx) UsernameFree(ctx context.Context, username string) (bool, error) {
	if t.closed {
		return false, errClosed
	}
	return t.s.usernameFree(ctx, &t.st, username)
}

// Apply writes d into the transaction's copy, checking that every change
// starts from the stored value.
func (t *tx) Apply(ctx context.Context, nameID string, d mapping.Diff) error {
	if t.closed {
		return errClosed
	}
	if err := cmp.Or(ctx.Err(), t.s.enter(OpApply)); err != nil {
		return err
	}
	t.s.fmu.Lock()
	t.fault, t.s.apply = t.s.apply, nil
	t.s.fmu.Unlock()

	u, err := t.applyUser(nameID, d)
	if err != nil {
		return err
	}
	if c := d.Username; c != nil {
		if c.From != u.Username {
			return fmt.Errorf("mappingtest: stale diff: username is %q, the diff changes it from %q", u.Username, c.From)
		}
		if c.To == "" || !t.st.usernameFree(c.To) {
			return fmt.Errorf("mappingtest: username %q is taken or empty", c.To)
		}
		u.Username = c.To
		if err := t.write(); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		name string
		c    *mapping.BoolChange
		v    *bool
	}{{"site admin", d.SiteAdmin, &u.SiteAdmin}, {"service account", d.ServiceAccount, &u.ServiceAccount}} {
		if f.c == nil {
			continue
		}
		if f.c.From != *f.v {
			return fmt.Errorf("mappingtest: stale diff: %s is %t, the diff changes it from %t", f.name, *f.v, f.c.From)
		}
		*f.v = f.c.To
		if err := t.write(); err != nil {
			return err
		}
	}
	t.st.users[u.ID] = u
	for _, a := range d.Add {
		if err := t.member(u.ID, a.Team, true); err != nil {
			return err
		}
	}
	for _, r := range d.Remove {
		if err := t.member(u.ID, r.Team, false); err != nil {
			return err
		}
	}
	return nil
}

// applyUser finds or creates the user d is for.
func (t *tx) applyUser(nameID string, d mapping.Diff) (mapping.User, error) {
	existing := t.st.userByEmail(nameID)
	if d.NewUser {
		if existing != nil {
			return mapping.User{}, fmt.Errorf("mappingtest: stale diff: it creates a user, but user %q has email %q", existing.ID, nameID)
		}
		if d.User != "" {
			return mapping.User{}, fmt.Errorf("mappingtest: a diff that creates a user must not name one (it names %q)", d.User)
		}
		if d.Username == nil {
			return mapping.User{}, errors.New("mappingtest: a diff that creates a user must set the username")
		}
		u := mapping.User{ID: t.st.newID(), Email: nameID}
		t.st.users[u.ID] = u
		return u, t.write()
	}
	u, ok := t.st.users[d.User]
	if !ok {
		return mapping.User{}, fmt.Errorf("mappingtest: the diff is for user %q, which does not exist", d.User)
	}
	if existing == nil || existing.ID != u.ID {
		return mapping.User{}, fmt.Errorf("mappingtest: the diff is for user %q, but NameID %q identifies another user or none", d.User, nameID)
	}
	return u, nil
}

// member adds (join) or removes the membership of user in team.
func (t *tx) member(user, team string, join bool) error {
	tm, ok := t.st.teams[team]
	if !ok {
		return fmt.Errorf("mappingtest: team %q does not exist", team)
	}
	m := membership{user, team}
	if t.st.members[m] == join {
		return fmt.Errorf("mappingtest: stale diff: membership of user %q in team %q is already %t", user, team, join)
	}
	if join {
		t.st.members[m] = true
		tm.Members++
	} else {
		delete(t.st.members, m)
		tm.Members--
	}
	t.st.teams[team] = tm
	return t.write()
}

// write counts one write and fails it when FailApplyAfter says so.
func (t *tx) write() error {
	if t.fault != nil && t.writes >= t.fault.after {
		return t.fault.err
	}
	t.writes++
	return nil
}
