package smtpx_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/smtpx"
	"github.com/siteadmin/integrations/smtpx/smtptest"
)

// BenchmarkSendBatch sends batches of 1,000 messages to smtptest over
// STARTTLS with AUTH PLAIN: over one reused connection, and with a new
// connection (TCP, TLS handshake, EHLO, AUTH) per message.
func BenchmarkSendBatch(b *testing.B) {
	const batch = 1000
	for _, bc := range []struct {
		name        string
		idleTimeout int // -1: a connection per message
	}{
		{"reused", 0},
		{"per-message", -1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			srv := newServer(b, smtptest.Config{})
			cfg := configFor(srv)
			if bc.idleTimeout < 0 {
				cfg.IdleTimeout = -1
			}
			m, err := smtpx.NewMailer(cfg)
			require.NoError(b, err)
			defer m.Close()
			msgs := make([]string, batch)
			for i := range msgs {
				msgs[i] = "k" + strconv.Itoa(i)
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for _, key := range msgs {
					msg := email("bob@example.net")
					msg.Key = key
					if err := m.SendEmail(ctx, msg); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				srv.Reset() // keep the captured messages from piling up
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/msg")
		})
	}
}
