package samlpg

import (
	"fmt"
	"regexp"
	"strings"
)

// identifier is what a table or schema name may be: a plain SQL
// identifier, so that no name can carry SQL with it.
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// maxTableName leaves room in PostgreSQL's 63-byte names for the suffix
// of the table's index.
const maxTableName = 63 - len("_expires_at")

// tableName is a validated, quoted, possibly schema-qualified table name.
type tableName struct {
	quoted string // "schema"."table", ready for SQL text
	index  string // the quoted name of the expiry index
}

// parseTable validates name ("table" or "schema.table") and quotes it.
// Quoting keeps the name's case, so "Replay" and "replay" are two tables.
func parseTable(name string) (tableName, error) {
	parts := strings.Split(name, ".")
	if len(parts) > 2 {
		return tableName{}, fmt.Errorf("samlpg: Config.Table %q: want table or schema.table", name)
	}
	for _, p := range parts {
		if !identifier.MatchString(p) || len(p) > maxTableName {
			return tableName{}, fmt.Errorf("samlpg: Config.Table %q: each part must be letters, digits and underscores, not starting with a digit, at most %d bytes", name, maxTableName)
		}
	}
	for i, p := range parts {
		parts[i] = `"` + p + `"`
	}
	return tableName{
		quoted: strings.Join(parts, "."),
		index:  `"` + strings.Trim(parts[len(parts)-1], `"`) + `_expires_at"`,
	}, nil
}
