package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/smtpx"
	"github.com/siteadmin/integrations/smtpx/smtptest"
)

const emailPassword = "s3cret-Pa55-for-sendtest"

// emailEnv is the environment runEmail sees.
func emailEnv(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

type emailRun struct {
	status         int
	stdout, stderr string
	line           map[string]any
}

func runEmailTest(t *testing.T, env map[string]string, args ...string) emailRun {
	t.Helper()
	var stdout, stderr bytes.Buffer
	status := run(t.Context(), append([]string{"email"}, args...), &stdout, &stderr, emailEnv(env))
	r := emailRun{status: status, stdout: stdout.String(), stderr: stderr.String()}
	require.Equal(t, 1, bytes.Count(stdout.Bytes(), []byte("\n")), "exactly one line: %q", r.stdout)
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &r.line), r.stdout)
	assert.NotContains(t, r.stdout+r.stderr, emailPassword)
	return r
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// serverArgs returns the flags that reach srv, trusting its CA.
func serverArgs(t *testing.T, srv *smtptest.Server) []string {
	t.Helper()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(ca, srv.CACertPEM(), 0o600))
	mode := map[smtptest.TLSMode]string{smtptest.StartTLS: "starttls", smtptest.ImplicitTLS: "tls", smtptest.NoTLS: "none"}[srv.TLS()]
	return []string{"-host", srv.Host(), "-port", strconv.Itoa(srv.Port()), "-tls", mode, "-ca", ca,
		"-sender", "noreply@example.com", "-to", "admin@example.net", "-retry-wait", "1ms"}
}

func newEmailServer(t *testing.T, cfg smtptest.Config) *smtptest.Server {
	t.Helper()
	if cfg.Username == "" {
		cfg.Username, cfg.Password = "app", emailPassword
	}
	srv := smtptest.NewServer(cfg)
	t.Cleanup(srv.Close)
	return srv
}

var withPassword = map[string]string{"SMTP_PASSWORD": emailPassword}

func TestEmailSends(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		mode  smtptest.TLSMode
		extra []string
	}{
		{"starttls plain", smtptest.StartTLS, []string{"-auth", "plain"}},
		{"implicit tls login", smtptest.ImplicitTLS, []string{"-auth", "login"}},
		{"none with opt-in", smtptest.NoTLS, []string{"-auth", "plain", "-allow-insecure-auth"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newEmailServer(t, smtptest.Config{TLS: tc.mode, AllowInsecureAuth: true})
			args := append(serverArgs(t, srv), append(tc.extra, "-username", "app")...)

			r := runEmailTest(t, withPassword, args...)

			assert.Equal(t, 0, r.status, r.stdout+r.stderr)
			assert.Equal(t, []string{"attempts", "id", "ok"}, keys(r.line))
			assert.Equal(t, true, r.line["ok"])
			assert.Equal(t, float64(1), r.line["attempts"])
			msgs := srv.Messages()
			require.Len(t, msgs, 1)
			assert.Equal(t, msgs[0].Header.Get("Message-ID"), r.line["id"])
			assert.Equal(t, []string{"admin@example.net"}, msgs[0].To)
			assert.Equal(t, "app", msgs[0].AuthUser)
			assert.Contains(t, r.stderr, "send: ok: accepted: 250")
			assert.Regexp(t, `^\{"ok":true,"id":"<smtpx-test-[0-9a-f]+@example\.com>","attempts":1\}\n$`, r.stdout)
		})
	}
}

// An ESC sequence in a server's 535 printed raw on stderr, where a
// terminal would obey it (issue 14, item 7).
func TestEmailServerTextReachesTheTerminalInert(t *testing.T) {
	t.Parallel()
	srv := newEmailServer(t, smtptest.Config{})
	srv.ReplyNext(smtptest.AUTH, 1, 535, "5.7.8", "denied\x1b]0;pwned\x07\x1b[2J\x1b[31m")
	r := runEmailTest(t, withPassword, append(serverArgs(t, srv), "-auth", "plain", "-username", "app")...)
	assert.Equal(t, 1, r.status)
	assert.Contains(t, r.stderr, "auth: FAILED")
	assert.Contains(t, r.stderr, "denied ]0;pwned [2J [31m")
	assert.NotContains(t, r.stderr, "\x1b")
	assert.NotContains(t, r.stderr, "\x07")
	assert.NotContains(t, r.stdout, `\u001b`, "the JSON message is printable too")
}

