package pgtest_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestEachDBIsAFreshSchema(t *testing.T) {
	t.Parallel()
	a, b := pgtest.DB(t), pgtest.DB(t)
	_, err := a.Exec(`CREATE TABLE t (v int)`)
	require.NoError(t, err)
	_, err = a.Exec(`INSERT INTO t VALUES (1)`)
	require.NoError(t, err)
	_, err = b.Exec(`CREATE TABLE t (v int)`)
	require.NoError(t, err, "b does not see a's table")

	var schemaA, schemaB string
	require.NoError(t, a.QueryRow(`SELECT current_schema()`).Scan(&schemaA))
	require.NoError(t, b.QueryRow(`SELECT current_schema()`).Scan(&schemaB))
	assert.NotEqual(t, schemaA, schemaB)
	assert.Regexp(t, `^pgtest_[0-9a-f]{12}$`, schemaA)
}

func TestServerIsOnLoopback(t *testing.T) {
	t.Parallel()
	db := pgtest.DB(t)
	var addr *string
	require.NoError(t, db.QueryRow(`SELECT host(inet_server_addr())`).Scan(&addr))
	if addr != nil { // nil on a Unix socket
		assert.Equal(t, "127.0.0.1", *addr)
	}
}
