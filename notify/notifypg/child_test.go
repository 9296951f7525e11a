package notifypg_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/notify/notifypg"
	"github.com/siteadmin/integrations/notify/notifytest"
)

// The fault test's child process: a Deliverer on the shared outbox whose
// transport fails at random, logging every successful send ("S key") and
// every acknowledgement that committed ("A key") to a file, one write per
// line or group, so that a SIGKILL loses nothing already written.
const (
	childEnv    = "NOTIFYPG_FAULT_CHILD" // the child's number
	childDSN    = "NOTIFYPG_FAULT_DSN"
	childLog    = "NOTIFYPG_FAULT_LOG"
	childLease  = 5 * time.Second
	tempPercent = 5 // transport failures, temporary
	permPercent = 1 // and permanent
)

// runChildIfAsked runs the child and exits when the environment asks for
// one; otherwise it returns at once.
func runChildIfAsked() {
	id := os.Getenv(childEnv)
	if id == "" {
		return
	}
	if err := runChild(id); err != nil {
		fmt.Fprintf(os.Stderr, "fault child %s: %v\n", id, err)
		os.Exit(1)
	}
	os.Exit(0)
}

func runChild(id string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	n, err := strconv.Atoi(id)
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(os.Getenv(childLog), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	db, err := sql.Open("pgx", os.Getenv(childDSN))
	if err != nil {
		return err
	}
	defer db.Close()
	o, err := notifypg.New(notifypg.Config{DB: db})
	if err != nil {
		return err
	}
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(uint64(n), uint64(time.Now().UnixNano())))
	mailer := notify.MailerFunc(func(_ context.Context, e notify.Email) error {
		mu.Lock()
		roll := rng.IntN(100)
		mu.Unlock()
		switch {
		case roll < tempPercent:
			return &notifytest.Error{Transient: true}
		case roll < tempPercent+permPercent:
			return &notifytest.Error{}
		}
		_, err := logf.WriteString("S " + e.Key + "\n") // the send itself
		return err
	})
	d, err := notify.NewDeliverer(notify.DelivererConfig{
		Outbox:       &ackLog{Outbox: o, w: logf},
		Mailer:       mailer,
		Concurrency:  4,
		ClaimBatch:   16,
		Lease:        childLease,
		SendTimeout:  time.Second,
		PollInterval: 50 * time.Millisecond,
		Retry:        notify.RetryPolicy{MaxAttempts: 8, BaseDelay: 20 * time.Millisecond, MaxDelay: 200 * time.Millisecond, Jitter: 0.5},
		Logger:       slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return err
	}
	return d.Run(ctx)
}

// ackLog logs the acknowledgements that committed.
type ackLog struct {
	*notifypg.Outbox
	w *os.File
}

func (a *ackLog) MarkDelivered(ctx context.Context, m notify.Message) error {
	return a.MarkDeliveredBatch(ctx, []notify.Message{m})
}

func (a *ackLog) MarkDeliveredBatch(ctx context.Context, msgs []notify.Message) error {
	if err := a.Outbox.MarkDeliveredBatch(ctx, msgs); err != nil {
		return err
	}
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString("A " + m.Key() + "\n")
	}
	_, err := a.w.WriteString(b.String())
	return err
}
