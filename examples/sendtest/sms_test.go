package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/twilio/twiliotest"
)

type smsLine struct {
	OK    bool   `json:"ok"`
	ID    string `json:"id"`
	Error *struct {
		Code      string            `json:"code"`
		Message   string            `json:"message"`
		Temporary *bool             `json:"temporary"`
		Fields    map[string]string `json:"fields"`
	} `json:"error"`
	Attempts *int `json:"attempts"`
}

// runSMSTest runs the subcommand with the fake's token in the environment
// and checks that stdout is exactly one JSON line.
func runSMSTest(t *testing.T, env map[string]string, args ...string) (smsLine, int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := runSMS(t.Context(), args, &stdout, &stderr, func(k string) string { return env[k] })
	out := stdout.String()
	require.True(t, strings.HasSuffix(out, "\n"), "a line: %q", out)
	require.Equal(t, 1, strings.Count(out, "\n"), "one line: %q", out)
	var line smsLine
	require.NoError(t, json.Unmarshal([]byte(out), &line), out)
	require.NotNil(t, line.Attempts, "attempts is always there: %s", out)
	if !line.OK {
		require.NotNil(t, line.Error, out)
		require.NotNil(t, line.Error.Temporary, out)
		require.NotEmpty(t, line.Error.Message, out)
	}
	return line, code, out + stderr.String()
}

var fakeEnv = map[string]string{"TWILIO_AUTH_TOKEN": twiliotest.AuthToken}

func fakeArgs(srv *twiliotest.Server, to string, extra ...string) []string {
	return append([]string{"-account-sid", twiliotest.AccountSID, "-from", twiliotest.FromNumber, "-to", to, "-base-url", srv.URL}, extra...)
}

func TestSMSSends(t *testing.T) {
	t.Parallel()
	srv := twiliotest.NewServer()
	t.Cleanup(srv.Close)

	line, code, _ := runSMSTest(t, fakeEnv, fakeArgs(srv, "+14155550100")...)
	assert.Equal(t, 0, code)
	assert.True(t, line.OK)
	assert.Nil(t, line.Error)
	assert.Equal(t, 1, *line.Attempts)
	msgs := srv.Messages()
	require.Len(t, msgs, 1)
	assert.Equal(t, msgs[0].SID, line.ID, `"id" is the message SID`)
	assert.Equal(t, "+14155550100", msgs[0].To)
	assert.Equal(t, twiliotest.FromNumber, msgs[0].From)

	line, code, _ = runSMSTest(t, fakeEnv, "-account-sid", twiliotest.AccountSID, "-messaging-service-sid", twiliotest.MessagingServiceSID,
		"-to", "+14155550100", "-base-url", srv.URL)
	assert.Equal(t, 0, code)
	assert.True(t, line.OK)
	assert.Equal(t, twiliotest.MessagingServiceSID, srv.Messages()[1].MessagingServiceSID)

	keyEnv := map[string]string{"TWILIO_API_KEY_SECRET": twiliotest.APIKeySecret}
	line, code, _ = runSMSTest(t, keyEnv, fakeArgs(srv, "+14155550100", "-api-key-sid", twiliotest.APIKeySID)...)
	assert.Equal(t, 0, code)
	assert.True(t, line.OK)
	assert.Equal(t, twiliotest.APIKeySID, srv.Messages()[2].Username)

	srv.TooManyRequests(1, 0)
	line, code, _ = runSMSTest(t, fakeEnv, fakeArgs(srv, "+14155550100")...)
	assert.Equal(t, 0, code)
	assert.Equal(t, 2, *line.Attempts, "a rate limit is retried")
}

// twoQuickAttempts keeps the failure tests short.
var twoQuickAttempts = []string{"-attempts", "2", "-retry-wait", "1ms"}

// sendtest sms gave up after one 503 and after one refused connection,
// while sendtest email retries (issue 14, items 5 and 9): both now try
// again while the failure is temporary, up to -attempts.
func TestSMSRetriesLikeEmail(t *testing.T) {
	t.Parallel()
	srv := twiliotest.NewServer()
	t.Cleanup(srv.Close)
	srv.ServiceUnavailable(1)
	line, code, _ := runSMSTest(t, fakeEnv, fakeArgs(srv, "+14155550100")...)
	assert.Equal(t, 0, code)
	assert.True(t, line.OK)
	assert.Equal(t, 2, *line.Attempts, "a 503 is retried with the default flags")
	assert.Len(t, srv.Messages(), 1)

	closed := twiliotest.NewServer()
	closed.Close()
	line, code, _ = runSMSTest(t, fakeEnv, append(fakeArgs(srv, "+14155550100", "-retry-wait", "1ms"), "-base-url", closed.URL)...)
	assert.Equal(t, 1, code)
	assert.Equal(t, "network", line.Error.Code)
	assert.True(t, *line.Error.Temporary)
	assert.Equal(t, 4, *line.Attempts, "a refused connection is retried, -attempts 4 by default")
	assert.Contains(t, line.Error.Message, "nothing was sent")
}

