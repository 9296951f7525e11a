package main

import (
	"bufio"
	"bytes"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/examples/internal/demo"
	"github.com/siteadmin/integrations/internal/pgtest"
	"github.com/siteadmin/integrations/mapping"
	"github.com/siteadmin/integrations/saml/samlsp"
)

// outboxPoll is the instances' -outbox-poll in this test: short, so that
// "a few polls" is a fraction of a second.
const outboxPoll = 50 * time.Millisecond

// TestTwoInstancesOneDatabase starts two webapp processes on one
// PostgreSQL schema behind a load balancer of the test's own, which sends
// each request to the instance the test names, and shows that they act
// as one app: a login started at one instance ends at the other; a
// SAMLResponse accepted by A is a replay at B; two logins of one new user
// at once, one per instance, leave what one plan computes and one welcome
// email; an invitation batch that rolls back is never sent; and the two
// Deliverers drain the shared outbox, each message sent once.
func TestTwoInstancesOneDatabase(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	require.True(t, strings.HasPrefix(dsn, "postgres://") && strings.Contains(dsn, "search_path="), "a plain postgres URL with its schema: %s", dsn)
	db := pgtest.Open(t, dsn)
	bin := buildWebapp(t)

	lb := newBalancer(t)
	var a, b *instance
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); a = startInstance(t, bin, "A", lb.url, dsn) }() // at once: one of them makes the keys and the tables
	go func() { defer wg.Done(); b = startInstance(t, bin, "B", lb.url, dsn) }()
	wg.Wait()
	require.True(t, a != nil && b != nil && !t.Failed(), "both instances started")
	lb.set(a, b)

	t.Run("shared keys", func(t *testing.T) {
		for _, path := range []string{"/idp/metadata", "/saml/metadata"} {
			atA, atB := lb.browser(t, "A").get(path), lb.browser(t, "B").get(path)
			require.Equal(t, http.StatusOK, atA.status, path)
			assert.Equal(t, atA.body, atB.body, "%s is the same at both instances", path)
		}
	})

	// Run first, on the seeded directory, so that an in-memory run of the
	// same login from the same seed must end in the same directory.
	t.Run("concurrent logins of one new user", func(t *testing.T) {
		groups := []string{"acme-developers", "globex-ops", "acme-owners", "no-such-team"}
		atA, atB := lb.browser(t, "A"), lb.browser(t, "B")
		acsA, respA := idpInitiated(t, atA, "bob@example.com", groups)
		acsB, respB := idpInitiated(t, atB, "bob@example.com", groups)
		start := make(chan struct{})
		landed := make([]page, 2)
		var wg sync.WaitGroup
		for i, login := range []struct {
			u    *user
			acs  string
			form url.Values
		}{{atA, acsA, respA}, {atB, acsB, respB}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				landed[i] = login.u.post(login.acs, login.form)
			}()
		}
		close(start)
		wg.Wait()
		created := 0
		for i, p := range landed {
			require.Equal(t, http.StatusOK, p.status, "login %d: %s", i, p.body)
			require.Equal(t, lb.url+"/diff", p.url)
			if strings.Contains(p.body, "A new user is created.") {
				created++
			}
		}
		assert.Equal(t, 1, created, "one login created bob, the other found him")

		mem, err := demo.Directory()
		require.NoError(t, err)
		cfg := samlsp.Settings{TeamSync: true}.MappingConfig()
		_, err = cfg.Sync(t.Context(), mem, mapping.Login{NameID: "bob@example.com",
			Attributes: mapping.Attributes{"MemberOf": groups, "IsServiceAccount": {"false"}}})
		require.NoError(t, err)
		assertSameDirectory(t, mem, &pgDirectory{db: db})
		var users int
		require.NoError(t, db.QueryRow(`SELECT count(*) FROM webapp_users WHERE email = 'bob@example.com'`).Scan(&users))
		assert.Equal(t, 1, users)

		keys := waitDelivered(t, db, "bob@example.com", 1)
		var welcome int
		require.NoError(t, db.QueryRow(`SELECT count(*) FROM notify_outbox WHERE message->'email'->>'Kind' = 'welcome' AND message->'email'->>'To' = 'bob@example.com'`).Scan(&welcome))
		assert.Equal(t, 1, welcome, "one welcome email queued")
		sends := countLogged("webapp: email sent", "bob@example.com", a, b)
		assert.Equal(t, map[string]int{keys[0]: 1}, sends.total, "sent once, by one instance")
		t.Logf("concurrent logins: %d of 2 created the user; 1 user row, 1 welcome email, sent by A %d, B %d times", created, len(sends.byInstance["A"]), len(sends.byInstance["B"]))
	})

	// Each instance's copy of the keys works with the other's: A's
	// service provider signs the request and sets the tracking cookie,
	// B's IdP checks the request, A's IdP signs the response, and B's
	// service provider checks it and the cookie. The session B starts is
	// A's too, and a logout at A ends it at B.
	t.Run("a login started at A ends at B", func(t *testing.T) {
		var rest atomic.Value
		rest.Store("B")
		carol := lb.browserRouted(t, func(r *http.Request) string {
			switch {
			case r.URL.Path == "/saml/login", r.URL.Path == "/idp/sso" && r.Method == http.MethodPost:
				return "A"
			default:
				return rest.Load().(string)
			}
		})
		idpPage := carol.get("/saml/login?return_to=/diff")
		require.Equal(t, http.StatusOK, idpPage.status, idpPage.body)
		require.True(t, strings.HasPrefix(idpPage.url, lb.url+"/idp/sso?SAMLRequest="), idpPage.url)
		_, form := autoPost(t, idpPage)
		form.Set("user", "carol@example.com")
		acs, resp := autoPost(t, carol.post("/idp/sso", form))
		landed := carol.post(acs, resp)
		require.Equal(t, http.StatusOK, landed.status, landed.body)
		assert.Equal(t, lb.url+"/diff", landed.url)
		assert.Contains(t, landed.body, "carol@example.com")

		rest.Store("A")
		assert.Contains(t, carol.get("/").body, "Logged in as <strong>carol@example.com</strong> (SP-initiated")
		out := carol.post("/saml/logout", nil)
		require.Equal(t, http.StatusOK, out.status, out.body)
		rest.Store("B")
		assert.Contains(t, carol.get("/").body, "Not logged in")
	})

	t.Run("a response accepted by A is a replay at B", func(t *testing.T) {
		atA, atB := lb.browser(t, "A"), lb.browser(t, "B")
		acs, resp := idpInitiated(t, atA, "alice@example.com", []string{"acme-developers"})
		first := atA.post(acs, resp)
		require.Equal(t, http.StatusOK, first.status, first.body)
		assert.Contains(t, first.body, "alice@example.com")
		again := atB.post(acs, resp)
		assert.Equal(t, http.StatusForbidden, again.status)
		assert.Contains(t, again.body, "<code>replay</code>", "refused as a replay, not for another reason")
		assert.NotContains(t, atB.get("/").body, "Logged in as")
	})

	t.Run("an invitation batch that rolls back is never sent", func(t *testing.T) {
		admin := lb.browser(t, "A")
		admin.breakGlass()
		p := admin.post("/admin/invitations", url.Values{"organization": {"acme"}, "emails": {"ann@example.com\n\n  ben@example.com \n"}})
		require.Equal(t, http.StatusOK, p.status, p.body)
		assert.Contains(t, p.body, "Invited 2")

		for _, bad := range []struct{ lines, problem string }{
			{"rb-1@example.com\nnot an address\nrb-2@example.com", `line 2, &#34;not an address&#34;`},
			{"rb-3@example.com\nANN@example.com", `line 2, &#34;ANN@example.com&#34;: already invited`},
			{"rb-4@example.com\nrb-4@example.com", `line 2, &#34;rb-4@example.com&#34;: already invited`},
		} {
			p := admin.post("/admin/invitations", url.Values{"organization": {"acme"}, "emails": {bad.lines}})
			assert.Equal(t, http.StatusUnprocessableEntity, p.status, bad.lines)
			assert.Contains(t, p.body, bad.problem)
			assert.Contains(t, p.body, "Nobody was invited")
		}

		waitDelivered(t, db, "ann@example.com", 1)
		waitDelivered(t, db, "ben@example.com", 1)
		time.Sleep(10 * outboxPoll) // both Deliverers look again, several times
		for _, rb := range []string{"rb-1@example.com", "rb-2@example.com", "rb-3@example.com", "rb-4@example.com"} {
			var queued, invited int
			require.NoError(t, db.QueryRow(`SELECT count(*) FROM notify_outbox WHERE message->'email'->>'To' = $1`, rb).Scan(&queued))
			require.NoError(t, db.QueryRow(`SELECT count(*) FROM webapp_invitations WHERE email = $1`, rb).Scan(&invited))
			assert.Zero(t, queued, rb)
			assert.Zero(t, invited, rb)
			assert.Empty(t, countLogged("webapp: email sent", rb, a, b).total, rb)
		}
		assert.Len(t, countLogged("webapp: email sent", "ann@example.com", a, b).total, 1)
		assert.Contains(t, admin.get("/admin/invitations").body, "Invitations (2)")
	})

	t.Run("both Deliverers drain the shared outbox, each message once", func(t *testing.T) {
		const n = 200
		admin := lb.browser(t, "B")
		admin.breakGlass()
		var lines []string
		for i := range n {
			lines = append(lines, fmt.Sprintf("drain-%03d@example.com", i))
		}
		began := time.Now()
		p := admin.post("/admin/invitations", url.Values{"organization": {"globex"}, "emails": {strings.Join(lines, "\n")}})
		require.Equal(t, http.StatusOK, p.status, p.body)
		require.Contains(t, p.body, fmt.Sprintf("Invited %d", n))
		queued := time.Since(began)
		keys := waitDelivered(t, db, "drain-%", n)
		drained := time.Since(began)

		sends := countLogged("webapp: email sent", "drain-", a, b) // logged before the acknowledgement
		var acks logged                                            // logged after it: wait for the last lines
		assert.Eventually(t, func() bool {
			acks = countLogged("notify: delivered", "drain-", a, b)
			return len(acks.total) >= n
		}, 5*time.Second, 10*time.Millisecond)
		assert.Len(t, sends.total, n, "every message sent")
		assert.Len(t, acks.total, n, "every message acknowledged")
		for _, k := range keys {
			assert.Equal(t, 1, sends.total[k], "message %s sent once", k)
			assert.Equal(t, 1, acks.total[k], "message %s acknowledged once", k)
		}
		sentA, sentB := len(sends.byInstance["A"]), len(sends.byInstance["B"])
		assert.Equal(t, n, sentA+sentB)
		// Draining takes several of their 50ms polls: each instance
		// wakes up meanwhile and takes its share.
		assert.Positive(t, sentA, "A's Deliverer sent some")
		assert.Positive(t, sentB, "B's Deliverer sent some")
		t.Logf("drain: %d invitations queued in one transaction in %v, all delivered %v after the post; sent by A %d, by B %d; duplicates %d",
			n, queued.Round(time.Millisecond), drained.Round(time.Millisecond), sentA, sentB, sends.sum()-len(sends.total))
	})
	t.Logf("load balancer: %d requests to A, %d to B", lb.count["A"].Load(), lb.count["B"].Load())
}

