// Package pgtest gives the module's tests a real PostgreSQL server.
//
// The server is, in order of preference:
//
//  1. the one at INTEGRATIONS_TEST_POSTGRES, a URL such as
//     postgres://user@127.0.0.1:5432/db?sslmode=disable;
//  2. a throwaway server started for the test binary from the binaries of
//     Debian's postgresql package (/usr/lib/postgresql/*/bin): initdb in a
//     temporary directory, listening on 127.0.0.1 at a free port with its
//     socket in that directory, fsync off, run as the postgres user when
//     the tests run as root, and stopped when the tests end;
//  3. none: the test is skipped with a message that says how to get one,
//     or fails when CI=true.
//
// Every DB or DSN call gets a schema of its own, so tests never see each
// other's tables and may run in parallel. A test package uses it as
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		db := pgtest.DB(t) // a fresh, empty schema on the search_path
//		...
//	}
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// EnvURL names the environment variable that points the tests at an
// existing server instead of a throwaway one.
const EnvURL = "INTEGRATIONS_TEST_POSTGRES"

// howToGet is the skip message when there is no server.
const howToGet = "no PostgreSQL for this test: install Debian's server package " +
	"(apt-get install postgresql) so the tests can start a throwaway server, " +
	"or set " + EnvURL + "=postgres://user@127.0.0.1:5432/db?sslmode=disable"

// server is the one server of this test binary. It is package state
// because TestMain and the tests share it, as testing.M and testing.T
// offer no other place; Main stops it.
var (
	mu     sync.Mutex
	srv    *server
	tried  bool
	failed error
)

type server struct {
	url   string  // a database on it, as a URL
	admin *sql.DB // creates and drops the per-test schemas
	stop  func()  // stops a throwaway server; nil for an existing one
}

// Main runs the tests of m and stops the throwaway server, if one was
// started, before exiting with the tests' status. Call it from TestMain.
// The server is started only when a test first asks for it.
func Main(m *testing.M) {
	code := m.Run()
	mu.Lock()
	if srv != nil {
		srv.admin.Close()
		if srv.stop != nil {
			srv.stop()
		}
		srv = nil
	}
	mu.Unlock()
	os.Exit(code)
}

// DSN returns the URL of a fresh, empty schema on the server, as the only
// entry of the search_path (a connection parameter that pgx and lib/pq
// both pass on), and drops the schema when tb ends. Pass it to child
// processes that must share the test's tables. It skips tb when there is
// no server (fails it when CI=true).
func DSN(tb testing.TB) string {
	tb.Helper()
	s := get(tb)
	schema := "pgtest_" + randomHex(6)
	if _, err := s.admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		tb.Fatalf("pgtest: creating schema %s: %v", schema, err)
	}
	tb.Cleanup(func() {
		// Best effort: a throwaway server is deleted anyway.
		_, _ = s.admin.Exec(`DROP SCHEMA IF EXISTS ` + schema + ` CASCADE`)
	})
	u, err := url.Parse(s.url)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// DB returns a *sql.DB (driver pgx) on a fresh, empty schema, closed when
// tb ends. It skips tb when there is no server (fails it when CI=true).
func DB(tb testing.TB) *sql.DB {
	tb.Helper()
	return Open(tb, DSN(tb))
}

// Open returns a *sql.DB for dsn (driver pgx), closed when tb ends. It
// allows at most 10 open connections, so that many parallel tests stay
// within the server's max_connections.
func Open(tb testing.TB, dsn string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	db.SetMaxOpenConns(10)
	tb.Cleanup(func() { db.Close() })
	return db
}

// get returns the server, starting or finding it on first use.
func get(tb testing.TB) *server {
	tb.Helper()
	mu.Lock()
	defer mu.Unlock()
	if !tried {
		tried = true
		srv, failed = find()
	}
	switch {
	case failed != nil:
		tb.Fatalf("pgtest: %v", failed)
	case srv == nil && os.Getenv("CI") == "true":
		tb.Fatalf("pgtest: CI=true and %s", howToGet)
	case srv == nil:
		tb.Skip(howToGet)
	}
	return srv
}

