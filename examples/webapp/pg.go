package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"github.com/siteadmin/integrations/examples/internal/demo"
	"github.com/siteadmin/integrations/mapping"
	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/notify/notifypg"
	"github.com/siteadmin/integrations/saml/samlpg"
	"github.com/siteadmin/integrations/saml/samltest"
	"github.com/siteadmin/integrations/smtpx"
)

// With -postgres, every instance of the app that is given the same
// database shares, through it:
//
//   - the directory (users, teams, memberships): pgDirectory, seeded
//     from the sample directory by the first instance;
//   - the replay cache (samlpg), so an assertion accepted by one instance
//     is refused by every other;
//   - the outbox (notifypg), which a notify.Deliverer in each instance
//     drains through that instance's SMTP settings;
//   - the keys every instance must agree on (sharedKeys);
//   - the sessions (sessions.go), so that a balancer may send a
//     browser's requests to any instance;
//   - the invitations (invite.go).
//
// The settings saved on the admin pages, the send limits and the log of
// test SMS stay in each instance's memory.

// openPostgres opens dsn, a postgres:// URL or a key=value string, with
// pgx's database/sql driver and checks that the server answers.
func openPostgres(ctx context.Context, dsn string) (*sql.DB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("-postgres: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("-postgres %s: %w", redactDSN(dsn), err)
	}
	// A login holds one connection for its transaction, a Deliverer a
	// few more; a small pool keeps several instances within the
	// server's max_connections.
	db.SetMaxOpenConns(16)
	return db, nil
}

// redactDSN returns dsn without its password, for error messages.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return "(the connection string)"
	}
	return u.Redacted()
}

// pgParts are the app's stores on PostgreSQL.
type pgParts struct {
	db       *sql.DB
	dir      *pgDirectory
	replay   *samlpg.ReplayCache
	outbox   *notifypg.Outbox
	notifier *notify.Notifier      // queues into outbox
	counter  *notifypg.RateCounter // the send limits' counts, shared
	keys     sharedKeys
}

// newPGParts creates (or finds) every table the app keeps in db and
// returns its stores on them. Several instances may call it at once.
func newPGParts(ctx context.Context, db *sql.DB, base string, log *slog.Logger) (*pgParts, error) {
	p := &pgParts{db: db}
	var err error
	if p.keys, err = loadSharedKeys(ctx, db, base); err != nil {
		return nil, err
	}
	if p.replay, err = samlpg.New(samlpg.Config{DB: db}); err != nil {
		return nil, err
	}
	if err := p.replay.CreateSchema(ctx); err != nil {
		return nil, err
	}
	if p.outbox, err = notifypg.New(notifypg.Config{DB: db}); err != nil {
		return nil, err
	}
	if err := p.outbox.CreateSchema(ctx); err != nil {
		return nil, err
	}
	if p.counter, err = notifypg.NewRateCounter(notifypg.RateCounterConfig{DB: db}); err != nil {
		return nil, err
	}
	if err := p.counter.CreateSchema(ctx); err != nil {
		return nil, err
	}
	if p.notifier, err = notify.New(notify.Config{Outbox: p.outbox, SiteName: "webapp", Logger: log}); err != nil {
		return nil, err
	}
	seed, err := demo.Directory()
	if err != nil {
		return nil, err
	}
	if p.dir, err = newPGDirectory(ctx, db, seed.Teams(), seed.Users()); err != nil {
		return nil, err
	}
	if err := createInvitations(ctx, db); err != nil {
		return nil, err
	}
	p.dir.afterApply = func(ctx context.Context, tx *sql.Tx, nameID string, d mapping.Diff) error {
		if !d.NewUser {
			return nil
		}
		return p.outbox.Enqueue(notifypg.WithTx(ctx, tx), []notify.Message{welcomeEmail(nameID, d.Username.To, base)})
	}
	return p, nil
}

// kindWelcome is the app's own notification kind: the SDK renders the
// kinds it knows, and a host queues its own messages in the same outbox.
const kindWelcome notify.Kind = "welcome"

