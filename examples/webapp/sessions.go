package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"sync"
)

// sessionStore keeps the logged-in browsers by the ID in their cookie: in
// memory, or with -postgres in a table that every instance reads, so that
// a load balancer may send each request to any instance.
type sessionStore interface {
	// put records s under id.
	put(ctx context.Context, id string, s *session) error
	// get returns the session of id, or nil.
	get(ctx context.Context, id string) (*session, error)
	// take deletes the session of id and returns it, or nil.
	take(ctx context.Context, id string) (*session, error)
	// endIdP deletes every SAML session of nameID, or only those of the
	// IdP sessions listed in indexes when there are any.
	endIdP(ctx context.Context, nameID string, indexes []string) error
}

// memSessions is a sessionStore in memory. The zero value is empty.
type memSessions struct {
	mu   sync.Mutex
	byID map[string]*session
}

func (m *memSessions) put(ctx context.Context, id string, s *session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.byID == nil {
		m.byID = map[string]*session{}
	}
	m.byID[id] = s
	return nil
}

func (m *memSessions) get(ctx context.Context, id string) (*session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.byID[id], nil
}

func (m *memSessions) take(ctx context.Context, id string) (*session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.byID[id]
	delete(m.byID, id)
	return s, nil
}

func (m *memSessions) endIdP(ctx context.Context, nameID string, indexes []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, s := range m.byID {
		if s.ofIdP(nameID, indexes) {
			delete(m.byID, id)
		}
	}
	return nil
}

// ofIdP reports whether s is a SAML session of nameID, and of one of the
// IdP sessions in indexes when there are any.
func (s *session) ofIdP(nameID string, indexes []string) bool {
	return !s.BreakGlass && s.NameID.Value == nameID && (len(indexes) == 0 || slices.Contains(indexes, s.SessionIndex))
}

// pgSessions is a sessionStore in the webapp_sessions table. A row is
// keyed by the SHA-256 of the cookie's ID, so that reading the table
// does not let anyone log in as its browsers, and lasts a day at most.
type pgSessions struct{ db *sql.DB }

const sessionsSchema = `
CREATE TABLE IF NOT EXISTS webapp_sessions (
	id_hash       text PRIMARY KEY,  -- hex SHA-256 of the cookie's value
	name_id       text NOT NULL,     -- '' for a break-glass session
	session_index text NOT NULL,
	data          json NOT NULL,     -- the session
	created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS webapp_sessions_name_id ON webapp_sessions (name_id);
CREATE INDEX IF NOT EXISTS webapp_sessions_created_at ON webapp_sessions (created_at);
`

// sessionLifetime is how long a session in PostgreSQL lasts.
const sessionLifetime = `interval '24 hours'`

func newPGSessions(ctx context.Context, db *sql.DB) (*pgSessions, error) {
	err := inTx(ctx, db, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('webapp_sessions', 0))`); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, sessionsSchema)
		return err
	})
	if err != nil {
		return nil, errors.Join(errors.New("webapp: the sessions table"), err)
	}
	return &pgSessions{db: db}, nil
}

func idHash(id string) string {
	h := sha256.Sum256([]byte(id))
	return hex.EncodeToString(h[:])
}

func (p *pgSessions) put(ctx context.Context, id string, s *session) error {
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	// Each login also deletes the sessions that have expired.
	if _, err := p.db.ExecContext(ctx, `DELETE FROM webapp_sessions WHERE created_at < now() - `+sessionLifetime); err != nil {
		return err
	}
	nameID := ""
	if !s.BreakGlass {
		nameID = s.NameID.Value
	}
	_, err = p.db.ExecContext(ctx, `INSERT INTO webapp_sessions (id_hash, name_id, session_index, data) VALUES ($1, $2, $3, $4)`,
		idHash(id), nameID, s.SessionIndex, string(data))
	return err
}

func (p *pgSessions) get(ctx context.Context, id string) (*session, error) {
	var data []byte
	err := p.db.QueryRowContext(ctx, `SELECT data FROM webapp_sessions WHERE id_hash = $1 AND created_at >= now() - `+sessionLifetime, idHash(id)).Scan(&data)
	return decodeSession(data, err)
}

func (p *pgSessions) take(ctx context.Context, id string) (*session, error) {
	var data []byte
	err := p.db.QueryRowContext(ctx, `DELETE FROM webapp_sessions WHERE id_hash = $1 RETURNING data`, idHash(id)).Scan(&data)
	return decodeSession(data, err)
}

func decodeSession(data []byte, err error) (*session, error) {
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s session
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

func (p *pgSessions) endIdP(ctx context.Context, nameID string, indexes []string) error {
	if nameID == "" {
		return nil // never a break-glass session
	}
	if len(indexes) == 0 {
		_, err := p.db.ExecContext(ctx, `DELETE FROM webapp_sessions WHERE name_id = $1`, nameID)
		return err
	}
	_, err := p.db.ExecContext(ctx, `DELETE FROM webapp_sessions WHERE name_id = $1 AND session_index = ANY($2)`, nameID, indexes)
	return err
}