// find connects to EnvURL, or starts a throwaway server, or returns
// (nil, nil) when neither is possible.
func find() (*server, error) {
	if u := os.Getenv(EnvURL); u != "" {
		if _, err := url.Parse(u); err != nil || !strings.HasPrefix(u, "postgres") {
			return nil, fmt.Errorf("%s must be a postgres:// URL", EnvURL)
		}
		admin, err := connect(u)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvURL, err)
		}
		return &server{url: u, admin: admin}, nil
	}
	bin := binDir()
	if bin == "" {
		return nil, nil
	}
	return startThrowaway(bin)
}

func connect(u string) (*sql.DB, error) {
	db, err := sql.Open("pgx", u)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	db.SetMaxOpenConns(2)
	return db, nil
}

// binDir returns the newest /usr/lib/postgresql/*/bin holding the server
// binaries, or "".
func binDir() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d
		}
	}
	return ""
}

func versionOf(bin string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(bin)))
	return v
}

// startThrowaway initializes and starts a server in a temporary directory.
// A watchdog process stops it and deletes the directory when this process
// exits, even when it is killed, so no server outlives its tests.
func startThrowaway(bin string) (*server, error) {
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, err
	}
	asPostgres := os.Geteuid() == 0 // initdb and postgres refuse to run as root
	if asPostgres {
		if err := chownToPostgres(dir); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	pg := func(name string, args ...string) *exec.Cmd {
		path := filepath.Join(bin, name)
		if asPostgres {
			return exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
		}
		return exec.Command(path, args...)
	}
	if out, err := pg("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v: %s", err, lastLines(out))
	}
	stop, err := watchdog(pg("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"), dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	var startErr error
	for range 5 { // a free port may be taken between our check and the start
		port, err := freePort()
		if err != nil {
			stop()
			return nil, err
		}
		opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -c port=%d -c unix_socket_directories='%s' "+
			"-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300", port, dir)
		out, err := pg("pg_ctl", "-D", data, "-l", filepath.Join(dir, "server.log"), "-w", "-t", "60", "-o", opts, "start").CombinedOutput()
		if err != nil {
			log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
			startErr = fmt.Errorf("pg_ctl start: %v: %s %s", err, lastLines(out), lastLines(log))
			continue
		}
		u := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
		admin, err := connect(u)
		if err != nil {
			stop()
			return nil, err
		}
		return &server{url: u, admin: admin, stop: stop}, nil
	}
	stop()
	return nil, startErr
}

// watchdog starts a shell that waits for its standard input to close,
// which happens when the returned stop is called or when this process
// dies however it dies, then runs stopCmd and deletes dir. The shell has
// a process group of its own, so a Ctrl-C that ends the tests leaves it
// running to clean up.
func watchdog(stopCmd *exec.Cmd, dir string) (stop func(), err error) {
	script := `read _ignored; "$@" >/dev/null 2>&1; rm -rf "$0"`
	w := exec.Command("sh", append([]string{"-c", script, dir}, stopCmd.Args...)...)
	w.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := w.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := w.Start(); err != nil {
		return nil, err
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			stdin.Close()
			_ = w.Wait()
		})
	}, nil
}

func chownToPostgres(dir string) error {
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("running as root needs the postgres user (from the postgresql package): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return os.Chown(dir, uid, gid)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func lastLines(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-5):], "\n")
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		panic(errors.Join(errors.New("pgtest: no randomness"), err))
	}
	return hex.EncodeToString(b)
}

// Schema creates a schema of its own whose name starts with prefix and
// has a capital letter (to test quoting), and drops it when tb ends: a
// schema-qualified table in it stays apart from every parallel test's,
// since schemas belong to the whole database.
func Schema(tb testing.TB, db *sql.DB, prefix string) string {
	tb.Helper()
	name := prefix + "_" + randomHex(6)
	if _, err := db.Exec(`CREATE SCHEMA "` + name + `"`); err != nil {
		tb.Fatalf("pgtest: creating schema %s: %v", name, err)
	}
	tb.Cleanup(func() { _, _ = db.Exec(`DROP SCHEMA IF EXISTS "` + name + `" CASCADE`) })
	return name
}
