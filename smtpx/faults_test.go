package smtpx_test

import (
	"context"
	"errors"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/smtpx"
	"github.com/siteadmin/integrations/smtpx/smtptest"
)

func TestServerFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		inject    func(*smtptest.Server)
		code      smtpx.Code
		sentinel  error
		command   string
		reply     int
		enhanced  string
		temporary bool
	}{
		{"451 at DATA", func(s *smtptest.Server) { s.FailNext(1, smtptest.Temporary) },
			smtpx.CodeTemporary, smtpx.ErrTemporary, "DATA", 451, "4.3.0", true},
		{"554 at DATA", func(s *smtptest.Server) { s.FailNext(1, smtptest.Permanent) },
			smtpx.CodeRejected, smtpx.ErrRejected, "DATA", 554, "5.6.0", false},
		{"451 at MAIL", func(s *smtptest.Server) { s.FailNextAt(smtptest.MAIL, 1, smtptest.Temporary) },
			smtpx.CodeTemporary, smtpx.ErrTemporary, "MAIL", 451, "4.3.0", true},
		{"550 at MAIL", func(s *smtptest.Server) { s.FailNextAt(smtptest.MAIL, 1, smtptest.Permanent) },
			smtpx.CodeRejected, smtpx.ErrRejected, "MAIL", 550, "5.7.1", false},
		{"451 at RCPT", func(s *smtptest.Server) { s.FailNextAt(smtptest.RCPT, 1, smtptest.Temporary) },
			smtpx.CodeTemporary, smtpx.ErrTemporary, "RCPT", 451, "4.3.0", true},
		{"550 at RCPT", func(s *smtptest.Server) { s.FailNextAt(smtptest.RCPT, 1, smtptest.Permanent) },
			smtpx.CodeRejected, smtpx.ErrRejected, "RCPT", 550, "5.1.1", false},
		{"custom 452 at RCPT", func(s *smtptest.Server) { s.ReplyNext(smtptest.RCPT, 1, 452, "4.2.2", "mailbox full") },
			smtpx.CodeTemporary, smtpx.ErrTemporary, "RCPT", 452, "4.2.2", true},
		{"drop mid-DATA", func(s *smtptest.Server) { s.FailNext(1, smtptest.Drop) },
			smtpx.CodeTemporary, smtpx.ErrTemporary, "DATA", 0, "", true},
		{"drop at MAIL", func(s *smtptest.Server) { s.FailNextAt(smtptest.MAIL, 1, smtptest.Drop) },
			smtpx.CodeTemporary, smtpx.ErrTemporary, "MAIL", 0, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, smtptest.Config{})
			m := newMailer(t, configFor(srv))
			tc.inject(srv)

			err := m.SendEmail(context.Background(), email("bob@example.net"))

			var e *smtpx.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tc.code, e.Code, err.Error())
			assert.ErrorIs(t, err, tc.sentinel)
			assert.Equal(t, tc.command, e.Command)
			assert.Equal(t, tc.reply, e.Reply)
			assert.Equal(t, tc.enhanced, e.EnhancedCode)
			assert.Equal(t, tc.temporary, e.Temporary())
			assert.Equal(t, tc.temporary, notify.IsTemporary(err))
			assert.Empty(t, srv.Messages(), "a failed message is not recorded")

			// The fault is used up: the next message goes through.
			require.NoError(t, m.SendEmail(context.Background(), email("bob@example.net")))
			assert.Len(t, srv.Messages(), 1)
		})
	}
}

func TestDeadlines(t *testing.T) {
	t.Parallel()
	t.Run("context deadline while the server stalls", func(t *testing.T) {
		t.Parallel()
		for _, cmd := range []smtptest.Command{smtptest.MAIL, smtptest.RCPT, smtptest.DATA} {
			srv := newServer(t, smtptest.Config{})
			m := newMailer(t, configFor(srv))
			srv.FailNextAt(cmd, 1, smtptest.Stall)
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			err := m.SendEmail(ctx, email("bob@example.net"))
			cancel()
			var e *smtpx.Error
			require.ErrorAs(t, err, &e, cmd)
			assert.Equal(t, smtpx.CodeTimeout, e.Code, err.Error())
			assert.Equal(t, string(cmd), e.Command)
			assert.ErrorIs(t, err, context.DeadlineExceeded)
			assert.True(t, e.Temporary())
		}
	})
	t.Run("Config.Timeout while the server stalls", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, smtptest.Config{})
		cfg := configFor(srv)
		cfg.Timeout = 100 * time.Millisecond
		m := newMailer(t, cfg)
		srv.FailNextAt(smtptest.RCPT, 1, smtptest.Stall)
		err := m.SendEmail(context.Background(), email("bob@example.net"))
		assert.ErrorIs(t, err, smtpx.ErrTimeout)
		assert.True(t, notify.IsTemporary(err))
	})
	t.Run("canceled", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, smtptest.Config{})
		m := newMailer(t, configFor(srv))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := m.SendEmail(ctx, email("bob@example.net"))
		assert.ErrorIs(t, err, smtpx.ErrCanceled)
		assert.ErrorIs(t, err, context.Canceled)
		assert.True(t, notify.IsTemporary(err), "a canceled send may be retried")
	})
	t.Run("slow server within the deadline", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, smtptest.Config{})
		m := newMailer(t, configFor(srv))
		srv.SetDelay(20 * time.Millisecond)
		require.NoError(t, m.SendEmail(context.Background(), email("bob@example.net")))
		assert.Len(t, srv.Messages(), 1)
	})
}

