// Command webapp is a small web application that uses the whole SDK on its
// bundled fakes: SAML login and logout against an embedded test IdP, team
// sync shown as the explained Diff, and admin pages for the SAML, SMTP and
// Twilio settings with their "Send test email to" and "Send Test SMS"
// boxes (wired to in-process fakes of an SMTP server and of Twilio until
// the admin points them at real ones). A test SMS takes the path of a
// two-factor code: the SDK's send limits (5 an hour to one number), then
// Twilio's signed status callbacks at /twilio/status, which the Twilio
// page shows as they arrive, with a list of the latest test SMS.
//
//	go run ./examples/webapp [-addr 127.0.0.1:8000]
//
// It listens on the loopback interface only, prints its URL, and, without
// -postgres, keeps everything in memory. The admin pages are for site admins: a SAML login
// whose user is a site admin, or the break-glass login at /login with the
// password of -break-glass-password or WEBAPP_BREAK_GLASS_PASSWORD (the
// environment keeps it out of the process list), else a random one
// printed at start.
//
// # Several instances on one PostgreSQL
//
// With -postgres URL (default: the DATABASE_URL environment variable), the
// app keeps in that database what its instances must share, and any
// number of them may run on it behind a load balancer:
//
//   - users, teams and memberships, in pgDirectory, the reference SQL
//     implementation of mapping.Store: a login locks its user (an
//     advisory lock on the NameID, then the row) and the teams it reads,
//     so two logins of one user at two instances run one after the
//     other, and the second plans from what the first wrote;
//   - the replay cache (saml/samlpg): a response accepted by one instance
//     is a replay at every other;
//   - the outbox (notify/notifypg), which a notify.Deliverer in each
//     instance drains through that instance's SMTP settings, logging each
//     email it sends. A login that creates a user queues a welcome email
//     in the login's own transaction, and the Invitations page queues a
//     batch of invitations in one transaction with their rows: all of
//     them, or, when one address is bad or already invited, none;
//   - the sessions, so that the balancer may send each request anywhere;
//   - the embedded IdP's signing key, the service provider's key pair and
//     the request-tracking cookie key, in the table webapp_keys, which the
//     first instance fills. A real host keeps such keys in its secret
//     store and gives each instance the same ones.
//
// The settings saved on the admin pages, the send limits of test SMS and
// their log stay in each instance's memory.
//
// Every instance takes the balancer's URL as -public-url: the SAML entity
// ID, the ACS URL and the test IdP's URLs derive from it, and it is the
// only host the app answers (a loopback alias of it is redirected there).
// For example, with a balancer at 127.0.0.1:8000 that passes the Host
// header on:
//
//	export DATABASE_URL=postgres://app:secret@127.0.0.1:5432/app
//	go run ./examples/webapp -addr 127.0.0.1:8001 -public-url http://127.0.0.1:8000 &
//	go run ./examples/webapp -addr 127.0.0.1:8002 -public-url http://127.0.0.1:8000 &
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "webapp:", err)
		os.Exit(2)
	}
}

const webappUsage = `usage: webapp [-addr 127.0.0.1:8000] [-public-url URL] [-postgres URL] [-break-glass-password PASSWORD]

Serves a small web application that uses the whole SDK on its bundled
fakes: SAML login at an embedded test IdP, team sync, and the admin pages
for the SAML, SMTP and Twilio settings, which only site admins reach (or
the break-glass login at /login). It listens on a loopback address only
and prints its URL.

By default it keeps everything in memory. With -postgres (or
DATABASE_URL), the directory, the sessions, the replay cache, the outbox,
the invitations and the keys live in that database, shared by every instance
started on it: run several behind a load balancer, each with the
balancer's URL as -public-url.

Exit status: 0 when stopped with Ctrl-C (or after -h), 2 on a bad flag,
when it cannot listen or cannot reach the database.

`

