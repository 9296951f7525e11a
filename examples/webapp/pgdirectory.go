package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/siteadmin/integrations/mapping"
)

// pgDirectory keeps the web app's users, teams and memberships in
// PostgreSQL. It is the reference SQL implementation of mapping.Store (and,
// outside and inside its transactions, of mapping.Directory) that a host
// can read as a model:
//
//   - Transact runs Sync in one database transaction, so the Diff and
//     whatever the host records beside it (here, AfterApply enqueues a
//     welcome email through the outbox) commit or roll back together.
//   - Inside a transaction, FindUser takes a transaction-scoped advisory
//     lock on the NameID and locks the user's row, so two logins of one
//     user (on two instances) run one after the other: the second plans
//     from what the first wrote, and no update is lost, even when the
//     first creates the user.
//   - FindTeams locks the teams' rows (in ID order, so that two logins
//     never deadlock) before reading their member counts, so the
//     last-owner guard of two logins at once sees both.
//   - Apply changes every row only from the value the Diff says it had,
//     and refuses a Diff that no longer fits.
type pgDirectory struct {
	db *sql.DB
	// afterApply, when set, runs in the transaction of every applied
	// Diff, after it: what the host records beside a login's changes.
	afterApply func(ctx context.Context, tx *sql.Tx, nameID string, d mapping.Diff) error
}

// pgSchema is the directory's tables. Team member counts are a column, as
// a host with large teams would keep them; Apply maintains them.
const pgSchema = `
CREATE TABLE IF NOT EXISTS webapp_users (
	id              bigserial PRIMARY KEY,
	email           text NOT NULL UNIQUE,
	username        text NOT NULL UNIQUE,
	site_admin      boolean NOT NULL DEFAULT false,
	service_account boolean NOT NULL DEFAULT false
);
CREATE TABLE IF NOT EXISTS webapp_teams (
	id          text PRIMARY KEY,
	org         text NOT NULL,
	name        text NOT NULL,
	sso_team_id text NOT NULL DEFAULT '',
	owners      boolean NOT NULL DEFAULT false,
	members     integer NOT NULL DEFAULT 0 CHECK (members >= 0),
	UNIQUE (org, name)
);
CREATE INDEX IF NOT EXISTS webapp_teams_name ON webapp_teams (name);
CREATE INDEX IF NOT EXISTS webapp_teams_sso_team_id ON webapp_teams (sso_team_id) WHERE sso_team_id <> '';
CREATE TABLE IF NOT EXISTS webapp_memberships (
	user_id bigint NOT NULL REFERENCES webapp_users (id),
	team_id text NOT NULL REFERENCES webapp_teams (id),
	PRIMARY KEY (user_id, team_id)
);
`

// newPGDirectory creates the tables when they are missing and, when the
// directory has no teams yet, loads seed (the sample directory) into it.
// Several instances may call it at once: an advisory lock makes one of
// them seed.
func newPGDirectory(ctx context.Context, db *sql.DB, seed []mapping.Team, seedUsers []mapping.User) (*pgDirectory, error) {
	d := &pgDirectory{db: db}
	err := inTx(ctx, d.db, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('webapp_directory_schema', 0))`); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, pgSchema); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM webapp_teams`).Scan(&n); err != nil || n > 0 {
			return err
		}
		for _, t := range seed {
			if _, err := tx.ExecContext(ctx, `INSERT INTO webapp_teams (id, org, name, sso_team_id, owners, members) VALUES ($1, $2, $3, $4, $5, $6)`,
				t.ID, t.Org, t.Name, t.SSOTeamID, t.Owners, t.Members); err != nil {
				return err
			}
		}
		for _, u := range seedUsers {
			var id int64
			if err := tx.QueryRowContext(ctx, `INSERT INTO webapp_users (email, username, site_admin, service_account) VALUES ($1, $2, $3, $4) RETURNING id`,
				u.Email, u.Username, u.SiteAdmin, u.ServiceAccount).Scan(&id); err != nil {
				return err
			}
			for _, t := range u.Teams {
				// The seed's member counts already include its users.
				if _, err := tx.ExecContext(ctx, `INSERT INTO webapp_memberships (user_id, team_id) VALUES ($1, $2)`, id, t.ID); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("webapp: the directory's tables: %w", err)
	}
	return d, nil
}

// Transact implements mapping.Store. Two logins that lock the same teams
// in another order can deadlock; PostgreSQL then aborts one of them, and
// Transact runs it again (fn reads everything afresh), up to three times.
func (d *pgDirectory) Transact(ctx context.Context, fn func(ctx context.Context, tx mapping.Tx) error) error {
	var err error
	for range 3 {
		err = inTx(ctx, d.db, func(tx *sql.Tx) error {
			return fn(ctx, &pgTx{q: tx, tx: tx, dir: d})
		})
		if !retryable(err) {
			return err
		}
	}
	return err
}