// buildWebapp builds the command into a temporary directory.
func buildWebapp(t *testing.T) string {
	t.Helper()
	bin := t.TempDir() + "/webapp"
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

// instance is one webapp process.
type instance struct {
	name string
	url  string // where it listens
	logs *lineLog
}

var listeningLine = regexp.MustCompile(`^webapp: listening on (http://\S+),`)

// startInstance starts the webapp on dsn with public URL public, waits
// until it listens, and stops it when t ends: Ctrl-C first, then a kill.
func startInstance(t *testing.T, bin, name, public, dsn string) *instance {
	t.Helper()
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-public-url", public, "-postgres", dsn, "-outbox-poll", outboxPoll.String())
	cmd.Env = append(withoutEnv(os.Environ(), "DATABASE_URL"), "WEBAPP_BREAK_GLASS_PASSWORD="+testPassword)
	cmd.SysProcAttr = childAttr()
	in := &instance{name: name, logs: &lineLog{}}
	cmd.Stderr = in.logs
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listeningLine.FindStringSubmatch(sc.Text()); m != nil {
				listening <- m[1]
			}
		}
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-exited:
			assert.NoError(t, err, "instance %s stopped on Ctrl-C with status 0", name)
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("instance %s did not stop within 10s of Ctrl-C; killed", name)
		}
	})
	select {
	case in.url = <-listening:
		return in
	case err := <-exited:
		t.Errorf("instance %s exited at start: %v\n%s", name, err, in.logs)
	case <-time.After(60 * time.Second):
		t.Errorf("instance %s did not listen within 60s\n%s", name, in.logs)
	}
	return nil
}

