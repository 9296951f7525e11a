package notifypg_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siteadmin/integrations"
	"github.com/siteadmin/integrations/internal/pgtest"
	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/notify/notifypg"
)

// The drain benchmark's shape, as ../shared/bench/outbox/README.md sets it
// for every peer: N messages enqueued before the clock, drained by
// benchDeliverers Deliverers of benchConcurrency sends each (16 at once),
// each Deliverer with its own *sql.DB.
const (
	benchDeliverers  = 4
	benchConcurrency = 4
	benchClaimBatch  = 32 // as the floor's claim
	benchDefaultN    = 20000
)

// BenchmarkOutboxDrain times the drain of N pre-enqueued password-reset
// emails (OUTBOX_BENCH_N, default 20000) through notify.Deliverers on one
// notifypg.Outbox table, from their start until the last acknowledgement
// is committed, and reports ns/msg. send=1ms stands in for an SMTP round
// trip. Afterwards, outside the clock, it checks that every message was
// sent exactly once and is marked delivered at its first attempt.
func BenchmarkOutboxDrain(b *testing.B) {
	for _, sc := range []struct {
		name string
		send time.Duration
	}{{"send=0", 0}, {"send=1ms", time.Millisecond}} {
		b.Run(sc.name, func(b *testing.B) {
			n := benchN(b)
			dsn := pgtest.DSN(b) // a fresh schema: no dead rows from the other scenario
			admin := pgtest.Open(b, dsn)
			dbs := make([]*sql.DB, benchDeliverers)
			for i := range dbs {
				dbs[i] = pgtest.Open(b, dsn)
				dbs[i].SetMaxOpenConns(1) // one connection per Deliverer, as the floor has per worker
			}
			b.ReportAllocs()
			var total time.Duration
			for range b.N {
				b.StopTimer()
				benchSetup(b, admin, dbs, n)
				d := newDrain(b, dbs, n, sc.send)
				b.StartTimer()
				elapsed := d.run(b)
				b.StopTimer()
				d.verify(b, admin)
				total += elapsed
			}
			b.ReportMetric(float64(total.Nanoseconds())/float64(b.N*n), "ns/msg")
		})
	}
}

func benchN(b *testing.B) int {
	s := os.Getenv("OUTBOX_BENCH_N")
	if s == "" {
		return benchDefaultN
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		b.Fatalf("OUTBOX_BENCH_N=%q: want a positive integer", s)
	}
	return n
}

// benchMessage is message seq: a password-reset email of about 850 bytes
// of JSON, as the harness's peers store.
func benchMessage(seq int) notify.Message {
	link := fmt.Sprintf("https://app.example.com/reset?token=%032x", seq*7919+1)
	to := fmt.Sprintf("user%06d@example.com", seq)
	return notify.Message{
		Email: &notify.Email{
			Kind:    notify.KindPasswordReset,
			To:      to,
			Subject: "Reset your password",
			Text: "Hello,\n\nSomeone asked to reset the password of your account " + to +
				". Open this link within 30 minutes to choose a new one:\n\n" + link +
				"\n\nIf it was not you, ignore this email.\n",
			HTML: "<p>Hello,</p><p>Someone asked to reset the password of your account " + to +
				". Open <a href=\"" + link + "\">this link</a> within 30 minutes to choose a new one.</p>" +
				"<p>If it was not you, ignore this email.</p>",
			Key: "bench-" + strconv.Itoa(seq),
		},
		Sensitive: []integrations.Secret{integrations.Secret(link)},
	}
}