func TestTLSFailures(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		server  smtptest.TLSMode
		edit    func(*smtpx.Config)
		code    smtpx.Code
		problem string
	}{
		{"starttls required but not offered", smtptest.NoTLS,
			func(c *smtpx.Config) { c.Settings.TLS = smtpx.TLSStartTLS },
			smtpx.CodeTLS, "does not offer STARTTLS"},
		{"untrusted certificate (starttls)", smtptest.StartTLS,
			func(c *smtpx.Config) { c.RootCAs = nil },
			smtpx.CodeTLS, "does not trust; if the CA is private, give it in Config.RootCAs"},
		{"untrusted certificate (implicit)", smtptest.ImplicitTLS,
			func(c *smtpx.Config) { c.RootCAs = nil },
			smtpx.CodeTLS, "Config.RootCAs"},
		{"wrong server name", smtptest.StartTLS,
			func(c *smtpx.Config) { c.ServerName = "mail.example.org" },
			smtpx.CodeTLS, `not valid for "mail.example.org"; set Host`},
		{"implicit TLS against a plain server", smtptest.StartTLS,
			func(c *smtpx.Config) { c.Settings.TLS = smtpx.TLSImplicit },
			smtpx.CodeTLS, "TLS handshake failed"},
		{"starttls against an implicit TLS server", smtptest.ImplicitTLS,
			func(c *smtpx.Config) { c.Settings.TLS = smtpx.TLSStartTLS; c.Timeout = 100 * time.Millisecond },
			smtpx.CodeTimeout, "did not answer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, smtptest.Config{TLS: tc.server, AllowInsecureAuth: true})
			cfg := configFor(srv)
			tc.edit(&cfg)
			m := newMailer(t, cfg)
			err := m.SendEmail(context.Background(), email("bob@example.net"))
			var e *smtpx.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tc.code, e.Code, err.Error())
			assert.Contains(t, err.Error(), tc.problem)
			assert.Empty(t, srv.Messages())
		})
	}
}

func TestServerName(t *testing.T) {
	t.Parallel()
	srv := newServer(t, smtptest.Config{})
	cfg := configFor(srv)
	cfg.ServerName = "localhost" // the certificate's DNS name, while Host is an IP
	m := newMailer(t, cfg)
	require.NoError(t, m.SendEmail(context.Background(), email("bob@example.net")))
}

func TestAuthFailures(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		server    smtptest.Config
		edit      func(*smtpx.Config)
		code      smtpx.Code
		reply     int
		problem   string
		temporary bool
	}{
		{"wrong password, PLAIN", smtptest.Config{},
			func(c *smtpx.Config) { c.Settings.Password = "wrong-Pa55word" },
			smtpx.CodeAuth, 535, `refused username "app@example.com"`, false},
		{"wrong password, LOGIN", smtptest.Config{},
			func(c *smtpx.Config) {
				c.Settings.Password = "wrong-Pa55word"
				c.Settings.Authentication = smtpx.AuthLogin
			},
			smtpx.CodeAuth, 535, "check username and password", false},
		{"wrong username", smtptest.Config{},
			func(c *smtpx.Config) { c.Settings.Username = "mallory" },
			smtpx.CodeAuth, 535, `"mallory"`, false},
		{"mechanism not offered", smtptest.Config{Mechanisms: []string{"LOGIN"}},
			func(c *smtpx.Config) {},
			smtpx.CodeAuth, 0, "does not offer AUTH PLAIN (it offers LOGIN)", false},
		{"no AUTH at all", smtptest.Config{Username: "", Password: ""},
			func(c *smtpx.Config) {},
			smtpx.CodeAuth, 0, "does not offer authentication", false},
		{"server requires AUTH the settings skip", smtptest.Config{},
			func(c *smtpx.Config) { c.Settings.Authentication = smtpx.AuthNone },
			smtpx.CodeAuth, 530, "requires authentication", false},
		{"no AUTH offered without TLS", smtptest.Config{TLS: smtptest.NoTLS},
			func(c *smtpx.Config) { c.AllowInsecureAuth = true },
			smtpx.CodeAuth, 0, "does not offer authentication", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var srv *smtptest.Server
			if tc.server.Username == "" && tc.name == "no AUTH at all" {
				srv = newServer(t, tc.server, true)
			} else {
				srv = newServer(t, tc.server)
			}
			cfg := configFor(srv)
			tc.edit(&cfg)
			m := newMailer(t, cfg)
			err := m.SendEmail(context.Background(), email("bob@example.net"))
			var e *smtpx.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tc.code, e.Code, err.Error())
			assert.ErrorIs(t, err, smtpx.ErrAuth)
			assert.Equal(t, tc.reply, e.Reply)
			assert.Contains(t, err.Error(), tc.problem)
			assert.Equal(t, tc.temporary, e.Temporary())
			assert.NotContains(t, err.Error(), "wrong-Pa55word")
			assert.NotContains(t, err.Error(), testPassword)
		})
	}
}

