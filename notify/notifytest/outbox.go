package notifytest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/siteadmin/integrations/notify"
)

// State is where a message stands in an Outbox.
type State string

// The states of a message in an Outbox.
const (
	Pending   State = "pending"   // waiting to be claimed, due at Record.Due
	Leased    State = "leased"    // claimed, until Record.Due
	Delivered State = "delivered" // sent and acknowledged; final
	Dead      State = "dead"      // given up, with Record.LastFailure; final
)

// Record is one message as an Outbox holds it.
type Record struct {
	// Message is the stored message, with its Attempts and the Lease of
	// the latest claim.
	Message notify.Message
	// State is where the message stands.
	State State
	// Due is when a pending message may be claimed, or when a leased
	// message's lease expires.
	Due time.Time
	// LastFailure is the Reason of the latest MarkFailed.
	LastFailure string
	// Delivery is the provider's latest report about the message, from
	// RecordStatus; its zero value means none yet.
	Delivery notify.DeliveryStatus
	// seq is the enqueue order, the tie-breaker between equal due times.
	seq int
}

// Outbox is an in-memory notify.Outbox (and notify.StatusRecorder) with
// the semantics a SQL one would have: claims are exclusive while their lease lasts, a lease
// expires by the clock (so a crashed claimer's messages come back),
// delivered and dead messages are final, and a late MarkFailed from an
// expired claim is ignored. Every method returns ctx.Err() first if ctx
// is done, as a database driver would. Create one with NewOutbox; it is
// safe for concurrent use.
type Outbox struct {
	mu      sync.Mutex
	now     func() time.Time
	records map[string]*Record
	seq     int
	leases  int
	changed chan struct{} // closed and replaced on every change
}

// NewOutbox returns an empty Outbox that reads the time from now, such
// as a Clock's Now; nil means time.Now.
func NewOutbox(now func() time.Time) *Outbox {
	if now == nil {
		now = time.Now
	}
	return &Outbox{now: now, records: map[string]*Record{}, changed: make(chan struct{})}
}

