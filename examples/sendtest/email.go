package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/siteadmin/integrations"
	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/smtpx"
)

const emailUsage = `usage: sendtest email -host H [-port P] [-tls starttls|tls|none] [-auth none|plain|login]
                      [-username U] [-ca FILE] [-server-name NAME] [-allow-insecure-auth]
                      -sender ADDR -to ADDR [-timeout 30s] [-attempts 3] [-retry-wait 1s]

Sends a test email with the given SMTP settings, as the admin page's
"Send test email to" button does, and prints one JSON line:

  {"ok":true,"id":MESSAGE_ID,"attempts":N}
  {"ok":false,"error":{"code":C,"message":M,"temporary":B},"attempts":N}

The password comes from SMTP_PASSWORD. Error codes: settings (with
"fields":{NAME:PROBLEM}), dial, tls, auth, rejected, temporary, timeout
(also on Ctrl-C). Temporary failures are tried again, up to -attempts in
all, within -timeout. The steps (connected, TLS, authenticated, accepted)
go to stderr. Exit status: 0 sent, 1 not sent, 2 invalid settings or usage.

`

// runEmail is the "email" subcommand: it reads the flags in args and the
// password through getenv, sends a test email with smtpx.SendTest
// (again while the failure is temporary), prints one JSON line to stdout
// and the steps to stderr, and returns the exit status: 0 sent, 1 not
// sent, 2 invalid settings or usage.
func runEmail(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("email", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, emailUsage)
		fs.PrintDefaults()
	}
	host := fs.String("host", "", "the SMTP server's host name or IP address (required)")
	port := fs.Int("port", 0, "the server's port (default 465 with -tls tls, else 587)")
	tlsMode := fs.String("tls", "", `"starttls" (required STARTTLS), "tls" (implicit TLS) or "none" (default tls on port 465, else starttls)`)
	auth := fs.String("auth", "none", `"none", "plain" or "login"`)
	username := fs.String("username", "", "the AUTH username; the password comes from SMTP_PASSWORD")
	caFile := fs.String("ca", "", "a PEM file of CA certificates to trust instead of the system's")
	serverName := fs.String("server-name", "", "the name the server's certificate must carry (default -host)")
	insecure := fs.Bool("allow-insecure-auth", false, "allow AUTH over an unencrypted connection (-tls none)")
	sender := fs.String("sender", "", "the sender: a bare address such as noreply@example.com (required)")
	to := fs.String("to", "", "the recipient: a bare address (required)")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long, attempts included")
	attempts := fs.Int("attempts", 3, "how many times to try while the failure is temporary")
	retryWait := fs.Duration("retry-wait", time.Second, "the wait before the second attempt, doubled for each later one")
	if code, done := parseFlags(fs, args, stdout); done {
		return code
	}
	words := emailVocabulary()
	invalid := func(fields map[string]string) int {
		for field, value := range map[string]string{"to": *to, "sender": *sender} {
			if p, ok := fields[field]; ok {
				fields[field] = plainAddress(value, p)
			}
		}
		e := words.settingsError(fields)
		fmt.Fprintf(stderr, "sendtest: %s\n", e.Message)
		return printResult(stdout, exitInvalid, result{Error: e})
	}

	fields := map[string]string{}
	if *port == 0 {
		*port = 587
		if *tlsMode == string(smtpx.TLSImplicit) {
			*port = 465
		}
	}
	cfg := smtpx.Config{
		Settings: smtpx.Settings{
			Enabled:        true,
			Sender:         *sender,
			Host:           *host,
			Port:           *port,
			Authentication: smtpx.Auth(*auth),
			Username:       *username,
			TLS:            smtpx.TLSMode(*tlsMode),
		},
		ServerName:        *serverName,
		AllowInsecureAuth: *insecure,
	}
	if cfg.Settings.Authentication != smtpx.AuthNone && cfg.Settings.Authentication != "" {
		cfg.Settings.Password = integrations.Secret(getenv("SMTP_PASSWORD"))
	}
	if *caFile != "" {
		pool, problem := readCAs(*caFile)
		if problem != "" {
			fields["ca"] = problem
		}
		cfg.RootCAs = pool
	}
	if *timeout <= 0 {
		fields["timeout"] = "must be positive"
	}
	if *attempts < 1 {
		fields["attempts"] = "must be at least 1"
	}
	if *retryWait < 0 {
		fields["retry-wait"] = "must not be negative"
	}
	if len(fields) > 0 {
		for name, problem := range fieldProblems(cfg.Validate()) {
			fields[name] = problem
		}
		return invalid(fields)
	}

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	wait := *retryWait
	for n := 1; ; n++ {
		rep, err := smtpx.SendTest(ctx, cfg, *to)
		if errors.Is(err, smtpx.ErrSettings) {
			// The settings step's detail names the settings' fields;
			// invalid says it in sendtest's words instead.
			fields := fieldProblems(err)
			if len(fields) == 0 {
				fields["settings"] = err.Error()
			}
			return invalid(fields)
		}
		for _, step := range rep.Steps {
			status := "ok"
			if !step.OK {
				status = "FAILED"
			}
			fmt.Fprintf(stderr, "sendtest: attempt %d: %s: %s: %s\n", n, step.Name, status, words.say(step.Detail))
		}
		if err == nil {
			return printResult(stdout, exitSent, result{OK: true, ID: rep.MessageID, Attempts: n})
		}
		if !notify.IsTemporary(err) || n >= *attempts || notify.SleepContext(ctx, wait) != nil {
			res := describeEmailError(err)
			res.Message = words.say(res.Message)
			return printResult(stdout, exitFailed, result{Error: res, Attempts: n})
		}
		wait *= 2
	}
}

func readCAs(file string) (*x509.CertPool, string) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, "cannot read the file: " + err.Error()
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, "holds no PEM certificate"
	}
	return pool, ""
}

// describeEmailError turns a failed send into the JSON error.
func describeEmailError(err error) *resultError {
	out := &resultError{Code: "temporary", Message: err.Error(), Temporary: notify.IsTemporary(err)}
	var e *smtpx.Error
	if errors.As(err, &e) {
		switch e.Code {
		case smtpx.CodeDial, smtpx.CodeTLS, smtpx.CodeAuth, smtpx.CodeRejected, smtpx.CodeTemporary, smtpx.CodeTimeout:
			out.Code = string(e.Code)
		case smtpx.CodeCanceled:
			out.Code = "timeout" // Ctrl-C: the same code as the deadline, as for sms
		case smtpx.CodeMessage:
			// The server's or the message's problem, not the settings':
			// a send that failed, exit 1, and no "fields".
			out.Code = "rejected"
		}
	}
	return out
}
