// Command sendtest is the command-line form of the admin pages' test
// buttons: it sends a test email (SMTP) or SMS (Twilio) with the settings
// given as flags, prints one JSON line saying what happened, and exits 0
// when it was sent, 1 when it was not, 2 on invalid settings or usage.
//
//	SMTP_PASSWORD=... go run ./examples/sendtest email -host smtp.example.com -port 587 \
//		-auth plain -username app -sender noreply@example.com -to admin@example.com
//	{"ok":true,"id":"<smtpx-test-...@example.com>","attempts":1}
//
// Run "sendtest email -h" for the email flags.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
)

const usage = `usage: sendtest email [flags]   send a test email over SMTP
       sendtest sms [flags]     send a test SMS through Twilio
       sendtest -h              this help

Sends one test message with the settings given as flags, as the admin
pages' test buttons do, and prints one JSON line to stdout:

  {"ok":true,"id":ID,"attempts":N}
  {"ok":false,"error":{"code":C,"message":M,"temporary":B},"attempts":N}

with "fields":{NAME:PROBLEM} inside "error" when C is "settings" (NAME is
the settings' field, such as "password" or "from-number"; the message
names the flag or environment variable to fix). Progress goes to stderr.

Secrets come from the environment, never from flags: SMTP_PASSWORD for
email; TWILIO_AUTH_TOKEN (or TWILIO_API_KEY_SECRET with -api-key-sid) for
sms.

Exit status: 0 sent, 1 not sent, 2 invalid settings or usage; 0 for -h.
Run "sendtest email -h" or "sendtest sms -h" for the flags and codes.
`

func main() {
	// Ctrl-C ends the send as the -timeout would, reported as "timeout".
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	status := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(status)
}

// run dispatches on the subcommand and returns the exit status. With -h
// (-help, --help, help) it prints the usage to stderr and returns 0.
// Without a known subcommand it prints the usage to stderr and, like
// every other failure, one JSON line (code "settings") to stdout.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	problem := "missing command: email or sms"
	if len(args) > 0 {
		switch args[0] {
		case "email":
			return runEmail(ctx, args[1:], stdout, stderr, getenv)
		case "sms":
			return runSMS(ctx, args[1:], stdout, stderr, getenv)
		case "-h", "-help", "--help", "help":
			// Asking for help is not a failed send: no JSON line, exit 0,
			// as "sendtest email -h" does.
			fmt.Fprint(stderr, usage)
			return exitSent
		}
		problem = fmt.Sprintf("unknown command %q: use email or sms", args[0])
		fmt.Fprintf(stderr, "sendtest: %s\n", problem)
	}
	fmt.Fprint(stderr, usage)
	return printResult(stdout, exitInvalid, result{Error: usageError(problem)})
}