func withoutEnv(env []string, name string) []string {
	var out []string
	for _, e := range env {
		if !strings.HasPrefix(e, name+"=") {
			out = append(out, e)
		}
	}
	return out
}

// lineLog collects a process's log lines.
type lineLog struct {
	mu      sync.Mutex
	partial []byte
	lines   []string
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		l.lines = append(l.lines, string(l.partial[:i]))
		l.partial = l.partial[i+1:]
	}
}

func (l *lineLog) Lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

func (l *lineLog) String() string { return strings.Join(l.Lines(), "\n") }

// logged counts log lines by message key, per instance and in all.
type logged struct {
	byInstance map[string]map[string]int
	total      map[string]int
}

func (l logged) sum() int {
	n := 0
	for _, c := range l.total {
		n += c
	}
	return n
}

// slogLine matches a line of slog's text handler about one message, as
// the Deliverer and the app's mailer write them.
var slogLine = regexp.MustCompile(`msg="([^"]+)".* to=(\S+) key=(\S+)`)

// countLogged counts the lines with message msg whose recipient starts
// with to, in the logs of the instances.
func countLogged(msg, to string, instances ...*instance) logged {
	out := logged{byInstance: map[string]map[string]int{}, total: map[string]int{}}
	for _, in := range instances {
		out.byInstance[in.name] = map[string]int{}
		for _, line := range in.logs.Lines() {
			m := slogLine.FindStringSubmatch(line)
			if m == nil || m[1] != msg || !strings.HasPrefix(m[2], to) {
				continue
			}
			out.byInstance[in.name][m[3]]++
			out.total[m[3]]++
		}
	}
	return out
}