func TestEmailFailures(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		server    smtptest.Config
		inject    func(*smtptest.Server)
		env       map[string]string
		args      []string
		status    int
		code      string
		temporary bool
		attempts  float64
		fields    []string
	}{
		{"wrong password", smtptest.Config{}, nil, map[string]string{"SMTP_PASSWORD": "nope-" + emailPassword[:4]},
			[]string{"-auth", "plain", "-username", "app"}, 1, "auth", false, 1, nil},
		{"recipient refused", smtptest.Config{}, func(s *smtptest.Server) { s.FailNextAt(smtptest.RCPT, 1, smtptest.Permanent) }, withPassword,
			[]string{"-auth", "plain", "-username", "app"}, 1, "rejected", false, 1, nil},
		{"temporary then accepted", smtptest.Config{}, func(s *smtptest.Server) { s.FailNext(1, smtptest.Temporary) }, withPassword,
			[]string{"-auth", "plain", "-username", "app"}, 0, "", false, 2, nil},
		{"temporary every time", smtptest.Config{}, func(s *smtptest.Server) { s.FailNext(5, smtptest.Temporary) }, withPassword,
			[]string{"-auth", "plain", "-username", "app", "-attempts", "2"}, 1, "temporary", true, 2, nil},
		{"dropped mid-DATA", smtptest.Config{}, func(s *smtptest.Server) { s.FailNext(5, smtptest.Drop) }, withPassword,
			[]string{"-auth", "plain", "-username", "app", "-attempts", "1"}, 1, "temporary", true, 1, nil},
		{"stalled server", smtptest.Config{}, func(s *smtptest.Server) { s.FailNextAt(smtptest.MAIL, 1, smtptest.Stall) }, withPassword,
			[]string{"-auth", "plain", "-username", "app", "-timeout", "200ms"}, 1, "timeout", true, 1, nil},
		{"no STARTTLS", smtptest.Config{TLS: smtptest.NoTLS}, nil, withPassword,
			[]string{"-auth", "plain", "-username", "app", "-tls", "starttls"}, 1, "tls", false, 1, nil},
		{"untrusted certificate", smtptest.Config{}, nil, withPassword,
			[]string{"-auth", "plain", "-username", "app", "-ca", ""}, 1, "tls", false, 1, nil},
		{"nothing listening", smtptest.Config{}, func(s *smtptest.Server) { s.Close() }, withPassword,
			[]string{"-auth", "plain", "-username", "app"}, 1, "dial", true, 3, nil},
		{"settings", smtptest.Config{}, nil, nil,
			[]string{"-auth", "plain", "-sender", "Site <noreply@example.com>", "-port", "70000", "-to", "nobody"},
			2, "settings", false, 0, []string{"password", "port", "sender", "to", "username"}},
		{"password without TLS", smtptest.Config{TLS: smtptest.NoTLS}, nil, withPassword,
			[]string{"-auth", "login", "-username", "app"}, 2, "settings", false, 0, []string{"tls"}},
		{"bad CA file", smtptest.Config{}, nil, withPassword,
			[]string{"-ca", "/nonexistent/ca.pem", "-auth", "bogus"}, 2, "settings", false, 0, []string{"authentication", "ca"}},
		{"missing host", smtptest.Config{}, nil, nil,
			[]string{"-host", ""}, 2, "settings", false, 0, []string{"host"}},
		{"unknown flag", smtptest.Config{}, nil, nil, []string{"-bogus"}, 2, "settings", false, 0, []string{"usage"}},
		{"bad flag value", smtptest.Config{}, nil, nil, []string{"-port", "many"}, 2, "settings", false, 0, []string{"usage"}},
		{"extra argument", smtptest.Config{}, nil, nil, []string{"extra"}, 2, "settings", false, 0, []string{"usage"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newEmailServer(t, tc.server)
			args := append(serverArgs(t, srv), tc.args...)
			if tc.inject != nil {
				tc.inject(srv)
			}

			r := runEmailTest(t, tc.env, args...)

			assert.Equal(t, tc.status, r.status, r.stdout+r.stderr)
			assert.Equal(t, tc.attempts, r.line["attempts"])
			if tc.status == 0 {
				assert.Equal(t, true, r.line["ok"])
				assert.Len(t, srv.Messages(), 1)
				return
			}
			assert.Equal(t, []string{"attempts", "error", "ok"}, keys(r.line))
			assert.Equal(t, false, r.line["ok"])
			e := r.line["error"].(map[string]any)
			want := []string{"code", "message", "temporary"}
			require.Equal(t, tc.code == "settings", tc.fields != nil, "fields come with settings, and only with settings")
			if tc.fields != nil {
				want = append(want, "fields")
				sort.Strings(want)
				var got []string
				for name := range e["fields"].(map[string]any) {
					got = append(got, name)
				}
				sort.Strings(got)
				assert.Equal(t, tc.fields, got)
			}
			assert.Equal(t, want, keys(e))
			assert.Equal(t, tc.code, e["code"], e["message"])
			assert.Equal(t, tc.temporary, e["temporary"])
			assert.NotEmpty(t, e["message"])
		})
	}
}

