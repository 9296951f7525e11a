package main

import (
	"bytes"
	"encoding/json"
	"net/mail"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/smtpx/smtptest"
	"github.com/siteadmin/integrations/twilio/twiliotest"
)

// -h, -help, --help and help print the usage to stderr and exit 0 with
// nothing on stdout, at the top and for each subcommand.
func TestHelpExitsZero(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"-h"}, {"-help"}, {"--help"}, {"help"}, {"email", "-h"}, {"email", "--help"}, {"sms", "-h"}, {"sms", "--help"}} {
		var stdout, stderr bytes.Buffer
		assert.Equal(t, 0, run(t.Context(), args, &stdout, &stderr, emailEnv(nil)), "%q", args)
		assert.Empty(t, stdout.String(), "%q", args)
		assert.Contains(t, stderr.String(), "usage: sendtest", "%q", args)
	}
	var stdout, stderr bytes.Buffer
	run(t.Context(), []string{"-h"}, &stdout, &stderr, emailEnv(nil))
	for _, want := range []string{"SMTP_PASSWORD", "TWILIO_AUTH_TOKEN", "TWILIO_API_KEY_SECRET", `"fields"`, "Exit status"} {
		assert.Contains(t, stderr.String(), want)
	}
}

// goWords are the transports' names for things that a sendtest user sets
// with a flag or an environment variable; no message may use them.
var goWords = []string{
	"Config.", "AllowInsecureAuth", "RootCAs", "ServerName", "authentication is", "Host and Port",
	"set tls to", "Account SID and Auth Token", "the From Number", "base URL", "API key SID",
	"Messaging Service SID is set", "angle-addr", "mail:", "password:", "auth-token:", "from-number:",
	"(to)",
}

// Every message, of invalid settings and of failed sends, names sendtest's
// own flags and environment variables.
func TestMessagesNameFlags(t *testing.T) {
	t.Parallel()
	smtp := newEmailServer(t, smtptest.Config{})
	plainSMTP := newEmailServer(t, smtptest.Config{TLS: smtptest.NoTLS})
	twilio := twiliotest.NewServer()
	t.Cleanup(twilio.Close)

	emailRun := func(srv *smtptest.Server, env map[string]string, extra ...string) []string {
		return append([]string{"email"}, append(serverArgs(t, srv), extra...)...)
	}
	smsRun := func(to string, extra ...string) []string {
		return append([]string{"sms"}, fakeArgs(twilio, to, extra...)...)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{"password missing", nil, emailRun(smtp, nil, "-auth", "plain"), []string{"SMTP_PASSWORD: is required with -auth plain", "-username: is required with -auth plain"}},
		{"password in the clear", withPassword, emailRun(plainSMTP, nil, "-auth", "login", "-username", "app"), []string{"-tls: is none", "use -tls starttls or -tls tls", "-allow-insecure-auth"}},
		{"bad auth and ca", withPassword, emailRun(smtp, nil, "-auth", "cram", "-ca", "/nonexistent/ca.pem"), []string{"-auth: must be", "-ca: cannot read the file"}},
		{"bad addresses", nil, emailRun(smtp, nil, "-sender", "noreply", "-to", "admin@"), []string{`-sender: "noreply" has no @`, `-to: "admin@" has no domain after the @`}},
		{"untrusted certificate", withPassword, emailRun(smtp, nil, "-auth", "plain", "-username", "app", "-ca", ""), []string{"give its PEM file with -ca"}},
		{"no STARTTLS", withPassword, emailRun(plainSMTP, nil, "-tls", "starttls"), []string{"use -tls tls if it expects TLS"}},
		{"no token", map[string]string{}, smsRun("+14155550100"), []string{"TWILIO_AUTH_TOKEN: is required (or -api-key-sid with TWILIO_API_KEY_SECRET)"}},
		{"no from", fakeEnv, smsRun("+14155550100", "-from", ""), []string{"-from: is required unless -messaging-service-sid is given"}},
		{"key without secret", fakeEnv, smsRun("+14155550100", "-api-key-sid", twiliotest.APIKeySID), []string{"TWILIO_API_KEY_SECRET: is required with -api-key-sid"}},
		{"credentials in the URL", fakeEnv, smsRun("+14155550100", "-base-url", "https://AC:token@api.example.com"), []string{"-base-url: must not hold credentials: give them with -account-sid and TWILIO_AUTH_TOKEN"}},
		{"bad recipient", fakeEnv, smsRun("555"), []string{"invalid recipient (-to): must start with"}},
		{"wrong token", map[string]string{"TWILIO_AUTH_TOKEN": "0000"}, smsRun("+14155550100"), []string{"Check -account-sid and TWILIO_AUTH_TOKEN (or -api-key-sid and TWILIO_API_KEY_SECRET)"}},
		{"from not owned", fakeEnv, smsRun("+14155550100", "-from", twiliotest.FromNotOwned), []string{"Check -from:"}},
		{"recipient refused by Twilio", fakeEnv, smsRun(twiliotest.ToInvalid), []string{"Check -to:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			status := run(t.Context(), tc.args, &stdout, &stderr, emailEnv(tc.env))
			require.NotEqual(t, 0, status, stdout.String())
			var line struct {
				Error struct {
					Message string            `json:"message"`
					Fields  map[string]string `json:"fields"`
				} `json:"error"`
			}
			require.NoError(t, json.Unmarshal(stdout.Bytes(), &line), stdout.String())
			told := line.Error.Message
			for _, p := range line.Error.Fields {
				told += "\n" + p
			}
			for _, want := range tc.want {
				assert.Contains(t, line.Error.Message, want)
			}
			for _, word := range goWords {
				assert.NotContains(t, told, word)
			}
		})
	}
}