// welcomeEmail is the email for a user that a login created. Its key is
// random: a user created, deleted and created again is welcomed again.
func welcomeEmail(email, username, base string) notify.Message {
	var b [16]byte
	rand.Read(b[:]) // never fails since Go 1.24
	return notify.Message{Email: &notify.Email{
		Kind:    kindWelcome,
		To:      email,
		Key:     string(kindWelcome) + "." + hex.EncodeToString(b[:]),
		Subject: "Welcome to webapp",
		Text: "Hello " + username + ",\n\nyour first single sign-on login created your account, " + username + ".\n" +
			"Your teams follow your groups at the identity provider: " + base + "/diff shows what each login changed.\n",
		Headers: map[string]string{"Auto-Submitted": "auto-generated"},
	}}
}

// sharedKeys are the secrets that every instance must hold alike: the
// embedded test IdP signs with idpKey what any instance's service
// provider checks against idpCert; the service provider signs its
// requests with spKey, which any instance's IdP checks against spCert;
// and the request-tracking cookie set by one instance is read by another
// with trackerKey.
//
// The app keeps them in a table so that it can run several instances
// with no setup; a real host keeps such keys in its secret store (a
// vault, a KMS, its deployment's secrets) and gives every instance the
// same ones, never in the database beside the data they protect.
type sharedKeys struct {
	idpKey, spKey   *rsa.PrivateKey
	idpCert, spCert *x509.Certificate
	trackerKey      []byte
}

// newSharedKeys makes fresh keys: RSA-2048, self-signed certificates
// named for base's IdP and SP entity IDs, 32 random bytes for cookies.
func newSharedKeys(base string) (sharedKeys, error) {
	var k sharedKeys
	var err error
	if k.idpKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return k, err
	}
	if k.spKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return k, err
	}
	now := time.Now()
	if k.idpCert, err = samltest.NewCertificate(k.idpKey, base+"/idp/metadata", now.Add(-time.Hour), now.AddDate(10, 0, 0)); err != nil {
		return k, err
	}
	if k.spCert, err = samltest.NewCertificate(k.spKey, base+"/saml/metadata", now.Add(-time.Hour), now.AddDate(1, 0, 0)); err != nil {
		return k, err
	}
	k.trackerKey = make([]byte, 32)
	rand.Read(k.trackerKey) // never fails since Go 1.24
	return k, nil
}

// keysSchema is the table of sharedKeys: one row per key, DER or raw
// bytes.
const keysSchema = `CREATE TABLE IF NOT EXISTS webapp_keys (
	name       text PRIMARY KEY,
	value      bytea NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
)`

// keyNames are the rows of webapp_keys.
var keyNames = []string{"idp-key", "idp-cert", "sp-key", "sp-cert", "tracker-key"}