// waitDelivered waits until n messages whose recipient is LIKE to are
// delivered in the outbox, and returns their keys.
func waitDelivered(t *testing.T, db *sql.DB, to string, n int) []string {
	t.Helper()
	var keys []string
	require.Eventually(t, func() bool {
		rows, err := db.Query(`SELECT key FROM notify_outbox WHERE message->'email'->>'To' LIKE $1 AND state = 'delivered' ORDER BY key`, to)
		if err != nil {
			return false
		}
		defer rows.Close()
		keys = keys[:0]
		for rows.Next() {
			var k string
			if rows.Scan(&k) == nil {
				keys = append(keys, k)
			}
		}
		return rows.Err() == nil && len(keys) >= n
	}, 30*time.Second, 20*time.Millisecond, "%d messages to %s delivered", n, to)
	assert.Len(t, keys, n, "messages to %s", to)
	return keys
}

// balancer is the test's load balancer: it keeps the Host header, as
// the instances answer only their public URL's host, and sends each
// request to the instance named in its routeHeader.
type balancer struct {
	url     string
	mu      sync.Mutex
	targets map[string]*url.URL
	count   map[string]*atomic.Int64
}

const routeHeader = "X-Test-Instance"

func newBalancer(t *testing.T) *balancer {
	lb := &balancer{targets: map[string]*url.URL{}, count: map[string]*atomic.Int64{"A": {}, "B": {}}}
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(lb.target(pr.In.Header.Get(routeHeader)))
		pr.Out.Host = pr.In.Host
		pr.Out.Header.Del(routeHeader)
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.Header.Get(routeHeader)
		if lb.target(name) == nil {
			http.Error(w, "the test named no instance for this request", http.StatusBadGateway)
			return
		}
		lb.count[name].Add(1)
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	lb.url = srv.URL
	return lb
}

func (lb *balancer) set(instances ...*instance) {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	for _, in := range instances {
		u, _ := url.Parse(in.url)
		lb.targets[in.name] = u
	}
}

func (lb *balancer) target(name string) *url.URL {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	return lb.targets[name]
}

// browser returns a browser at the balancer's URL whose requests all go
// to the instance name.
func (lb *balancer) browser(t *testing.T, name string) *user {
	return lb.browserRouted(t, func(*http.Request) string { return name })
}

// browserRouted returns a browser at the balancer's URL whose requests go
// to the instance that route names.
func (lb *balancer) browserRouted(t *testing.T, route func(*http.Request) string) *user {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.Header.Set(routeHeader, route(r))
		return http.DefaultTransport.RoundTrip(r)
	})
	return &user{t: t, c: &http.Client{Jar: jar, Transport: rt}, base: lb.url}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// idpInitiated logs email in at the embedded IdP with groups, as an
// IdP-initiated login that lands on /diff, and returns the form the IdP
// would post to the ACS, without posting it.
func idpInitiated(t *testing.T, u *user, email string, groups []string) (string, url.Values) {
	t.Helper()
	p := u.post("/idp/sso", url.Values{"user": {email}, "groups": groups, "relay_state": {"/diff"}})
	require.Equal(t, http.StatusOK, p.status, p.body)
	return autoPost(t, p)
}
