package smtpx_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/smtpx"
	"github.com/siteadmin/integrations/smtpx/smtptest"
)

func stepNames(rep *smtpx.TestReport) []smtpx.StepName {
	var names []smtpx.StepName
	for _, s := range rep.Steps {
		names = append(names, s.Name)
	}
	return names
}

func TestSendTestSuccess(t *testing.T) {
	t.Parallel()
	srv := newServer(t, smtptest.Config{})
	cfg := configFor(srv)
	cfg.Settings.Enabled = false // the test button works before email is enabled

	rep, err := smtpx.SendTest(context.Background(), cfg, "admin@example.net")
	require.NoError(t, err)

	assert.Equal(t, []smtpx.StepName{smtpx.StepSettings, smtpx.StepConnect, smtpx.StepTLS, smtpx.StepAuth, smtpx.StepSend}, stepNames(rep))
	for _, s := range rep.Steps {
		assert.True(t, s.OK, s.Name)
		assert.NotEmpty(t, s.Detail, s.Name)
	}
	assert.Equal(t, srv.Addr(), rep.Address)
	assert.Regexp(t, `^TLS 1\.[23]$`, rep.TLSVersion)
	assert.True(t, rep.Authenticated)
	assert.True(t, rep.Accepted)
	assert.Regexp(t, `^250 2\.0\.0 `, rep.Reply)
	assert.Contains(t, rep.Steps[4].Detail, rep.Reply)

	msgs := srv.Messages()
	require.Len(t, msgs, 1)
	assert.Equal(t, rep.MessageID, msgs[0].Header.Get("Message-ID"))
	assert.Equal(t, []string{"admin@example.net"}, msgs[0].To)
	assert.Contains(t, msgs[0].Text, srv.Addr())
}

func TestSendTestFailures(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		server smtptest.Config
		edit   func(*smtpx.Config, *smtptest.Server)
		to     string
		steps  []smtpx.StepName
		code   smtpx.Code
		fields []string
	}{
		{"invalid settings and recipient", smtptest.Config{},
			func(c *smtpx.Config, _ *smtptest.Server) {
				c.Settings.Sender = "Site <noreply@example.com>"
				c.Settings.Port = 70000
				c.Settings.Password = ""
			}, "not-an-address",
			[]smtpx.StepName{smtpx.StepSettings}, smtpx.CodeSettings, []string{"sender", "port", "password", "to"}},
		{"no STARTTLS", smtptest.Config{TLS: smtptest.NoTLS},
			func(c *smtpx.Config, _ *smtptest.Server) { c.Settings.TLS = smtpx.TLSStartTLS }, "a@example.net",
			[]smtpx.StepName{smtpx.StepSettings, smtpx.StepConnect, smtpx.StepTLS}, smtpx.CodeTLS, nil},
		{"wrong password", smtptest.Config{},
			func(c *smtpx.Config, _ *smtptest.Server) { c.Settings.Password = "nope" }, "a@example.net",
			[]smtpx.StepName{smtpx.StepSettings, smtpx.StepConnect, smtpx.StepTLS, smtpx.StepAuth}, smtpx.CodeAuth, nil},
		{"recipient refused", smtptest.Config{},
			func(_ *smtpx.Config, s *smtptest.Server) { s.FailNextAt(smtptest.RCPT, 1, smtptest.Permanent) }, "a@example.net",
			[]smtpx.StepName{smtpx.StepSettings, smtpx.StepConnect, smtpx.StepTLS, smtpx.StepAuth, smtpx.StepSend}, smtpx.CodeRejected, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, tc.server)
			cfg := configFor(srv)
			tc.edit(&cfg, srv)
			rep, err := smtpx.SendTest(context.Background(), cfg, tc.to)
			var e *smtpx.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tc.code, e.Code, err.Error())
			assert.Equal(t, tc.steps, stepNames(rep))
			last := rep.Steps[len(rep.Steps)-1]
			assert.False(t, last.OK)
			assert.NotEmpty(t, last.Detail)
			for _, s := range rep.Steps[:len(rep.Steps)-1] {
				assert.True(t, s.OK, s.Name)
			}
			assert.False(t, rep.Accepted)
			var fields []string
			var walk func(error)
			walk = func(err error) {
				var fe *smtpx.FieldError
				if errors.As(err, &fe) && fe == err {
					fields = append(fields, fe.Field)
				}
				if j, ok := err.(interface{ Unwrap() []error }); ok {
					for _, e := range j.Unwrap() {
						walk(e)
					}
				} else if u := errors.Unwrap(err); u != nil {
					walk(u)
				}
			}
			walk(err)
			assert.ElementsMatch(t, tc.fields, fields)
			assert.Empty(t, srv.Messages())
			if tc.code == smtpx.CodeSettings {
				assert.False(t, notify.IsTemporary(err))
			}
		})
	}
}
