package smtpx_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/smtpx"
	"github.com/siteadmin/integrations/smtpx/smtptest"
)

func TestBatchReusesOneConnection(t *testing.T) {
	t.Parallel()
	srv := newServer(t, smtptest.Config{})
	m := newMailer(t, configFor(srv))
	for i := 0; i < 20; i++ {
		msg := email(fmt.Sprintf("user%d@example.net", i))
		msg.Key = fmt.Sprintf("k%d", i)
		require.NoError(t, m.SendEmail(context.Background(), msg))
	}
	assert.Len(t, srv.Messages(), 20)
	assert.Equal(t, 1, srv.Connections())
}

func TestReconnectsWhenTheServerDroppedAnIdleConnection(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		inject func(*smtptest.Server)
	}{
		{"connection closed", func(s *smtptest.Server) { s.CloseConnections() }},
		{"421 at MAIL", func(s *smtptest.Server) { s.ReplyNext(smtptest.MAIL, 1, 421, "4.4.2", "idle too long, closing") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, smtptest.Config{})
			m := newMailer(t, configFor(srv))
			require.NoError(t, m.SendEmail(context.Background(), email("bob@example.net")))
			tc.inject(srv)
			require.NoError(t, m.SendEmail(context.Background(), email("carol@example.net")))
			msgs := srv.Messages()
			require.Len(t, msgs, 2)
			assert.Equal(t, []string{"carol@example.net"}, msgs[1].To)
			assert.Equal(t, 2, srv.Connections())
		})
	}
}

func TestNoRetryOnAFreshConnection(t *testing.T) {
	t.Parallel()
	srv := newServer(t, smtptest.Config{})
	m := newMailer(t, configFor(srv))
	srv.ReplyNext(smtptest.MAIL, 1, 421, "4.3.2", "shutting down")
	err := m.SendEmail(context.Background(), email("bob@example.net"))
	assert.ErrorIs(t, err, smtpx.ErrTemporary)
	assert.Equal(t, 1, srv.Connections(), "a 421 on a new connection is the answer, not a stale connection")
}

func TestIdleConnectionsClose(t *testing.T) {
	t.Parallel()
	t.Run("negative IdleTimeout: one connection per message", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, smtptest.Config{})
		cfg := configFor(srv)
		cfg.IdleTimeout = -1
		m := newMailer(t, cfg)
		for i := 0; i < 3; i++ {
			require.NoError(t, m.SendEmail(context.Background(), email("bob@example.net")))
		}
		assert.Equal(t, 3, srv.Connections())
	})
	t.Run("after IdleTimeout", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, smtptest.Config{})
		cfg := configFor(srv)
		cfg.IdleTimeout = time.Millisecond
		m := newMailer(t, cfg)
		require.NoError(t, m.SendEmail(context.Background(), email("bob@example.net")))
		require.Eventually(t, func() bool { return srv.Connections() == 1 && srv.OpenConnections() == 0 }, 10*time.Second, time.Millisecond)
		require.NoError(t, m.SendEmail(context.Background(), email("bob@example.net")))
		assert.Equal(t, 2, srv.Connections())
	})
}

func TestConcurrentSendsShareMaxConns(t *testing.T) {
	t.Parallel()
	srv := newServer(t, smtptest.Config{})
	cfg := configFor(srv)
	cfg.MaxConns = 3
	m := newMailer(t, cfg)
	var wg sync.WaitGroup
	errs := make(chan error, 60)
	for i := 0; i < 60; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := email(fmt.Sprintf("user%d@example.net", i))
			msg.Key = fmt.Sprintf("k%d", i)
			errs <- m.SendEmail(context.Background(), msg)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Len(t, srv.Messages(), 60)
	assert.LessOrEqual(t, srv.Connections(), 3)
}

func TestWaitingForAConnectionHonoursTheContext(t *testing.T) {
	t.Parallel()
	srv := newServer(t, smtptest.Config{})
	cfg := configFor(srv)
	cfg.MaxConns = 1
	m := newMailer(t, cfg)
	srv.FailNextAt(smtptest.MAIL, 1, smtptest.Stall)
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() { first <- m.SendEmail(ctx, email("bob@example.net")) }()
	require.Eventually(t, func() bool { return srv.Connections() == 1 }, 10*time.Second, time.Millisecond)

	ctx2, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	err := m.SendEmail(ctx2, email("carol@example.net"))
	assert.ErrorIs(t, err, smtpx.ErrTimeout, "the second send waited for the only connection")
	cancel()
	assert.ErrorIs(t, <-first, smtpx.ErrCanceled)
}

func TestPasswordNeverShows(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := newServer(t, smtptest.Config{})
	cfg := configFor(srv)
	cfg.Logger = logger
	var texts []string

	// Successful sends, logged.
	m := newMailer(t, cfg)
	require.NoError(t, m.SendEmail(context.Background(), email("bob@example.net")))
	logger.Info("settings", "settings", cfg.Settings, "mailer", m, "config", cfg)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		texts = append(texts, fmt.Sprintf(verb, cfg.Settings), fmt.Sprintf(verb, cfg), fmt.Sprintf(verb, m))
	}

	// Failures of every kind, logged and returned.
	for _, edit := range []func(*smtpx.Config){
		func(c *smtpx.Config) {},
		func(c *smtpx.Config) { c.Settings.Authentication = smtpx.AuthLogin },
		func(c *smtpx.Config) { c.RootCAs = nil },
		func(c *smtpx.Config) { c.Settings.TLS = smtpx.TLSNone },
		func(c *smtpx.Config) { c.Settings.Port = 0 },
	} {
		c := configFor(srv)
		c.Logger = logger
		c.Settings.Username = "wrong-user"
		edit(&c)
		if m, err := smtpx.NewMailer(c); err != nil {
			texts = append(texts, err.Error(), fmt.Sprintf("%+v", err))
		} else {
			err := m.SendEmail(context.Background(), email("bob@example.net"))
			require.Error(t, err)
			texts = append(texts, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err))
			_ = m.Close()
		}
		rep, err := smtpx.SendTest(context.Background(), c, "bob@example.net")
		require.Error(t, err)
		texts = append(texts, err.Error(), fmt.Sprintf("%+v", rep))
	}
	texts = append(texts, logs.String())
	for _, text := range texts {
		assert.NotContains(t, text, testPassword)
	}
	assert.Contains(t, logs.String(), "smtpx: sent")
	assert.Contains(t, logs.String(), "smtpx: send failed")
}
