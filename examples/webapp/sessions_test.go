package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/internal/pgtest"
	"github.com/siteadmin/integrations/saml"
)

// Both session stores keep, return, end and forget sessions alike; the
// PostgreSQL one keeps no cookie value in its table.
func TestSessionStores(t *testing.T) {
	t.Parallel()
	for name, newStore := range map[string]func(t *testing.T) sessionStore{
		"memory": func(t *testing.T) sessionStore { return &memSessions{} },
		"postgres": func(t *testing.T) sessionStore {
			s, err := newPGSessions(t.Context(), pgtest.DB(t))
			require.NoError(t, err)
			return s
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			st := newStore(t)
			alice := func(index string) *session {
				return &session{NameID: saml.NameID{Value: "alice@example.com", Format: "email"}, SessionIndex: index,
					Attributes: saml.Attributes{"MemberOf": {"ops", "dev"}}, Diff: "Nothing changes.\n", DiffEmpty: true, Via: "SP-initiated"}
			}
			require.NoError(t, st.put(ctx, "id-1", alice("s1")))
			require.NoError(t, st.put(ctx, "id-2", alice("s2")))
			require.NoError(t, st.put(ctx, "id-3", alice("s3")))
			require.NoError(t, st.put(ctx, "id-admin", &session{BreakGlass: true}))

			got, err := st.get(ctx, "id-1")
			require.NoError(t, err)
			assert.Equal(t, alice("s1"), got)
			for _, unknown := range []string{"", "id-4", "ID-1", "id-1 ", "' OR 1=1 --"} {
				got, err := st.get(ctx, unknown)
				require.NoError(t, err)
				assert.Nil(t, got, "%q", unknown)
			}

			// An IdP logout of one IdP session ends only that one; of
			// none in particular, every session of the user.
			require.NoError(t, st.endIdP(ctx, "alice@example.com", []string{"s2"}))
			for id, want := range map[string]bool{"id-1": true, "id-2": false, "id-3": true, "id-admin": true} {
				got, err := st.get(ctx, id)
				require.NoError(t, err)
				assert.Equal(t, want, got != nil, id)
			}
			require.NoError(t, st.endIdP(ctx, "", nil)) // never the break-glass session
			require.NoError(t, st.endIdP(ctx, "alice@example.com", nil))
			for id, want := range map[string]bool{"id-1": false, "id-3": false, "id-admin": true} {
				got, err := st.get(ctx, id)
				require.NoError(t, err)
				assert.Equal(t, want, got != nil, id)
			}

			taken, err := st.take(ctx, "id-admin")
			require.NoError(t, err)
			assert.Equal(t, &session{BreakGlass: true}, taken)
			taken, err = st.take(ctx, "id-admin")
			require.NoError(t, err)
			assert.Nil(t, taken, "taken once")

			if pg, ok := st.(*pgSessions); ok {
				require.NoError(t, pg.put(ctx, "cookie-value", alice("s9")))
				var n int
				require.NoError(t, pg.db.QueryRow(`SELECT count(*) FROM webapp_sessions WHERE id_hash = 'cookie-value' OR data::text LIKE '%cookie-value%'`).Scan(&n))
				assert.Zero(t, n, "the table holds only the hash of a cookie")
			}
		})
	}
}
