package smtpx_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/smtpx"
	"github.com/siteadmin/integrations/smtpx/smtptest"
)

// A server that echoes the AUTH line (or the password) in a later reply
// must not put the password, nor the base64 that PLAIN and LOGIN send,
// into an error, a log line or SendTest's report.
func TestServerEchoNeverShowsThePassword(t *testing.T) {
	t.Parallel()
	b64 := base64.StdEncoding.EncodeToString
	plain := b64([]byte("\x00" + testUser + "\x00" + testPassword))
	login := b64([]byte(testPassword))
	forms := []string{testPassword, plain, login, strings.TrimRight(plain, "="), strings.TrimRight(login, "=")}
	for _, tc := range []struct {
		name     string
		cmd      smtptest.Command
		code     int
		enhanced string
		text     string
		auth     smtpx.Auth
		want     smtpx.Code
	}{
		{"PLAIN echoed at MAIL", smtptest.MAIL, 550, "5.7.1", "you sent AUTH PLAIN " + plain, smtpx.AuthPlain, smtpx.CodeRejected},
		{"PLAIN unpadded at RCPT", smtptest.RCPT, 451, "4.7.1", "AUTH PLAIN " + strings.TrimRight(plain, "=") + " later", smtpx.AuthPlain, smtpx.CodeTemporary},
		{"LOGIN echoed at DATA", smtptest.DATA, 554, "5.6.0", "last line was " + login, smtpx.AuthLogin, smtpx.CodeRejected},
		{"LOGIN unpadded at MAIL", smtptest.MAIL, 550, "", strings.TrimRight(login, "="), smtpx.AuthLogin, smtpx.CodeRejected},
		{"raw password at RCPT", smtptest.RCPT, 550, "5.1.1", "password " + testPassword + " is wrong here", smtpx.AuthLogin, smtpx.CodeRejected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			srv := newServer(t, smtptest.Config{})
			cfg := configFor(srv)
			cfg.Settings.Authentication = tc.auth
			cfg.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

			var texts []string
			check := func(err error) {
				t.Helper()
				var e *smtpx.Error
				require.ErrorAs(t, err, &e)
				assert.Equal(t, tc.want, e.Code, err.Error())
				assert.Equal(t, tc.code, e.Reply)
				assert.Contains(t, e.ServerText, "[redacted]", "the echo is still shown, without the secret")
				texts = append(texts, err.Error(), e.ServerText, e.Problem, fmt.Sprintf("%v %+v %#v", err, err, e))
				var se *smtp.SMTPError
				if errors.As(err, &se) {
					texts = append(texts, se.Message, se.Error())
				}
				for u := errors.Unwrap(err); u != nil; u = errors.Unwrap(u) {
					texts = append(texts, u.Error())
				}
			}

			srv.ReplyNext(tc.cmd, 1, tc.code, tc.enhanced, tc.text)
			m := newMailer(t, cfg)
			check(m.SendEmail(context.Background(), email("bob@example.net")))

			srv.ReplyNext(tc.cmd, 1, tc.code, tc.enhanced, tc.text)
			rep, err := smtpx.SendTest(context.Background(), cfg, "bob@example.net")
			check(err)
			report, jerr := json.Marshal(rep)
			require.NoError(t, jerr)
			texts = append(texts, string(report), logs.String())

			all := strings.Join(texts, "\n")
			for _, secret := range forms {
				assert.NotContains(t, all, secret)
			}
		})
	}
}