// loadSharedKeys returns the keys in webapp_keys, creating the table and
// the keys when there are none. An advisory lock held for the
// transaction makes the first of several instances started at once
// generate them, and the others wait and read them.
func loadSharedKeys(ctx context.Context, db *sql.DB, base string) (sharedKeys, error) {
	var k sharedKeys
	err := inTx(ctx, db, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('webapp_keys', 0))`); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, keysSchema); err != nil {
			return err
		}
		stored, err := readKeys(ctx, tx)
		if err != nil {
			return err
		}
		if len(stored) == 0 {
			if k, err = newSharedKeys(base); err != nil {
				return err
			}
			return insertKeys(ctx, tx, k)
		}
		k, err = parseKeys(stored)
		return err
	})
	if err != nil {
		return k, fmt.Errorf("webapp: the shared keys in webapp_keys: %w", err)
	}
	return k, nil
}

func readKeys(ctx context.Context, tx *sql.Tx) (map[string][]byte, error) {
	rows, err := tx.QueryContext(ctx, `SELECT name, value FROM webapp_keys`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var name string
		var value []byte
		if err := rows.Scan(&name, &value); err != nil {
			return nil, err
		}
		out[name] = value
	}
	return out, rows.Err()
}

func insertKeys(ctx context.Context, tx *sql.Tx, k sharedKeys) error {
	idpKey, err := x509.MarshalPKCS8PrivateKey(k.idpKey)
	if err != nil {
		return err
	}
	spKey, err := x509.MarshalPKCS8PrivateKey(k.spKey)
	if err != nil {
		return err
	}
	values := [][]byte{idpKey, k.idpCert.Raw, spKey, k.spCert.Raw, k.trackerKey}
	for i, name := range keyNames {
		if _, err := tx.ExecContext(ctx, `INSERT INTO webapp_keys (name, value) VALUES ($1, $2)`, name, values[i]); err != nil {
			return err
		}
	}
	return nil
}

// parseKeys reads the rows that insertKeys wrote. A table with only some
// of them was not written by this app: say so rather than replace keys
// that other instances may be using.
func parseKeys(stored map[string][]byte) (sharedKeys, error) {
	var k sharedKeys
	var missing []string
	for _, name := range keyNames {
		if _, ok := stored[name]; !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return k, fmt.Errorf("rows %s are missing: delete every row of webapp_keys and restart every instance, which then makes new keys", strings.Join(missing, ", "))
	}
	var err error
	if k.idpKey, err = parseRSAKey(stored["idp-key"]); err != nil {
		return k, fmt.Errorf("idp-key: %w", err)
	}
	if k.spKey, err = parseRSAKey(stored["sp-key"]); err != nil {
		return k, fmt.Errorf("sp-key: %w", err)
	}
	if k.idpCert, err = x509.ParseCertificate(stored["idp-cert"]); err != nil {
		return k, fmt.Errorf("idp-cert: %w", err)
	}
	if k.spCert, err = x509.ParseCertificate(stored["sp-cert"]); err != nil {
		return k, fmt.Errorf("sp-cert: %w", err)
	}
	if k.trackerKey = stored["tracker-key"]; len(k.trackerKey) < 32 {
		return k, errors.New("tracker-key is shorter than 32 bytes")
	}
	return k, nil
}

func parseRSAKey(der []byte) (*rsa.PrivateKey, error) {
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, err
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("a %T, not an RSA key", key)
	}
	return rk, nil
}

// inTx runs fn in one transaction and commits it when fn returns nil.
func inTx(ctx context.Context, db *sql.DB, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// savedSMTPMailer sends the outbox's emails with the SMTP settings saved
// on this instance's admin page, through one smtpx.Mailer that it
// replaces when they change, and logs each email sent.
type savedSMTPMailer struct {
	a   *app
	log *slog.Logger

	mu  sync.Mutex
	set smtpx.Settings
	m   *smtpx.Mailer
}

// errEmailOff is what a queued email meets while email sending is off: a
// temporary failure, so that it goes out once an admin turns it on.
type errEmailOff struct{}

func (errEmailOff) Error() string {
	return "email sending is off on the SMTP settings page; the message waits in the outbox"
}
func (errEmailOff) Temporary() bool { return true }

// SendEmail implements notify.Mailer.
func (s *savedSMTPMailer) SendEmail(ctx context.Context, e notify.Email) error {
	m, err := s.mailer()
	if err != nil {
		return err
	}
	if err := m.SendEmail(ctx, e); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "webapp: email sent", slog.String("kind", string(e.Kind)), slog.String("to", e.To), slog.String("key", e.Key))
	return nil
}

// mailer returns the Mailer of the saved settings.
func (s *savedSMTPMailer) mailer() (*smtpx.Mailer, error) {
	s.a.mu.RLock()
	set := s.a.smtpSet
	s.a.mu.RUnlock()
	if !set.Enabled {
		return nil, errEmailOff{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m != nil && s.set == set {
		return s.m, nil
	}
	m, err := smtpx.NewMailer(smtpx.Config{Settings: set, RootCAs: s.a.smtpRoots(set)})
	if err != nil {
		return nil, err
	}
	if s.m != nil {
		s.m.Close()
	}
	s.set, s.m = set, m
	return m, nil
}

// Close closes the current Mailer's connections.
func (s *savedSMTPMailer) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m != nil {
		s.m.Close()
		s.m = nil
	}
}