// Without a known subcommand, sendtest still prints its one JSON line
// (settings, with the usage problem in "fields"); the usage goes to stderr.
func TestUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{nil, {"fax"}, {"-to", "+14155550100"}} {
		var stdout, stderr bytes.Buffer
		assert.Equal(t, 2, run(t.Context(), args, &stdout, &stderr, emailEnv(nil)), "%q", args)
		assert.Contains(t, stderr.String(), "usage: sendtest email")
		require.Equal(t, 1, strings.Count(stdout.String(), "\n"), "one line: %q", stdout.String())
		var line map[string]any
		require.NoError(t, json.Unmarshal(stdout.Bytes(), &line), stdout.String())
		assert.Equal(t, []string{"attempts", "error", "ok"}, keys(line))
		assert.Equal(t, false, line["ok"])
		assert.Equal(t, float64(0), line["attempts"])
		e := line["error"].(map[string]any)
		assert.Equal(t, []string{"code", "fields", "message", "temporary"}, keys(e))
		assert.Equal(t, "settings", e["code"])
		assert.Equal(t, false, e["temporary"])
		assert.Equal(t, []string{"usage"}, keys(e["fields"].(map[string]any)))
		if len(args) > 0 {
			assert.Contains(t, e["message"], args[0])
		}
	}

	var stdout, stderr bytes.Buffer
	assert.Equal(t, 0, run(t.Context(), []string{"email", "-h"}, &stdout, &stderr, emailEnv(nil)))
	assert.Contains(t, stderr.String(), "SMTP_PASSWORD")
	assert.Empty(t, stdout.String(), "asking for help is not a failed send")
}

// Ctrl-C (the context cancelled) reports "timeout", as sms does.
func TestEmailInterrupted(t *testing.T) {
	t.Parallel()
	srv := newEmailServer(t, smtptest.Config{})
	srv.FailNextAt(smtptest.MAIL, 1, smtptest.Stall)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	time.AfterFunc(100*time.Millisecond, cancel)
	var stdout, stderr bytes.Buffer
	args := append([]string{"email"}, append(serverArgs(t, srv), "-auth", "plain", "-username", "app")...)
	status := run(ctx, args, &stdout, &stderr, emailEnv(withPassword))
	assert.Equal(t, 1, status, stdout.String()+stderr.String())
	var line struct {
		Error struct {
			Code   string         `json:"code"`
			Fields map[string]any `json:"fields"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &line), stdout.String())
	assert.Equal(t, "timeout", line.Error.Code, stdout.String())
	assert.Nil(t, line.Error.Fields)
}

// A message the server or smtpx refuses is a failed send ("rejected",
// exit 1), not invalid settings: "settings" would promise "fields".
func TestDescribeEmailError(t *testing.T) {
	t.Parallel()
	for code, want := range map[smtpx.Code]string{
		smtpx.CodeMessage:   "rejected",
		smtpx.CodeRejected:  "rejected",
		smtpx.CodeCanceled:  "timeout",
		smtpx.CodeTimeout:   "timeout",
		smtpx.CodeDial:      "dial",
		smtpx.CodeTLS:       "tls",
		smtpx.CodeAuth:      "auth",
		smtpx.CodeTemporary: "temporary",
	} {
		e := describeEmailError(&smtpx.Error{Code: code, Problem: "p"})
		assert.Equal(t, want, e.Code, code)
		assert.Nil(t, e.Fields, code)
	}
}
