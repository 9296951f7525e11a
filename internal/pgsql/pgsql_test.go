package pgsql_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/internal/pgsql"
)

func TestParseTable(t *testing.T) {
	t.Parallel()
	ok := map[string]string{
		"outbox":                `"outbox"`,
		"Mail.Outbox_2":         `"Mail"."Outbox_2"`,
		"_x":                    `"_x"`,
		strings.Repeat("a", 58): `"` + strings.Repeat("a", 58) + `"`,
	}
	for name, quoted := range ok {
		tb, err := pgsql.ParseTable("pkg", "Config.Table", name, len("_dead"))
		require.NoError(t, err, name)
		assert.Equal(t, quoted, tb.Quoted)
	}
	tb, err := pgsql.ParseTable("pkg", "Config.Table", "s.t", len("_dead"))
	require.NoError(t, err)
	assert.Equal(t, `"t_dead"`, tb.Index("_dead"), "indexes are named for the table, in its schema")

	for _, name := range []string{
		"", "a.b.c", "1abc", "a-b", `a"b`, "a;DROP TABLE x", "a b", "ä", ".t", "s.",
		strings.Repeat("a", 59), // no room left for the "_dead" suffix
	} {
		_, err := pgsql.ParseTable("pkg", "Config.Table", name, len("_dead"))
		assert.ErrorContains(t, err, "pkg: Config.Table", "%q", name)
	}
}