// An address that net/mail refuses is explained in plain words, and what
// the explanation blames is really there.
func TestPlainAddress(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ addr, want string }{
		{"nobody", `"nobody" has no @ between the name and the domain`},
		{"@example.com", `"@example.com" has nothing before the @`},
		{"admin@", `"admin@" has no domain after the @`},
		{"a@b@example.com", `"a@b@example.com" has more than one @`},
		{".admin@example.com", "the part before the @ in \".admin@example.com\" starts with a dot"},
		{"admin.@example.com", "ends with a dot"},
		{"ad..min@example.com", "has two dots in a row"},
		{"admin@example..com", `the domain in "admin@example..com" has two dots in a row`},
		{"admin@.example.com", `the domain in "admin@.example.com" starts with a dot`},
		{"a,b@example.com", `holds ',' before the @, which an address can have only inside quotes`},
		{"a(b)@example.com", `holds '(' before the @`},
		{`a"b@example.com`, `holds '"' before the @`},
		{"admin@exa:mple.com", `holds ':'`},
	} {
		_, err := mail.ParseAddress(tc.addr)
		require.Error(t, err, "net/mail refuses %q", tc.addr)
		got := plainAddress(tc.addr, "is not a valid email address ("+strings.TrimPrefix(err.Error(), "mail: ")+"); use ...")
		assert.Contains(t, got, tc.want, tc.addr)
		assert.Contains(t, got, "write a bare address such as admin@example.com")
		assert.NotContains(t, got, "angle-addr")
	}
	other := "must not contain line breaks"
	assert.Equal(t, other, plainAddress("a\r\n@b", other), "only net/mail's words are replaced")
}

func FuzzPlainAddress(f *testing.F) {
	for _, s := range []string{"", "@", "a@", "@b", "a@b", "a..b@c", "a@b..c", "ä@ö.de", "a,b@c", "\xff@x", `"a b"@c`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		got := plainAddress(addr, "is not a valid email address (x)")
		if got == "" || strings.Contains(got, "angle-addr") || !strings.HasSuffix(got, "admin@example.com") {
			t.Fatalf("plainAddress(%q) = %q", addr, got)
		}
	})
}
