package notifytest

import (
	"context"
	"sync"

	"github.com/siteadmin/integrations/notify"
)

// Failure is the kind of failure FailNext injects.
type Failure int

// The failures a recording transport can inject.
const (
	// Temporary fails with an error for which notify.IsTemporary is
	// true, like an SMTP 4xx reply: the caller should retry.
	Temporary Failure = iota + 1
	// Permanent fails with an error for which notify.IsTemporary is
	// false, like an SMTP 5xx reply: retrying cannot help.
	Permanent
)

// Error is the error an injected failure returns.
type Error struct {
	// Transient is true for a Temporary failure.
	Transient bool
}

// Error says which kind of failure was injected.
func (e *Error) Error() string {
	if e.Transient {
		return "notifytest: injected temporary failure"
	}
	return "notifytest: injected permanent failure"
}

// Temporary reports e.Transient, for notify.IsTemporary.
func (e *Error) Temporary() bool { return e.Transient }

// recorder is what Mailer and SMSSender share: it records what it
// accepts and injects failures and holds.
type recorder[T any] struct {
	mu       sync.Mutex
	sent     []T
	attempts int
	failures []Failure
	gate     *Gate
}

func (r *recorder[T]) send(ctx context.Context, msg T) error {
	r.mu.Lock()
	r.attempts++
	g := r.gate
	r.mu.Unlock()
	if g != nil {
		if err := g.pass(ctx); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.failures) > 0 {
		f := r.failures[0]
		r.failures = r.failures[1:]
		return &Error{Transient: f == Temporary}
	}
	r.sent = append(r.sent, msg)
	return nil
}

func (r *recorder[T]) failNext(n int, f Failure) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for range n {
		r.failures = append(r.failures, f)
	}
}

func (r *recorder[T]) hold() *Gate {
	g := newGate()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gate = g
	return g
}

func (r *recorder[T]) snapshot() ([]T, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]T(nil), r.sent...), r.attempts
}

// Mailer is a notify.Mailer that records every email it accepts instead
// of sending it. The zero value is ready to use and safe for concurrent
// use. FailNext and Hold inject failures and delays.
type Mailer struct{ r recorder[notify.Email] }

// SendEmail records msg, unless a failure injected with FailNext is
// pending (it then returns an *Error and records nothing) or a Hold is
// in force (it then waits for the release or for ctx, whichever comes
// first). A cancelled ctx returns ctx.Err() and records nothing.
func (m *Mailer) SendEmail(ctx context.Context, msg notify.Email) error { return m.r.send(ctx, msg) }

// FailNext makes the next n calls of SendEmail fail with f, after any
// failures already pending.
func (m *Mailer) FailNext(n int, f Failure) { m.r.failNext(n, f) }

// Hold makes every later SendEmail wait until the returned Gate is
// released.
func (m *Mailer) Hold() *Gate { return m.r.hold() }

// Sent returns the emails accepted so far, in order.
func (m *Mailer) Sent() []notify.Email { s, _ := m.r.snapshot(); return s }

// Attempts returns the number of SendEmail calls so far, failed ones
// included.
func (m *Mailer) Attempts() int { _, n := m.r.snapshot(); return n }

// SMSSender is a notify.SMSSender that records every SMS it accepts
// instead of sending it, with the same failure injection as Mailer. The
// zero value is ready to use and safe for concurrent use.
type SMSSender struct{ r recorder[notify.SMS] }

// SendSMS records msg, with the same rules as Mailer.SendEmail.
func (s *SMSSender) SendSMS(ctx context.Context, msg notify.SMS) error { return s.r.send(ctx, msg) }

// FailNext makes the next n calls of SendSMS fail with f, after any
// failures already pending.
func (s *SMSSender) FailNext(n int, f Failure) { s.r.failNext(n, f) }

// Hold makes every later SendSMS wait until the returned Gate is
// released.
func (s *SMSSender) Hold() *Gate { return s.r.hold() }

// Sent returns the messages accepted so far, in order.
func (s *SMSSender) Sent() []notify.SMS { m, _ := s.r.snapshot(); return m }

// Attempts returns the number of SendSMS calls so far, failed ones
// included.
func (s *SMSSender) Attempts() int { _, n := s.r.snapshot(); return n }

// Gate holds sends until it is released. Get one from Mailer.Hold or
// SMSSender.Hold.
type Gate struct {
	mu       sync.Mutex
	waiting  int
	changed  chan struct{} // closed and replaced whenever waiting changes
	released chan struct{}
	once     sync.Once
}

func newGate() *Gate {
	return &Gate{changed: make(chan struct{}), released: make(chan struct{})}
}

// Release lets every held send, and every later one, through. Calling it
// again does nothing.
func (g *Gate) Release() { g.once.Do(func() { close(g.released) }) }

// Wait blocks until at least n sends are held at the gate, or ctx is
// done. Use it to act while a send is in progress.
func (g *Gate) Wait(ctx context.Context, n int) error {
	for {
		g.mu.Lock()
		waiting, changed := g.waiting, g.changed
		g.mu.Unlock()
		if waiting >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (g *Gate) add(d int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.waiting += d
	close(g.changed)
	g.changed = make(chan struct{})
}

func (g *Gate) pass(ctx context.Context) error {
	g.add(1)
	defer g.add(-1)
	select {
	case <-g.released:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
