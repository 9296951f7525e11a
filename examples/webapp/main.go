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
// It listens on the loopback interface only, prints its URL, and keeps
// everything in memory. The admin pages are for site admins: a SAML login
// whose user is a site admin, or the break-glass login at /login with the
// password of -break-glass-password or WEBAPP_BREAK_GLASS_PASSWORD (the
// environment keeps it out of the process list), else a random one
// printed at start.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "webapp:", err)
		os.Exit(2)
	}
}

const webappUsage = `usage: webapp [-addr 127.0.0.1:8000] [-break-glass-password PASSWORD]

Serves a small web application that uses the whole SDK on its bundled
fakes: SAML login at an embedded test IdP, team sync, and the admin pages
for the SAML, SMTP and Twilio settings, which only site admins reach (or
the break-glass login at /login). It listens on a loopback address only,
prints its URL, and keeps everything in memory. Exit status: 0 when
stopped with Ctrl-C (or after -h), 2 on a bad flag or when it cannot listen.

`

func run(args []string, getenv func(string) string, out io.Writer) error {
	fs := flag.NewFlagSet("webapp", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8000", "listen address: a loopback host and a port (0 picks a free one)")
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
	l, err := listenLoopback(*addr)
	if err != nil {
		return err
	}
	base := "http://" + l.Addr().String()
	a, err := newApp(appConfig{BaseURL: base, BreakGlassPassword: *password})
	if err != nil {
		l.Close()
		return err
	}
	defer a.Close()
	srv := &http.Server{Handler: a, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	fmt.Fprintf(out, "webapp: open %s/ (Ctrl-C stops it)\n", base)
	if printPassword {
		fmt.Fprintf(out, "webapp: break-glass site admin password for %s/login: %s\n", base, *password)
	}
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
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