// A 534 at AUTH said "check username and password", and a 530 at MAIL
// after a successful AUTH said "set authentication to plain or login"
// (issue 14, item 8): the problem now says what the reply means.
func TestAuthRepliesSayWhatHappened(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		inject    func(*smtptest.Server)
		edit      func(*smtpx.Config)
		code      smtpx.Code
		command   string
		reply     int
		want      string
		wantNot   string
		temporary bool
	}{
		{"534 mechanism too weak",
			func(s *smtptest.Server) {
				s.ReplyNext(smtptest.AUTH, 1, 534, "5.7.9", "Authentication mechanism is too weak")
			},
			func(*smtpx.Config) {}, smtpx.CodeAuth, "AUTH", 534, "refused AUTH PLAIN as too weak", "check username and password", false},
		{"538 encryption required",
			func(s *smtptest.Server) { s.ReplyNext(smtptest.AUTH, 1, 538, "5.7.11", "Encryption required") },
			func(c *smtpx.Config) { c.Settings.TLS, c.AllowInsecureAuth = smtpx.TLSNone, true },
			smtpx.CodeAuth, "AUTH", 538, "only over an encrypted connection", "check username and password", false},
		{"535 wrong credentials",
			func(s *smtptest.Server) { s.FailNextAt(smtptest.AUTH, 1, smtptest.Permanent) },
			func(*smtpx.Config) {}, smtpx.CodeAuth, "AUTH", 535, "check username and password", "", false},
		{"454 try later",
			func(s *smtptest.Server) {
				s.ReplyNext(smtptest.AUTH, 1, 454, "4.7.0", "Temporary authentication failure")
			},
			func(*smtpx.Config) {}, smtpx.CodeAuth, "AUTH", 454, "a later attempt may succeed", "check username and password", true},
		{"530 at MAIL after AUTH",
			func(s *smtptest.Server) { s.ReplyNext(smtptest.MAIL, 1, 530, "5.7.0", "Authentication required") },
			func(*smtpx.Config) {}, smtpx.CodeAuth, "MAIL", 530, `although this connection authenticated as "app@example.com"`, "set authentication to", false},
		{"530 at MAIL without AUTH",
			func(s *smtptest.Server) {},
			func(c *smtpx.Config) { c.Settings.Authentication = smtpx.AuthNone },
			smtpx.CodeAuth, "MAIL", 530, "set authentication to plain or login", "although", false},
		{"530 STARTTLS first",
			func(s *smtptest.Server) {
				s.ReplyNext(smtptest.MAIL, 1, 530, "5.7.0", "Must issue a STARTTLS command first")
			},
			func(c *smtpx.Config) { c.Settings.TLS, c.Settings.Authentication = smtpx.TLSNone, smtpx.AuthNone },
			smtpx.CodeTLS, "MAIL", 530, "set tls to starttls", "set authentication to", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := smtptest.Config{}
			if tc.name == "538 encryption required" || tc.name == "530 STARTTLS first" {
				cfg.TLS, cfg.AllowInsecureAuth = smtptest.NoTLS, true
			}
			var srv *smtptest.Server
			if tc.name == "530 STARTTLS first" {
				srv = newServer(t, cfg, true) // no AUTH: the injected 530 is the only one
			} else {
				srv = newServer(t, cfg)
			}
			tc.inject(srv)
			mc := configFor(srv)
			tc.edit(&mc)
			err := newMailer(t, mc).SendEmail(context.Background(), email("bob@example.net"))
			var e *smtpx.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tc.code, e.Code, err.Error())
			assert.Equal(t, tc.command, e.Command)
			assert.Equal(t, tc.reply, e.Reply)
			assert.Contains(t, err.Error(), tc.want)
			if tc.wantNot != "" {
				assert.NotContains(t, err.Error(), tc.wantNot)
			}
			assert.Equal(t, tc.temporary, e.Temporary())
		})
	}
}