// Enqueue stores msgs as pending and due now, skipping keys it already
// holds. It stores all or none: a message without a key, or with both or
// neither of Email and SMS set, fails the whole call.
func (o *Outbox) Enqueue(ctx context.Context, msgs []notify.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for i, m := range msgs {
		if (m.Email == nil) == (m.SMS == nil) {
			return fmt.Errorf("notifytest: message %d: set exactly one of Email and SMS", i)
		}
		if m.Key() == "" {
			return fmt.Errorf("notifytest: message %d has no key", i)
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.now()
	for _, m := range msgs {
		if _, ok := o.records[m.Key()]; ok {
			continue
		}
		o.seq++
		m = clone(m)
		m.Attempts, m.Lease = 0, ""
		o.records[m.Key()] = &Record{Message: m, State: Pending, Due: now, seq: o.seq}
	}
	o.signal()
	return nil
}

// Claim leases up to max due messages, earliest due first. A max of 0
// or less claims nothing, as LIMIT 0 would.
func (o *Outbox) Claim(ctx context.Context, max int, lease time.Duration) ([]notify.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if lease <= 0 {
		return nil, errors.New("notifytest: Claim needs a positive lease")
	}
	if max <= 0 {
		return nil, nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.now()
	var due []*Record
	for _, r := range o.records {
		if (r.State == Pending || r.State == Leased) && !r.Due.After(now) {
			due = append(due, r)
		}
	}
	slices.SortFunc(due, func(a, b *Record) int {
		if c := a.Due.Compare(b.Due); c != 0 {
			return c
		}
		return a.seq - b.seq
	})
	var out []notify.Message
	for _, r := range due[:min(max, len(due))] {
		o.leases++
		r.State, r.Due = Leased, now.Add(lease)
		r.Message.Attempts++
		r.Message.Lease = "lease-" + strconv.Itoa(o.leases)
		out = append(out, clone(r.Message))
	}
	if len(out) > 0 {
		o.signal()
	}
	return out, nil
}

// MarkDelivered makes m's record delivered, whatever its lease, unless it
// is already final.
func (o *Outbox) MarkDelivered(ctx context.Context, m notify.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	r, err := o.find(m)
	if err != nil {
		return err
	}
	if r.State == Pending || r.State == Leased {
		r.State = Delivered
		o.signal()
	}
	return nil
}

// MarkDeliveredBatch implements notify.BatchMarker: MarkDelivered for
// each of msgs, all or none (a key the outbox does not hold fails the
// whole call).
func (o *Outbox) MarkDeliveredBatch(ctx context.Context, msgs []notify.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	records := make([]*Record, 0, len(msgs))
	for _, m := range msgs {
		r, err := o.find(m)
		if err != nil {
			return err
		}
		records = append(records, r)
	}
	changed := false
	for _, r := range records {
		if r.State == Pending || r.State == Leased {
			r.State = Delivered
			changed = true
		}
	}
	if changed {
		o.signal()
	}
	return nil
}

// MarkFailed records f for m if m holds the current lease and the record
// is not final; otherwise it does nothing.
func (o *Outbox) MarkFailed(ctx context.Context, m notify.Message, f notify.Failure) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	r, err := o.find(m)
	if err != nil {
		return err
	}
	if r.State != Leased || r.Message.Lease != m.Lease {
		return nil
	}
	r.LastFailure = f.Reason
	if f.Dead {
		r.State = Dead
	} else {
		r.State, r.Due = Pending, f.RetryAt
	}
	o.signal()
	return nil
}

// RecordStatus implements notify.StatusRecorder: it keeps st as the
// message's Delivery when st supersedes the one it has, whatever the
// message's state.
func (o *Outbox) RecordStatus(ctx context.Context, key string, st notify.DeliveryStatus) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if st.State.Rank() == 0 {
		return fmt.Errorf("notifytest: RecordStatus: unknown delivery state %q", st.State)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	r, ok := o.records[key]
	if !ok {
		return fmt.Errorf("notifytest: %w: %q", notify.ErrUnknownMessage, key)
	}
	if st.Supersedes(r.Delivery) {
		r.Delivery = st
		o.signal()
	}
	return nil
}

// DeliveryStatus returns the Delivery of the record with key (the zero
// DeliveryStatus when no report came), or an error wrapping
// notify.ErrUnknownMessage; the same as Record(key).Delivery, in the
// shape of StatusOutbox.
func (o *Outbox) DeliveryStatus(ctx context.Context, key string) (notify.DeliveryStatus, error) {
	if err := ctx.Err(); err != nil {
		return notify.DeliveryStatus{}, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	r, ok := o.records[key]
	if !ok {
		return notify.DeliveryStatus{}, fmt.Errorf("notifytest: %w: %q", notify.ErrUnknownMessage, key)
	}
	return r.Delivery, nil
}

var (
	_ notify.BatchMarker = (*Outbox)(nil)
	_ StatusOutbox       = (*Outbox)(nil)
)

func (o *Outbox) find(m notify.Message) (*Record, error) {
	r, ok := o.records[m.Key()]
	if !ok {
		return nil, fmt.Errorf("notifytest: no message with key %q in the outbox", m.Key())
	}
	return r, nil
}

// signal wakes Settle; the caller holds o.mu.
func (o *Outbox) signal() {
	close(o.changed)
	o.changed = make(chan struct{})
}

// Records returns a copy of every record, in enqueue order.
func (o *Outbox) Records() []Record {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]Record, 0, len(o.records))
	for _, r := range o.records {
		c := *r
		c.Message = clone(r.Message)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Record) int { return a.seq - b.seq })
	return out
}

// Record returns a copy of the record with the given key.
func (o *Outbox) Record(key string) (Record, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	r, ok := o.records[key]
	if !ok {
		return Record{}, false
	}
	c := *r
	c.Message = clone(r.Message)
	return c, true
}

// Count returns how many messages are in state s.
func (o *Outbox) Count(s State) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, r := range o.records {
		if r.State == s {
			n++
		}
	}
	return n
}

// Settle blocks until every message is delivered or dead, or ctx is
// done. Use it to wait for a running Deliverer to drain the outbox.
func (o *Outbox) Settle(ctx context.Context) error {
	for {
		o.mu.Lock()
		open := 0
		for _, r := range o.records {
			if r.State == Pending || r.State == Leased {
				open++
			}
		}
		changed := o.changed
		o.mu.Unlock()
		if open == 0 {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("notifytest: %d messages still pending or leased: %w", open, ctx.Err())
		}
	}
}

// clone copies m deeply, as a round trip through a database would, so
// that no caller shares memory with the outbox.
func clone(m notify.Message) notify.Message {
	if m.Email != nil {
		e := *m.Email
		e.Headers = maps.Clone(e.Headers)
		m.Email = &e
	}
	if m.SMS != nil {
		s := *m.SMS
		m.SMS = &s
	}
	m.Sensitive = slices.Clone(m.Sensitive)
	return m
}