func TestSMSFailures(t *testing.T) {
	t.Parallel()
	srv := twiliotest.NewServer()
	t.Cleanup(srv.Close)
	closed := twiliotest.NewServer()
	closed.Close()

	tests := []struct {
		name       string
		env        map[string]string
		args       []string
		fault      func()
		exit       int
		code       string
		temporary  bool
		twilioCode int
		attempts   int
		fields     []string
	}{
		{"no token", map[string]string{}, fakeArgs(srv, "+14155550100"), nil, 2, "settings", false, 0, 0, []string{"auth-token"}},
		{"everything missing", map[string]string{}, nil, nil, 2, "settings", false, 0, 0, []string{"account-sid", "from-number", "auth-token", "to"}},
		{"bad account SID", fakeEnv, append(fakeArgs(srv, "+14155550100"), "-account-sid", "AC123"), nil, 2, "settings", false, 0, 0, []string{"account-sid"}},
		{"bad from", fakeEnv, append(fakeArgs(srv, "+14155550100"), "-from", "555-0100"), nil, 2, "settings", false, 0, 0, []string{"from-number"}},
		{"bad base URL", fakeEnv, append(fakeArgs(srv, "+14155550100"), "-base-url", "ftp://x"), nil, 2, "settings", false, 0, 0, []string{"base-url"}},
		{"key without secret", fakeEnv, append(fakeArgs(srv, "+14155550100"), "-api-key-sid", twiliotest.APIKeySID), nil, 2, "settings", false, 0, 0, []string{"api-key-secret"}},
		{"unknown flag", fakeEnv, append(fakeArgs(srv, "+14155550100"), "-password", "x"), nil, 2, "settings", false, 0, 0, []string{"usage"}},
		{"bad flag value", fakeEnv, append(fakeArgs(srv, "+14155550100"), "-timeout", "soon"), nil, 2, "settings", false, 0, 0, []string{"usage"}},
		{"extra argument", fakeEnv, append(fakeArgs(srv, "+14155550100"), "now"), nil, 2, "settings", false, 0, 0, []string{"usage"}},
		{"zero timeout", fakeEnv, append(fakeArgs(srv, "+14155550100"), "-timeout", "0s"), nil, 2, "settings", false, 0, 0, []string{"timeout"}},
		{"bad retry flags", fakeEnv, append(fakeArgs(srv, "+14155550100"), "-attempts", "0", "-retry-wait", "0s"), nil, 2, "settings", false, 0, 0, []string{"attempts", "retry-wait"}},
		{"to not E.164", fakeEnv, fakeArgs(srv, "(415) 555-0100"), nil, 2, "invalid_to", false, 0, 0, nil},
		{"to with CRLF", fakeEnv, fakeArgs(srv, "+1415\r\n{\"ok\":true}"), nil, 2, "invalid_to", false, 0, 0, nil},
		{"to and from", fakeEnv, append(fakeArgs(srv, "+1"), "-from", "555-0100"), nil, 2, "settings", false, 0, 0, []string{"from-number", "to"}},
		{"twilio: invalid number", fakeEnv, fakeArgs(srv, twiliotest.ToInvalid), nil, 1, "invalid_to", false, 21211, 1, nil},
		{"twilio: unverified", fakeEnv, fakeArgs(srv, twiliotest.ToUnverified), nil, 1, "unverified", false, 21608, 1, nil},
		{"twilio: opted out", fakeEnv, fakeArgs(srv, twiliotest.ToOptedOut), nil, 1, "opted_out", false, 21610, 1, nil},
		{"twilio: wrong token", map[string]string{"TWILIO_AUTH_TOKEN": "0000"}, fakeArgs(srv, "+14155550100"), nil, 1, "auth", false, 20003, 1, nil},
		{"twilio: from not owned", fakeEnv, append(fakeArgs(srv, "+14155550100"), "-from", twiliotest.FromNotOwned), nil, 1, "api", false, 21606, 1, nil},
		{"rate limited", fakeEnv, fakeArgs(srv, "+14155550100"), func() { srv.TooManyRequests(1, time.Hour) }, 1, "rate_limited", true, 20429, 1, nil},
		{"server error", fakeEnv, fakeArgs(srv, "+14155550100", twoQuickAttempts...), func() { srv.ServerError(2) }, 1, "api", true, 20500, 2, nil},
		{"proxy page", fakeEnv, fakeArgs(srv, "+14155550100", twoQuickAttempts...), func() { srv.NonJSON(2, 502) }, 1, "api", true, 0, 2, nil},
		{"connection refused", fakeEnv, append(fakeArgs(srv, "+14155550100", twoQuickAttempts...), "-base-url", closed.URL), nil, 1, "network", true, 0, 2, nil},
	}
	for _, tt := range tests {
		if tt.fault != nil {
			tt.fault()
		}
		line, code, all := runSMSTest(t, tt.env, tt.args...)
		assert.Equal(t, tt.exit, code, tt.name)
		assert.False(t, line.OK, tt.name)
		assert.Empty(t, line.ID, tt.name)
		assert.Equal(t, tt.code, line.Error.Code, "%s: %s", tt.name, line.Error.Message)
		assert.Equal(t, tt.temporary, *line.Error.Temporary, tt.name)
		assert.Equal(t, tt.attempts, *line.Attempts, tt.name)
		for _, f := range tt.fields {
			assert.Contains(t, line.Error.Fields, f, tt.name)
		}
		if tt.code == "settings" {
			assert.NotEmpty(t, line.Error.Fields, "%s: settings always come with fields", tt.name)
		} else {
			assert.Nil(t, line.Error.Fields, "%s: fields come only with settings", tt.name)
			assert.NotContains(t, all, `"fields"`, tt.name)
		}
		if tt.twilioCode != 0 {
			assert.Contains(t, line.Error.Message, "error "+strconv.Itoa(tt.twilioCode), tt.name)
		}
		assert.NotContains(t, all, twiliotest.AuthToken, tt.name)
	}
	assert.Empty(t, srv.Messages(), "nothing was sent")
}