// retryable reports whether err is a deadlock or a serialization failure,
// which a transaction run again can get past. Drivers expose the SQLSTATE
// through a SQLState method (pgx, lib/pq's Error.SQLState).
func retryable(err error) bool {
	var st interface{ SQLState() string }
	if !errors.As(err, &st) {
		return false
	}
	return st.SQLState() == "40P01" || st.SQLState() == "40001"
}

// FindUser, FindTeams and UsernameFree implement mapping.Directory outside
// a transaction (for Preview): plain reads, no locks.
func (d *pgDirectory) FindUser(ctx context.Context, nameID string) (*mapping.User, error) {
	return (&pgTx{q: d.db, dir: d}).FindUser(ctx, nameID)
}

func (d *pgDirectory) FindTeams(ctx context.Context, values []string) ([]mapping.Team, error) {
	return (&pgTx{q: d.db, dir: d}).FindTeams(ctx, values)
}

func (d *pgDirectory) UsernameFree(ctx context.Context, username string) (bool, error) {
	return (&pgTx{q: d.db, dir: d}).UsernameFree(ctx, username)
}

// Teams returns every team, by organization and name, for the directory
// page.
func (d *pgDirectory) Teams(ctx context.Context) ([]mapping.Team, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT id, org, name, sso_team_id, owners, members FROM webapp_teams ORDER BY org, name`)
	if err != nil {
		return nil, err
	}
	return scanTeams(rows)
}

// Users returns every user with their teams, by username.
func (d *pgDirectory) Users(ctx context.Context) ([]mapping.User, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT id, email FROM webapp_users ORDER BY username`)
	if err != nil {
		return nil, err
	}
	var emails []string
	for rows.Next() {
		var id int64
		var email string
		if err := rows.Scan(&id, &email); err != nil {
			rows.Close()
			return nil, err
		}
		emails = append(emails, email)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, err
	}
	users := make([]mapping.User, 0, len(emails))
	for _, e := range emails {
		u, err := d.FindUser(ctx, e)
		if err != nil {
			return nil, err
		}
		if u != nil {
			users = append(users, *u)
		}
	}
	return users, nil
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// pgTx is one transaction of the directory (tx set), or the directory
// itself for reads outside one (tx nil: no locks).
type pgTx struct {
	q   querier
	tx  *sql.Tx
	dir *pgDirectory
}

// forUpdate is the locking clause of reads inside a transaction.
func (t *pgTx) forUpdate() string {
	if t.tx == nil {
		return ""
	}
	return " FOR UPDATE"
}

func (t *pgTx) FindUser(ctx context.Context, nameID string) (*mapping.User, error) {
	if t.tx != nil {
		// The row lock below cannot hold a user that does not exist yet:
		// the advisory lock serializes two first logins of one user too.
		if _, err := t.q.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('webapp_user:' || $1, 0))`, nameID); err != nil {
			return nil, err
		}
	}
	var u mapping.User
	var id int64
	err := t.q.QueryRowContext(ctx, `SELECT id, username, email, site_admin, service_account FROM webapp_users WHERE email = $1`+t.forUpdate(), nameID).
		Scan(&id, &u.Username, &u.Email, &u.SiteAdmin, &u.ServiceAccount)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	u.ID = fmt.Sprint(id)
	if t.tx != nil {
		// The last-owner guard reads these teams' counts: lock them first,
		// as FindTeams does.
		if _, err := t.q.ExecContext(ctx, `SELECT 1 FROM webapp_teams WHERE id IN (SELECT team_id FROM webapp_memberships WHERE user_id = $1) ORDER BY id FOR UPDATE`, id); err != nil {
			return nil, err
		}
	}
	rows, err := t.q.QueryContext(ctx, `SELECT t.id, t.org, t.name, t.sso_team_id, t.owners, t.members
		FROM webapp_teams t JOIN webapp_memberships m ON m.team_id = t.id
		WHERE m.user_id = $1 ORDER BY t.id`, id)
	if err != nil {
		return nil, err
	}
	if u.Teams, err = scanTeams(rows); err != nil {
		return nil, err
	}
	return &u, nil
}

func (t *pgTx) FindTeams(ctx context.Context, values []string) ([]mapping.Team, error) {
	if len(values) == 0 {
		return nil, nil
	}
	const match = `name = ANY($1) OR (sso_team_id <> '' AND sso_team_id = ANY($1))`
	if t.tx != nil {
		// Lock first, then read the counts in a statement of its own:
		// under READ COMMITTED that statement sees what a login that held
		// the locks before us committed.
		if _, err := t.q.ExecContext(ctx, `SELECT 1 FROM webapp_teams WHERE `+match+` ORDER BY id FOR UPDATE`, values); err != nil {
			return nil, err
		}
	}
	rows, err := t.q.QueryContext(ctx, `SELECT id, org, name, sso_team_id, owners, members FROM webapp_teams WHERE `+match+` ORDER BY id`, values)
	if err != nil {
		return nil, err
	}
	return scanTeams(rows)
}

func (t *pgTx) UsernameFree(ctx context.Context, username string) (bool, error) {
	var taken bool
	err := t.q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM webapp_users WHERE username = $1)`, username).Scan(&taken)
	return !taken, err
}

