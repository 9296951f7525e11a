package notify

import (
	"context"
	"errors"
	"time"
)

// DeliveryState is what the provider last reported about a message it
// accepted: a send that succeeded only means the provider took the
// message, not that the phone received it.
type DeliveryState string

// The delivery states, in the order a message goes through them.
const (
	// DeliveryQueued: the provider holds the message and has not handed
	// it to the carrier yet.
	DeliveryQueued DeliveryState = "queued"
	// DeliverySent: the carrier took the message; no report from the
	// handset yet.
	DeliverySent DeliveryState = "sent"
	// DeliveryDelivered: the carrier confirmed delivery. Final.
	DeliveryDelivered DeliveryState = "delivered"
	// DeliveryUndelivered: the carrier could not deliver the message
	// (phone off, unknown number, landline, filtered). Final.
	DeliveryUndelivered DeliveryState = "undelivered"
	// DeliveryFailed: the provider could not send the message at all.
	// Final.
	DeliveryFailed DeliveryState = "failed"
)

// Final reports whether s is the last state a message can reach.
func (s DeliveryState) Final() bool { return s.Rank() == 3 }

// Rank orders the states for an outbox that keeps only the latest: 0 for
// no state (or an unknown one), 1 for queued, 2 for sent, 3 for the
// final states. A SQL outbox can store it beside the state and update
// with "WHERE delivery_rank < $new OR delivery_rank = $new AND
// delivery_rank < 3".
func (s DeliveryState) Rank() int {
	switch s {
	case DeliveryQueued:
		return 1
	case DeliverySent:
		return 2
	case DeliveryDelivered, DeliveryUndelivered, DeliveryFailed:
		return 3
	}
	return 0
}

// DeliveryStatus is one report from the provider about a message, such as
// a Twilio status callback (twilio.Status.DeliveryStatus converts one).
type DeliveryStatus struct {
	// State is where the message stands.
	State DeliveryState `json:"state"`
	// ProviderID is the provider's identifier of the message, such as
	// Twilio's message SID ("SM..."): the link from the outbox key to
	// the provider's logs.
	ProviderID string `json:"provider-id,omitempty"`
	// ErrorCode is the provider's error code for an undelivered or
	// failed message, such as "30003"; "" otherwise.
	ErrorCode string `json:"error-code,omitempty"`
	// Reason says in plain words what happened, for an admin page.
	Reason string `json:"reason,omitempty"`
	// At is when the report arrived.
	At time.Time `json:"at"`
}

// Supersedes reports whether st should replace cur as a message's
// recorded status. Reports arrive out of order (a late "sent" after
// "delivered"), so a status replaces only one of a lower rank, or one of
// the same rank that is not final: the first final status stays.
func (st DeliveryStatus) Supersedes(cur DeliveryStatus) bool {
	n, c := st.State.Rank(), cur.State.Rank()
	return n > c || n == c && n > 0 && n < 3
}

// ErrUnknownMessage is returned by StatusRecorder.RecordStatus for a key
// the outbox does not hold (a message sent without the outbox, or
// already deleted).
var ErrUnknownMessage = errors.New("notify: no message with this key in the outbox")

// StatusRecorder is an optional interface of an Outbox: it records what
// the provider reported after the message was sent, so that an admin
// can see which messages (two-factor codes, say) never arrived. Twilio's
// status callbacks name the message by its key (the Client adds it to
// the callback URL), and the status carries the provider's ID, so no
// mapping from the provider's ID to the key needs storing at send time.
//
// notifytest.Outbox and notifypg.Outbox implement it. In SQL it is one
// UPDATE of the message's row by key, guarded by the rank rule of
// Supersedes.
type StatusRecorder interface {
	// RecordStatus stores st as the status of the message with key,
	// unless the message already has a status that st does not
	// supersede (see DeliveryStatus.Supersedes); it does so whatever
	// the message's outbox state, since a report can arrive before
	// MarkDelivered, and changes nothing else of the message. It returns
	// an error wrapping ErrUnknownMessage when no message has the key,
	// and an error, recording nothing, when st.State has no Rank or ctx
	// is done. notifytest.TestStatusRecorder is the suite it must pass.
	RecordStatus(ctx context.Context, key string, st DeliveryStatus) error
}
