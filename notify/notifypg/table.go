package notifypg

import (
	"fmt"
	"regexp"
	"strings"
)

// identifier is what a table or schema name may be: a plain SQL
// identifier, so that no name can carry SQL with it.
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// maxTableName leaves room in PostgreSQL's 63-byte names for the suffix
// of the table's indexes.
const maxTableName = 63 - len("_dead")

// tableName is a validated, quoted, possibly schema-qualified table name.
type tableName struct {
	quoted string // "schema"."table", ready for SQL text
	base   string // the table part, unquoted, to name its indexes
}

// parseTable validates name ("table" or "schema.table") and quotes it;
// field names the setting in errors. Quoting keeps the name's case, so
// "Outbox" and "outbox" are two tables.
func parseTable(field, name string) (tableName, error) {
	parts := strings.Split(name, ".")
	if len(parts) > 2 {
		return tableName{}, fmt.Errorf("notifypg: %s %q: want table or schema.table", field, name)
	}
	for _, p := range parts {
		if !identifier.MatchString(p) || len(p) > maxTableName {
			return tableName{}, fmt.Errorf("notifypg: %s %q: each part must be letters, digits and underscores, not starting with a digit, at most %d bytes", field, name, maxTableName)
		}
	}
	for i, p := range parts {
		parts[i] = `"` + p + `"`
	}
	return tableName{
		quoted: strings.Join(parts, "."),
		base:   strings.Trim(parts[len(parts)-1], `"`),
	}, nil
}

// indexName returns the quoted name of the table's index with suffix.
func (t tableName) indexName(suffix string) string { return `"` + t.base + suffix + `"` }
