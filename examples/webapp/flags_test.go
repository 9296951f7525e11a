package main

import (
	"bytes"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// -h and --help print the usage and exit 0; an unknown flag exits 2. The
// built command runs, so that the exit status is the real one.
func TestHelpExitsZero(t *testing.T) {
	t.Parallel()
	bin := t.TempDir() + "/webapp"
	build := exec.Command("go", "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, tc := range []struct {
		arg  string
		code int
	}{{"-h", 0}, {"--help", 0}, {"-help", 0}, {"-no-such-flag", 2}} {
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(bin, tc.arg)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if exit, ok := err.(*exec.ExitError); ok {
			code = exit.ExitCode()
		} else {
			require.NoError(t, err, tc.arg)
		}
		assert.Equal(t, tc.code, code, "%s: %s", tc.arg, stderr.String())
		assert.Contains(t, stderr.String(), "usage: webapp", tc.arg)
		for _, flag := range []string{"-addr", "-public-url", "-postgres", "DATABASE_URL", "-outbox-poll"} {
			assert.Contains(t, stderr.String(), flag, tc.arg)
		}
		assert.Empty(t, stdout.String(), tc.arg)
	}
}

// -public-url takes a scheme, a host and a port, nothing else: the app
// appends its own paths.
func TestCheckPublicURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want, problem string
	}{
		{in: "", want: ""},
		{in: "http://127.0.0.1:8000", want: "http://127.0.0.1:8000"},
		{in: "http://127.0.0.1:8000/", want: "http://127.0.0.1:8000"},
		{in: "https://app.example.com", want: "https://app.example.com"},
		{in: "127.0.0.1:8000", problem: "absolute http or https"},
		{in: "ftp://app.example.com", problem: "absolute http or https"},
		{in: "http://", problem: "absolute http or https"},
		{in: "/relative", problem: "absolute http or https"},
		{in: "http://app.example.com/sub", problem: "only the scheme, the host and the port"},
		{in: "http://app.example.com/?x=1", problem: "only the scheme, the host and the port"},
		{in: "http://app.example.com/#top", problem: "only the scheme, the host and the port"},
		{in: "http://user:pw@app.example.com", problem: "only the scheme, the host and the port"},
		{in: "http://app.example.com\r\nX: y", problem: "-public-url"},
		{in: "http://[::1", problem: "-public-url"},
	} {
		got, err := checkPublicURL(tc.in)
		if tc.problem != "" {
			assert.ErrorContains(t, err, tc.problem, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
}

// A bad -public-url, -outbox-poll or -postgres stops the app before it
// serves, with a message that names the flag.
func TestRunRefusesBadFlags(t *testing.T) {
	t.Parallel()
	env := func(string) string { return "" }
	for _, tc := range []struct {
		args    []string
		problem string
	}{
		{[]string{"-addr", "127.0.0.1:0", "-public-url", "app.example.com"}, "-public-url"},
		{[]string{"-addr", "127.0.0.1:0", "-outbox-poll", "0s"}, "-outbox-poll"},
		// Nothing listens on port 1: the app says so rather than start
		// without its database.
		{[]string{"-addr", "127.0.0.1:0", "-postgres", "postgres://nobody:secret-pw@127.0.0.1:1/db?connect_timeout=2"}, "-postgres postgres://nobody:xxxxx@127.0.0.1:1/db"},
	} {
		var out bytes.Buffer
		err := run(tc.args, env, &out, &out)
		require.Error(t, err, "%v", tc.args)
		assert.Contains(t, err.Error(), tc.problem)
		assert.NotContains(t, err.Error(), "secret-pw")
		assert.NotContains(t, out.String(), "webapp: open", "%v", tc.args)
	}
}