// Apply implements mapping.Tx: every statement changes a row only from the
// value the Diff starts from, so a Diff planned on stale data fails and the
// transaction rolls back.
func (t *pgTx) Apply(ctx context.Context, nameID string, d mapping.Diff) error {
	if t.tx == nil {
		return errors.New("webapp: Apply outside a transaction")
	}
	id, err := t.applyUser(ctx, nameID, d)
	if err != nil {
		return err
	}
	if c := d.Username; c != nil && !d.NewUser {
		if err := t.execOne(ctx, fmt.Sprintf("username %q -> %q", c.From, c.To),
			`UPDATE webapp_users SET username = $3 WHERE id = $1 AND username = $2`, id, c.From, c.To); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		column string
		c      *mapping.BoolChange
	}{{"site_admin", d.SiteAdmin}, {"service_account", d.ServiceAccount}} {
		if f.c == nil || d.NewUser {
			continue
		}
		if err := t.execOne(ctx, fmt.Sprintf("%s %t -> %t", f.column, f.c.From, f.c.To),
			`UPDATE webapp_users SET `+f.column+` = $3 WHERE id = $1 AND `+f.column+` = $2`, id, f.c.From, f.c.To); err != nil {
			return err
		}
	}
	for _, a := range d.Add {
		if err := t.execOne(ctx, "join team "+a.Team,
			`WITH m AS (INSERT INTO webapp_memberships (user_id, team_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING team_id)
			 UPDATE webapp_teams SET members = members + 1 WHERE id IN (SELECT team_id FROM m)`, id, a.Team); err != nil {
			return err
		}
	}
	for _, r := range d.Remove {
		if err := t.execOne(ctx, "leave team "+r.Team,
			`WITH m AS (DELETE FROM webapp_memberships WHERE user_id = $1 AND team_id = $2 RETURNING team_id)
			 UPDATE webapp_teams SET members = members - 1 WHERE id IN (SELECT team_id FROM m)`, id, r.Team); err != nil {
			return err
		}
	}
	if t.dir.afterApply != nil {
		return t.dir.afterApply(ctx, t.tx, nameID, d)
	}
	return nil
}

// applyUser creates the user of a Diff with NewUser, or checks that the
// Diff's user is the one nameID identifies, and returns the user's ID.
func (t *pgTx) applyUser(ctx context.Context, nameID string, d mapping.Diff) (int64, error) {
	if d.NewUser {
		if d.Username == nil {
			return 0, errors.New("webapp: a Diff that creates a user must set the username")
		}
		var id int64
		err := t.q.QueryRowContext(ctx, `INSERT INTO webapp_users (email, username, site_admin, service_account) VALUES ($1, $2, $3, $4) RETURNING id`,
			nameID, d.Username.To, d.SiteAdmin != nil && d.SiteAdmin.To, d.ServiceAccount != nil && d.ServiceAccount.To).Scan(&id)
		return id, err
	}
	var id int64
	err := t.q.QueryRowContext(ctx, `SELECT id FROM webapp_users WHERE id::text = $1 AND email = $2`, d.User, nameID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("webapp: stale diff: user %q is not the one NameID %q identifies", d.User, nameID)
	}
	return id, err
}

// execOne runs a statement that must change exactly one row; otherwise the
// Diff no longer fits the stored data.
func (t *pgTx) execOne(ctx context.Context, what, query string, args ...any) error {
	res, err := t.q.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("webapp: %s: %w", what, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("webapp: stale diff: %s changed %d rows, want 1", what, n)
	}
	return nil
}

// scanTeams reads the rows of a teams query and closes them.
func scanTeams(rows *sql.Rows) ([]mapping.Team, error) {
	var out []mapping.Team
	for rows.Next() {
		var t mapping.Team
		if err := rows.Scan(&t.ID, &t.Org, &t.Name, &t.SSOTeamID, &t.Owners, &t.Members); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, t)
	}
	return out, errors.Join(rows.Err(), rows.Close())
}