func run(args []string, getenv func(string) string, out, logs io.Writer) error {
	fs := flag.NewFlagSet("webapp", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8000", "listen address: a loopback host and a port (0 picks a free one)")
	publicURL := fs.String("public-url", "",
		"the URL users reach, such as a load balancer's, the same on every instance: the app's SAML entity ID, ACS URL and test IdP's URLs\n"+
			"derive from it, and it answers only requests for its host (default: the listen address's URL)")
	dsn := fs.String("postgres", "",
		"a PostgreSQL URL (postgres://user:password@host:5432/db) that keeps what every instance shares; empty: in memory (default: $DATABASE_URL)")
	poll := fs.Duration("outbox-poll", time.Second, "with -postgres: how long this instance's Deliverer waits before looking at the outbox again when nothing was due")
	password := fs.String("break-glass-password", "",
		"the password of the break-glass site admin login at /login (default: $WEBAPP_BREAK_GLASS_PASSWORD, else a random one, printed)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), webappUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil // -h printed the usage; asking for it is no failure
		}
		return err
	}
	if *password == "" {
		*password = getenv("WEBAPP_BREAK_GLASS_PASSWORD")
	}
	printPassword := *password == ""
	if printPassword {
		*password = rand.Text()
	}
	if *dsn == "" {
		*dsn = getenv("DATABASE_URL")
	}
	if *poll <= 0 {
		return fmt.Errorf("-outbox-poll %s: give a positive duration, such as 1s", *poll)
	}
	public, err := checkPublicURL(*publicURL)
	if err != nil {
		return err
	}
	l, err := listenLoopback(*addr)
	if err != nil {
		return err
	}
	listening := "http://" + l.Addr().String()
	if public == "" {
		public = listening
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg := appConfig{BaseURL: public, BreakGlassPassword: *password, OutboxPoll: *poll,
		Logger: slog.New(slog.NewTextHandler(logs, nil))}
	if *dsn != "" {
		if cfg.DB, err = openPostgres(ctx, *dsn); err != nil {
			l.Close()
			return err
		}
		defer cfg.DB.Close()
	}
	a, err := newApp(cfg)
	if err != nil {
		l.Close()
		return err
	}
	defer a.Close()
	srv := &http.Server{Handler: a, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	store := "in memory"
	if cfg.DB != nil {
		store = "on PostgreSQL, shared with every instance on the same database"
	}
	fmt.Fprintf(out, "webapp: listening on %s, %s\n", listening, store)
	fmt.Fprintf(out, "webapp: open %s/ (Ctrl-C stops it)\n", public)
	if printPassword {
		fmt.Fprintf(out, "webapp: break-glass site admin password for %s/login: %s\n", public, *password)
	}
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// checkPublicURL returns u without a trailing slash when it is an http or
// https URL with a host and nothing after it but "/": the app appends its
// paths to it. An empty u stays empty.
func checkPublicURL(u string) (string, error) {
	if u == "" {
		return "", nil
	}
	p, err := url.Parse(u)
	switch {
	case err != nil, p.Scheme != "http" && p.Scheme != "https", p.Host == "":
		return "", fmt.Errorf("-public-url %q: give an absolute http or https URL, such as http://127.0.0.1:8000", u)
	case p.User != nil, p.RawQuery != "", p.Fragment != "", p.Path != "" && p.Path != "/":
		return "", fmt.Errorf("-public-url %q: give only the scheme, the host and the port: the app serves its pages at the root", u)
	}
	return p.Scheme + "://" + p.Host, nil
}

// listenLoopback listens on addr, whose host must be a loopback address
// or "localhost": the embedded test IdP logs anyone in as anyone, site
// admins included.
func listenLoopback(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("-addr %q: %v", addr, err)
	}
	if host == "localhost" {
		addr = net.JoinHostPort("127.0.0.1", addr[len(host)+1:])
	} else if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("-addr %q: the host must be a loopback address such as 127.0.0.1; this demo app's test IdP logs anyone in as anyone", addr)
	}
	return net.Listen("tcp", addr)
}
