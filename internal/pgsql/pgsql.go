// Package pgsql holds what saml/samlpg and notify/notifypg share: table
// names that a host configures, validated and quoted before they reach SQL
// text, and the creation of a schema that several instances may run at
// once. It imports only database/sql, like its two users.
package pgsql

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"
)

// identifier is what a table or schema name may be: a plain SQL
// identifier, so that no name can carry SQL with it.
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Table is a validated, quoted, possibly schema-qualified table name.
type Table struct {
	// Quoted is "schema"."table", ready for SQL text.
	Quoted string
	base   string // the table part, unquoted, to name its indexes
}

// ParseTable validates name ("table" or "schema.table") and quotes it.
// Each part must leave room for the longest index suffix the caller adds
// within PostgreSQL's 63-byte names. Errors start with "pkg: field".
// Quoting keeps the name's case, so "Outbox" and "outbox" are two tables.
func ParseTable(pkg, field, name string, longestSuffix int) (Table, error) {
	max := 63 - longestSuffix
	parts := strings.Split(name, ".")
	if len(parts) > 2 {
		return Table{}, fmt.Errorf("%s: %s %q: want table or schema.table", pkg, field, name)
	}
	for _, p := range parts {
		if !identifier.MatchString(p) || len(p) > max {
			return Table{}, fmt.Errorf("%s: %s %q: each part must be letters, digits and underscores, not starting with a digit, at most %d bytes", pkg, field, name, max)
		}
	}
	for i, p := range parts {
		parts[i] = `"` + p + `"`
	}
	return Table{Quoted: strings.Join(parts, "."), base: strings.Trim(parts[len(parts)-1], `"`)}, nil
}

// Index returns the quoted name of the table's index with suffix.
func (t Table) Index(suffix string) string { return `"` + t.base + suffix + `"` }

// CreateSchema runs stmts in one transaction under the advisory lock
// lock, since two concurrent CREATE TABLE IF NOT EXISTS can still collide
// when instances start together. Errors start with "pkg: creating the
// schema".
func CreateSchema(ctx context.Context, db *sql.DB, pkg string, lock int64, stmts []string) error {
	err := func() error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, lock); err != nil {
			return err
		}
		for _, s := range stmts {
			if _, err := tx.ExecContext(ctx, s); err != nil {
				return err
			}
		}
		return tx.Commit()
	}()
	if err != nil {
		return fmt.Errorf("%s: creating the schema: %w", pkg, err)
	}
	return nil
}
