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
		assert.Contains(t, stderr.String(), "-addr", tc.arg)
		assert.Empty(t, stdout.String(), tc.arg)
	}
}