// benchSetup makes a fresh table holding n due messages, vacuumed and
// analyzed, with every Deliverer's connection open.
func benchSetup(b *testing.B, admin *sql.DB, dbs []*sql.DB, n int) {
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, `DROP TABLE IF EXISTS notify_outbox`); err != nil {
		b.Fatal(err)
	}
	o, err := notifypg.New(notifypg.Config{DB: admin})
	if err != nil {
		b.Fatal(err)
	}
	if err := o.CreateSchema(ctx); err != nil {
		b.Fatal(err)
	}
	const chunk = 2000
	for lo := 0; lo < n; lo += chunk {
		msgs := make([]notify.Message, 0, chunk)
		for i := lo; i < min(n, lo+chunk); i++ {
			msgs = append(msgs, benchMessage(i))
		}
		if err := o.Enqueue(ctx, msgs); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := admin.ExecContext(ctx, `VACUUM ANALYZE notify_outbox`); err != nil {
		b.Fatal(err)
	}
	for _, db := range dbs {
		if err := db.PingContext(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// drain is one timed drain: the Deliverers, their sender, and a count of
// acknowledged messages that tells when to stop the clock.
type drain struct {
	n         int
	sent      []atomic.Int32
	acked     atomic.Int64
	done      chan struct{}
	closeOnce sync.Once
	dels      []*notify.Deliverer
}

func newDrain(b *testing.B, dbs []*sql.DB, n int, send time.Duration) *drain {
	d := &drain{n: n, sent: make([]atomic.Int32, n), done: make(chan struct{})}
	mailer := notify.MailerFunc(func(_ context.Context, e notify.Email) error {
		seq, err := strconv.Atoi(strings.TrimPrefix(e.Key, "bench-"))
		if err != nil || seq < 0 || seq >= n {
			return fmt.Errorf("bad key %q", e.Key)
		}
		if send > 0 {
			time.Sleep(send)
		}
		d.sent[seq].Add(1)
		return nil
	})
	for _, db := range dbs {
		o, err := notifypg.New(notifypg.Config{DB: db})
		if err != nil {
			b.Fatal(err)
		}
		del, err := notify.NewDeliverer(notify.DelivererConfig{
			Outbox:       &ackCounter{Outbox: o, d: d},
			Mailer:       mailer,
			Concurrency:  benchConcurrency,
			ClaimBatch:   benchClaimBatch,
			PollInterval: 10 * time.Millisecond,
		})
		if err != nil {
			b.Fatal(err)
		}
		d.dels = append(d.dels, del)
	}
	return d
}

// run starts the Deliverers and returns the time until the last message
// was acknowledged.
func (d *drain) run(b *testing.B) time.Duration {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	start := time.Now()
	for _, del := range d.dels {
		wg.Add(1)
		go func() { defer wg.Done(); _ = del.Run(ctx) }()
	}
	var elapsed time.Duration
	select {
	case <-d.done:
		elapsed = time.Since(start)
	case <-time.After(5 * time.Minute):
		b.Errorf("drain: %d of %d acknowledged after 5 minutes", d.acked.Load(), d.n)
	}
	cancel()
	wg.Wait()
	return elapsed
}

func (d *drain) count(k int) {
	if d.acked.Add(int64(k)) >= int64(d.n) {
		d.closeOnce.Do(func() { close(d.done) })
	}
}

// verify checks, after the drain, that each message was sent exactly once
// and that the table agrees.
func (d *drain) verify(b *testing.B, admin *sql.DB) {
	var missing, dup int
	for i := range d.sent {
		switch d.sent[i].Load() {
		case 0:
			missing++
		case 1:
		default:
			dup++
		}
	}
	var total, delivered, other int
	err := admin.QueryRow(`SELECT count(*), count(*) FILTER (WHERE state = 'delivered'),
		count(*) FILTER (WHERE attempts <> 1 OR lease IS NULL) FROM notify_outbox`).Scan(&total, &delivered, &other)
	if err != nil {
		b.Fatal(err)
	}
	if missing > 0 || dup > 0 || total != d.n || delivered != d.n || other != 0 {
		b.Fatalf("exactly once: %d never sent, %d sent twice; table: %d rows, %d delivered, %d not claimed exactly once (want %d, %d, 0)",
			missing, dup, total, delivered, other, d.n, d.n)
	}
}

// ackCounter counts the acknowledgements that succeed.
type ackCounter struct {
	*notifypg.Outbox
	d *drain
}

func (a *ackCounter) MarkDelivered(ctx context.Context, m notify.Message) error {
	err := a.Outbox.MarkDelivered(ctx, m)
	if err == nil {
		a.d.count(1)
	}
	return err
}

func (a *ackCounter) MarkDeliveredBatch(ctx context.Context, msgs []notify.Message) error {
	err := a.Outbox.MarkDeliveredBatch(ctx, msgs)
	if err == nil {
		a.d.count(len(msgs))
	}
	return err
}