// A server's reply with an ESC sequence printed raw on sendtest's stderr
// (issue 14, item 7): control and format characters from the server
// never reach an error's text.
func TestServerTextIsPrintable(t *testing.T) {
	t.Parallel()
	hostile := "bad \x1b[2J\x1b[31mcredentials\x07 \u202eevil\r\x00 \xff end"
	for _, tc := range []struct {
		name   string
		inject func(*smtptest.Server)
	}{
		{"535 at AUTH", func(s *smtptest.Server) { s.ReplyNext(smtptest.AUTH, 1, 535, "5.7.8", hostile) }},
		{"550 at MAIL", func(s *smtptest.Server) { s.ReplyNext(smtptest.MAIL, 1, 550, "5.7.1", hostile) }},
		{"452 at RCPT", func(s *smtptest.Server) { s.ReplyNext(smtptest.RCPT, 1, 452, "", hostile) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, smtptest.Config{})
			tc.inject(srv)
			cfg := configFor(srv)
			rep, err := smtpx.SendTest(context.Background(), cfg, "bob@example.net")
			var e *smtpx.Error
			require.ErrorAs(t, err, &e)
			texts := []string{err.Error(), e.ServerText, e.Problem}
			for _, step := range rep.Steps {
				texts = append(texts, step.Detail)
			}
			for _, text := range texts {
				for _, r := range text {
					assert.False(t, unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError, "%U in %q", r, text)
				}
			}
			assert.Contains(t, err.Error(), "[31mcredentials")
			assert.Contains(t, err.Error(), "evil end")
		})
	}
}

func TestLoginChallengeVariants(t *testing.T) {
	t.Parallel()
	for _, prompts := range [][2]string{
		{"Username:", "Password:"},
		{"USERNAME:", "PASSWORD:"},
		{"username", "password"},
		{"", ""},
		{"User Name", "Password"},
		{"Benutzername:", "Passwort:"},
		{"VXNlcm5hbWU6", "UGFzc3dvcmQ6"}, // base64 once more
		{"Who are you?", "Prove it."},
	} {
		t.Run(prompts[0]+"|"+prompts[1], func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, smtptest.Config{Mechanisms: []string{"LOGIN"}, LoginPrompts: prompts})
			cfg := configFor(srv)
			cfg.Settings.Authentication = smtpx.AuthLogin
			m := newMailer(t, cfg)
			require.NoError(t, m.SendEmail(context.Background(), email("bob@example.net")))
			require.Len(t, srv.Messages(), 1)
			assert.Equal(t, testUser, srv.Messages()[0].AuthUser)
		})
	}
}

func TestInsecureAuthNeedsOptIn(t *testing.T) {
	t.Parallel()
	srv := newServer(t, smtptest.Config{TLS: smtptest.NoTLS, AllowInsecureAuth: true})
	cfg := configFor(srv)
	_, err := smtpx.NewMailer(cfg)
	var fe *smtpx.FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "tls", fe.Field)
	assert.ErrorIs(t, err, smtpx.ErrSettings)
	assert.False(t, notify.IsTemporary(err))

	cfg.AllowInsecureAuth = true
	m := newMailer(t, cfg)
	require.NoError(t, m.SendEmail(context.Background(), email("bob@example.net")))
	assert.Equal(t, testUser, srv.Messages()[0].AuthUser)
}

func TestDialFailure(t *testing.T) {
	t.Parallel()
	srv := newServer(t, smtptest.Config{})
	cfg := configFor(srv)
	srv.Close() // nothing listens on the port any more
	m := newMailer(t, cfg)
	err := m.SendEmail(context.Background(), email("bob@example.net"))
	var e *smtpx.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, smtpx.CodeDial, e.Code, err.Error())
	assert.True(t, e.Temporary())
	assert.Contains(t, err.Error(), "check Host and Port")
}

func TestDisabledAndClosed(t *testing.T) {
	t.Parallel()
	srv := newServer(t, smtptest.Config{})
	cfg := configFor(srv)
	cfg.Settings.Enabled = false
	m := newMailer(t, cfg)
	err := m.SendEmail(context.Background(), email("bob@example.net"))
	assert.ErrorIs(t, err, smtpx.ErrDisabled)
	assert.ErrorIs(t, err, smtpx.ErrSettings)
	assert.False(t, notify.IsTemporary(err))

	cfg.Settings.Enabled = true
	m = newMailer(t, cfg)
	require.NoError(t, m.SendEmail(context.Background(), email("bob@example.net")))
	require.NoError(t, m.Close())
	err = m.SendEmail(context.Background(), email("bob@example.net"))
	assert.True(t, errors.Is(err, smtpx.ErrClosed), err)
	assert.Len(t, srv.Messages(), 1)
}