func TestSMSTimeout(t *testing.T) {
	t.Parallel()
	srv := twiliotest.NewServer()
	t.Cleanup(srv.Close)
	srv.Slow(time.Minute)
	line, code, _ := runSMSTest(t, fakeEnv, fakeArgs(srv, "+14155550100", "-timeout", "100ms")...)
	assert.Equal(t, 1, code)
	assert.Equal(t, "timeout", line.Error.Code)
	assert.True(t, *line.Error.Temporary, "at least once, as for email")
	assert.Equal(t, 1, *line.Attempts, "no retry past -timeout")
}

// Ctrl-C (the context cancelled) reports "timeout", as email does.
func TestSMSInterrupted(t *testing.T) {
	t.Parallel()
	srv := twiliotest.NewServer()
	t.Cleanup(srv.Close)
	srv.Slow(time.Minute)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	time.AfterFunc(100*time.Millisecond, cancel)
	var stdout, stderr bytes.Buffer
	code := runSMS(ctx, fakeArgs(srv, "+14155550100"), &stdout, &stderr, func(k string) string { return fakeEnv[k] })
	assert.Equal(t, 1, code)
	var line smsLine
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &line), stdout.String())
	require.NotNil(t, line.Error, stdout.String())
	assert.Equal(t, "timeout", line.Error.Code, line.Error.Message)
	assert.Nil(t, line.Error.Fields)
}

// The line is not HTML-escaped, for sms as for email: a proxy's page
// quoted in the message reads as it is.
func TestSMSOutputNotHTMLEscaped(t *testing.T) {
	t.Parallel()
	srv := twiliotest.NewServer()
	t.Cleanup(srv.Close)
	srv.NonJSON(1, 502)
	_, code, all := runSMSTest(t, fakeEnv, fakeArgs(srv, "+14155550100", "-attempts", "1")...)
	assert.Equal(t, 1, code)
	assert.Contains(t, all, "<html>")
	assert.NotContains(t, all, `\u003c`)
}

func TestSMSHelp(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	assert.Equal(t, 0, runSMS(t.Context(), []string{"-h"}, &stdout, &stderr, func(string) string { return "" }))
	assert.Empty(t, stdout.String())
	assert.Contains(t, stderr.String(), "TWILIO_AUTH_TOKEN")
	assert.Contains(t, stderr.String(), "-account-sid")
}
