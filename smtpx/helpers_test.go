package smtpx_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/smtpx"
	"github.com/siteadmin/integrations/smtpx/smtptest"
)

const (
	testUser     = "app@example.com"
	testPassword = "correct-horse-battery-staple-9f3a"
)

// newServer starts an smtptest server that requires testUser's AUTH
// unless noAuth is set.
func newServer(t testing.TB, cfg smtptest.Config, noAuth ...bool) *smtptest.Server {
	t.Helper()
	if len(noAuth) == 0 && cfg.Username == "" {
		cfg.Username, cfg.Password = testUser, testPassword
	}
	srv := smtptest.NewServer(cfg)
	t.Cleanup(srv.Close)
	return srv
}

// configFor returns a Config that reaches srv with PLAIN auth.
func configFor(srv *smtptest.Server) smtpx.Config {
	mode := smtpx.TLSStartTLS
	switch srv.TLS() {
	case smtptest.ImplicitTLS:
		mode = smtpx.TLSImplicit
	case smtptest.NoTLS:
		mode = smtpx.TLSNone
	}
	return smtpx.Config{
		Settings: smtpx.Settings{
			Enabled:        true,
			Sender:         "noreply@example.com",
			Host:           srv.Host(),
			Port:           srv.Port(),
			Authentication: smtpx.AuthPlain,
			Username:       testUser,
			Password:       testPassword,
			TLS:            mode,
		},
		RootCAs: srv.CertPool(),
		Now:     func() time.Time { return time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC) },
	}
}

func newMailer(t testing.TB, cfg smtpx.Config) *smtpx.Mailer {
	t.Helper()
	m, err := smtpx.NewMailer(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func email(to string) notify.Email {
	return notify.Email{
		Kind:    notify.KindInvitation,
		To:      to,
		Subject: "You are invited",
		Text:    "Hello Bob,\nAlice invited you.\n",
		Key:     "invite-42",
	}
}
