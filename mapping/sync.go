package mapping

import (
	"context"
	"fmt"
)

// maxUsernameTries bounds the directory look-ups for a new user's default
// username (base, base1, base2, ...).
const maxUsernameTries = 1000

// Sync plans login and applies the plan in one transaction of store: it
// reads the user, the teams the assertion names and the usernames it needs
// through the transaction, plans (see Plan), and applies the Diff unless it
// is Empty. It returns the Diff for the host's audit log, or an error, in
// which case store left nothing changed.
func (c Config) Sync(ctx context.Context, store Store, login Login) (Diff, error) {
	var d Diff
	err := store.Transact(ctx, func(ctx context.Context, tx Tx) error {
		var err error
		if d, err = c.Preview(ctx, tx, login); err != nil {
			return err
		}
		if d.Empty() {
			return nil
		}
		if err := tx.Apply(ctx, login.NameID, d); err != nil {
			return fmt.Errorf("mapping: apply: %w", err)
		}
		return nil
	})
	if err != nil {
		return Diff{}, err
	}
	return d, nil
}

// Preview plans login against dir without writing anything: what Sync
// would do now, for an admin page that shows what a login will change.
func (c Config) Preview(ctx context.Context, dir Directory, login Login) (Diff, error) {
	if err := c.Validate(); err != nil {
		return Diff{}, err
	}
	in, err := c.read(ctx, dir, login)
	if err != nil {
		return Diff{}, err
	}
	return c.Plan(in)
}

// read gathers the Input that Plan needs from dir.
func (c Config) read(ctx context.Context, dir Directory, login Login) (Input, error) {
	in := Input{NameID: login.NameID, Attributes: login.Attributes}
	var err error
	if in.User, err = dir.FindUser(ctx, login.NameID); err != nil {
		return Input{}, fmt.Errorf("mapping: find user %q: %w", login.NameID, err)
	}
	if tv := c.teamValues(login.Attributes); c.TeamSync && len(tv.values) > 0 {
		if in.Teams, err = dir.FindTeams(ctx, tv.values); err != nil {
			return Input{}, fmt.Errorf("mapping: find teams: %w", err)
		}
	}
	taken := func(u string) (bool, error) {
		free, err := dir.UsernameFree(ctx, u)
		if err != nil {
			return false, fmt.Errorf("mapping: is username %q free: %w", u, err)
		}
		if !free {
			in.UsernamesTaken = append(in.UsernamesTaken, u)
		}
		return !free, nil
	}
	current := ""
	if in.User != nil {
		current = in.User.Username
	}
	v, ok := c.assertedUsername(login.Attributes)
	usable := ok && c.validUsername(v)
	if usable && (in.User == nil || v != current) {
		t, err := taken(v)
		if err != nil {
			return Input{}, err
		}
		usable = !t
	}
	if in.User == nil && !usable {
		tries := 0
		_, err := defaultUsername(usernameBase(login.NameID), func(u string) (bool, error) {
			if tries++; tries > maxUsernameTries {
				return false, fmt.Errorf("mapping: no free username among %d derived from %q; have the IdP send a Username attribute", maxUsernameTries, login.NameID)
			}
			return taken(u)
		})
		if err != nil {
			return Input{}, err
		}
	}
	return in, nil
}
