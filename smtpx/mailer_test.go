package smtpx_test

import (
	"context"
	"crypto/tls"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/smtpx"
	"github.com/siteadmin/integrations/smtpx/smtptest"
)

func TestSendEachTLSModeAndMechanism(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		tls  smtptest.TLSMode
		auth smtpx.Auth
	}{
		{"starttls plain", smtptest.StartTLS, smtpx.AuthPlain},
		{"starttls login", smtptest.StartTLS, smtpx.AuthLogin},
		{"implicit plain", smtptest.ImplicitTLS, smtpx.AuthPlain},
		{"implicit login", smtptest.ImplicitTLS, smtpx.AuthLogin},
		{"none insecure plain", smtptest.NoTLS, smtpx.AuthPlain},
		{"none insecure login", smtptest.NoTLS, smtpx.AuthLogin},
		{"starttls no auth", smtptest.StartTLS, smtpx.AuthNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var srv *smtptest.Server
			if tc.auth == smtpx.AuthNone {
				srv = newServer(t, smtptest.Config{TLS: tc.tls}, true)
			} else {
				srv = newServer(t, smtptest.Config{TLS: tc.tls, AllowInsecureAuth: true})
			}
			cfg := configFor(srv)
			cfg.Settings.Authentication = tc.auth
			cfg.AllowInsecureAuth = tc.tls == smtptest.NoTLS
			m := newMailer(t, cfg)

			require.NoError(t, m.SendEmail(context.Background(), email("bob@example.net")))

			msgs := srv.Messages()
			require.Len(t, msgs, 1)
			got := msgs[0]
			assert.Equal(t, "noreply@example.com", got.From)
			assert.Equal(t, []string{"bob@example.net"}, got.To)
			assert.Equal(t, "You are invited", got.Subject)
			assert.Equal(t, "Hello Bob,\nAlice invited you.\n", got.Text)
			assert.Equal(t, "<invite-42@example.com>", got.Header.Get("Message-ID"))
			if tc.tls == smtptest.NoTLS {
				assert.Zero(t, got.TLSVersion)
			} else {
				assert.GreaterOrEqual(t, got.TLSVersion, uint16(tls.VersionTLS12))
			}
			if tc.auth != smtpx.AuthNone {
				assert.Equal(t, testUser, got.AuthUser)
			}
		})
	}
}
