package notify

import (
	"context"
	"time"

	"github.com/siteadmin/integrations"
)

// Outbox is a durable queue of rendered messages that the host implements
// on its own database, so that a message survives a crash or a mail
// server that is down for an hour. With Config.Outbox set, the Notifier
// only enqueues; a Deliverer claims, sends and acknowledges. Delivery is
// at least once: a message whose sender crashed after sending but before
// MarkDelivered is sent again after its lease expires, with the same
// idempotency key.
//
// Messages are identified by their key (Message.Key). A SQL
// implementation needs one table keyed by it, with the message, the
// attempt count, a state (pending, delivered, dead), the time it is due,
// the current lease token and its expiry, and the last failure reason.
// notifytest.Outbox is an in-memory implementation with the same
// semantics.
//
// Every method is called concurrently from several goroutines and must
// be safe for that.
type Outbox interface {
	// Enqueue stores msgs, due at once, with Attempts 0. A message whose
	// key the outbox already holds is skipped: enqueuing twice is not
	// sending twice. Enqueue stores all of msgs or none, and refuses the
	// whole call when a message has no key or has both or neither of
	// Email and SMS; it may use a transaction that ctx carries, so that
	// a notification commits with the change that caused it.
	Enqueue(ctx context.Context, msgs []Message) error

	// Claim leases up to max due messages, oldest due first, for the
	// duration lease. A message is due when it is pending and its retry
	// time has come, or when it is leased and the lease has expired.
	// For each message returned, Claim increments Attempts and sets a
	// new Lease token that no earlier claim of it had. Claim must never
	// hand the same message to two callers while its lease lasts (in SQL:
	// SELECT ... FOR UPDATE SKIP LOCKED, then UPDATE in the same
	// transaction), and never returns a delivered or dead message.
	// A max of 0 or less claims nothing.
	Claim(ctx context.Context, max int, lease time.Duration) ([]Message, error)

	// MarkDelivered records that m was sent; it is never claimed again.
	// It must succeed even when m's lease has expired or another claim
	// holds the message (the message was sent all the same), and does
	// nothing for a message already delivered or dead.
	MarkDelivered(ctx context.Context, m Message) error

	// MarkFailed records a failed attempt at m. With f.Dead the message
	// becomes a dead letter, kept with f.Reason for an admin to look at
	// and never claimed again; otherwise it is pending again, due at
	// f.RetryAt, with f.Reason as its last failure. MarkFailed must do
	// nothing when m.Lease is no longer the message's current lease, or
	// when the message is already delivered or dead, so that a late
	// answer from an expired claim cannot undo a newer one.
	MarkFailed(ctx context.Context, m Message, f Failure) error
}

// BatchMarker is implemented by an Outbox that can record many sends in
// one call, such as one SQL UPDATE for a whole batch. A Deliverer whose
// Outbox implements it acknowledges its sends in groups: each send that
// returns joins the group that is waiting to be written, and one
// MarkDeliveredBatch writes the group while the next one gathers. Without
// it, the Deliverer calls MarkDelivered once per message.
type BatchMarker interface {
	// MarkDeliveredBatch does what MarkDelivered does for each of msgs,
	// all of them or none. An empty msgs does nothing.
	MarkDeliveredBatch(ctx context.Context, msgs []Message) error
}

// Message is one queued email or SMS: exactly one of Email and SMS is
// set. The Notifier builds it, the Outbox stores it (it encodes to JSON
// with encoding/json and back unchanged), and the Deliverer sends it.
// Note that a stored message holds its whole body, two-factor codes and
// reset links included: keep the table as private as the users table,
// and delete delivered and dead rows after a while.
type Message struct {
	// Email is the email to send, or nil for an SMS.
	Email *Email `json:"email,omitempty"`
	// SMS is the text message to send, or nil for an email.
	SMS *SMS `json:"sms,omitempty"`
	// Sensitive lists values of the body that must never appear in a
	// log line or an error, such as a two-factor code or a reset link.
	// The Deliverer removes them from failure reasons.
	Sensitive []integrations.Secret `json:"sensitive,omitempty"`
	// Attempts is the number of claims of this message so far, this one
	// included; Claim increments it. 0 in a message being enqueued.
	Attempts int `json:"attempts"`
	// Lease identifies the current claim; Claim sets it, and
	// MarkFailed compares it with the stored one.
	Lease string `json:"lease,omitempty"`
}

// Key returns the message's idempotency key, which is also its identity
// in the outbox.
func (m Message) Key() string {
	switch {
	case m.Email != nil:
		return m.Email.Key
	case m.SMS != nil:
		return m.SMS.Key
	}
	return ""
}

// Kind returns the notification kind of the message.
func (m Message) Kind() Kind {
	switch {
	case m.Email != nil:
		return m.Email.Kind
	case m.SMS != nil:
		return m.SMS.Kind
	}
	return ""
}

// To returns the recipient's address or number.
func (m Message) To() string {
	switch {
	case m.Email != nil:
		return m.Email.To
	case m.SMS != nil:
		return m.SMS.To
	}
	return ""
}

// Failure describes a failed delivery attempt, for Outbox.MarkFailed.
type Failure struct {
	// Reason is the error's text, with the message's Sensitive values
	// removed.
	Reason string
	// RetryAt is when the message is due again. Unused when Dead.
	RetryAt time.Time
	// Dead is true when the message is given up: the failure was
	// permanent, or the last allowed attempt failed.
	Dead bool
}
