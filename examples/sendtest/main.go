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
	"fmt"
	"io"
	"os"
)

const usage = `usage: sendtest email [flags]   send a test email over SMTP
       sendtest sms [flags]     send a test SMS through Twilio
Run "sendtest email -h" or "sendtest sms -h" for the flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// run dispatches on the subcommand and returns the exit status.
func run(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) > 0 {
		switch args[0] {
		case "email":
			return runEmail(args[1:], stdout, stderr, getenv)
		case "sms":
			return runSMS(args[1:], stdout, stderr, getenv)
		}
		fmt.Fprintf(stderr, "sendtest: unknown command %q\n", args[0])
	}
	fmt.Fprint(stderr, usage)
	return 2
}
