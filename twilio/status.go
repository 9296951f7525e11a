package twilio

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/siteadmin/integrations/notify"
)

// MessageStatus is where Twilio says a message stands, the MessageStatus
// of a status callback (Twilio's message_enum_status).
type MessageStatus string

// The statuses of an outbound SMS. A message created without a Messaging
// Service starts queued, one created with a Messaging Service accepted (or
// scheduled); Twilio sends no callback for that first status. Then come
// sending and sent, and at last one of delivered, undelivered or failed
// (read, canceled and partially_delivered are final too, for the channels
// and features that have them).
const (
	StatusAccepted           MessageStatus = "accepted"            // a Messaging Service took it and picks a sender
	StatusScheduled          MessageStatus = "scheduled"           // waits for its send time
	StatusQueued             MessageStatus = "queued"              // waits to go out from Twilio
	StatusSending            MessageStatus = "sending"             // being handed to the carrier
	StatusSent               MessageStatus = "sent"                // the carrier took it
	StatusDelivered          MessageStatus = "delivered"           // the carrier confirmed delivery to the handset
	StatusUndelivered        MessageStatus = "undelivered"         // the carrier could not deliver it
	StatusFailed             MessageStatus = "failed"              // Twilio could not send it at all
	StatusRead               MessageStatus = "read"                // read receipt (WhatsApp, RCS)
	StatusCanceled           MessageStatus = "canceled"            // a scheduled message was canceled
	StatusPartiallyDelivered MessageStatus = "partially_delivered" // some segments arrived
)

// Final reports whether no later status can follow: delivered,
// undelivered, failed, read, canceled or partially_delivered.
func (s MessageStatus) Final() bool {
	switch s {
	case StatusDelivered, StatusUndelivered, StatusFailed, StatusRead, StatusCanceled, StatusPartiallyDelivered:
		return true
	}
	return false
}

// Known reports whether s is one of the statuses Twilio's API describes.
func (s MessageStatus) Known() bool {
	switch s {
	case StatusAccepted, StatusScheduled, StatusQueued, StatusSending, StatusSent,
		StatusDelivered, StatusUndelivered, StatusFailed, StatusRead, StatusCanceled,
		StatusPartiallyDelivered:
		return true
	}
	return false
}

// Status is one verified status callback: what Twilio reported about one
// message.
type Status struct {
	// MessageSID is Twilio's identifier of the message ("SM..."), the
	// Receipt.SID of the send.
	MessageSID string
	// AccountSID is the account that sent it.
	AccountSID string
	// Key is the message's idempotency key (notify.SMS.Key), which the
	// Client added to the callback URL; "" for a message sent without one
	// (such as SendTest's).
	Key string
	// Status is where the message stands.
	Status MessageStatus
	// ErrorCode is Twilio's error code for an undelivered or failed
	// message (such as 30003), 0 otherwise.
	ErrorCode int
	// To and From are the recipient and the sender, as Twilio reports
	// them.
	To, From string
	// Received is when the handler received the callback (Twilio sends
	// no time of its own).
	Received time.Time
}

// Meaning says in plain words what the status means for the recipient,
// with the error code's meaning when there is one.
func (s Status) Meaning() string {
	if s.ErrorCode != 0 {
		return ErrorMeaning(s.ErrorCode)
	}
	switch s.Status {
	case StatusAccepted, StatusScheduled, StatusQueued, StatusSending:
		return "Twilio has not handed the message to the carrier yet"
	case StatusSent:
		return "the carrier took the message; no delivery report yet"
	case StatusDelivered:
		return "the carrier reports the message delivered to the handset"
	case StatusRead:
		return "the recipient read the message"
	case StatusUndelivered:
		return "the carrier could not deliver the message"
	case StatusFailed:
		return "Twilio could not send the message"
	case StatusCanceled:
		return "the message was canceled before it was sent"
	case StatusPartiallyDelivered:
		return "only part of the message reached the handset"
	}
	return "unknown status " + strconv.Quote(string(s.Status))
}

// Delivery error codes that status callbacks carry, beyond those the
// API answers with (see CodeOptedOut and the others in errors.go).
const (
	CodeQueueOverflow      = 30001 // too many messages queued for the sender
	CodeAccountSuspended   = 30002 // the account is suspended
	CodeUnreachable        = 30003 // the handset is off, out of coverage or cannot take SMS
	CodeBlocked            = 30004 // the recipient or their carrier blocks the message
	CodeUnknownHandset     = 30005 // the number does not exist, or no longer does
	CodeLandline           = 30006 // a landline, or a carrier the sender cannot reach
	CodeFiltered           = 30007 // the carrier filtered it as spam or a rule violation
	CodeUnknownError       = 30008 // the carrier gave no reason
	CodeMissingSegment     = 30009 // a segment of a long message was lost
	CodePriceExceedsMax    = 30010 // the price is above the MaxPrice sent
	CodeTollFreeUnverified = 30032 // the toll-free sender is not verified
	CodeUnregistered10DLC  = 30034 // the US long-code sender is not A2P 10DLC registered
)

// errorMeaning holds the common delivery and send errors, in our words;
// a switch rather than a map keeps the package free of mutable state.
func errorMeaning(code int) (string, bool) {
	switch code {
	case CodeQueueOverflow:
		return "too many messages were waiting at Twilio for this sender, so this one was dropped; send more slowly or add senders", true
	case CodeAccountSuspended:
		return "the Twilio account is suspended; check the account in the Twilio console", true
	case CodeUnreachable:
		return "the phone could not be reached: it may be switched off, out of coverage, or unable to take SMS; the user can try again later", true
	case CodeBlocked:
		return "the recipient's carrier or the recipient blocks messages from this sender", true
	case CodeUnknownHandset:
		return "the number does not exist or is no longer in service; the user should check it", true
	case CodeLandline:
		return "the number is a landline or on a network this sender cannot reach; the user needs a mobile number", true
	case CodeFiltered:
		return "the carrier filtered the message (spam filter or a sender registration problem); check the sender's registration in the Twilio console", true
	case CodeUnknownError:
		return "the carrier failed to deliver the message without saying why; the user can try again", true
	case CodeMissingSegment:
		return "part of a long message was lost on the way", true
	case CodePriceExceedsMax:
		return "the message cost more than the maximum price set for it", true
	case CodeTollFreeUnverified:
		return "the toll-free sender number is not verified; verify it in the Twilio console", true
	case CodeUnregistered10DLC:
		return "US carriers refuse messages from this long-code number until it is registered for A2P 10DLC", true
	case CodeNoPermission:
		return "SMS to this country is not enabled in the account's geographic permissions", true
	case CodeOptedOut:
		return "the recipient replied STOP to this sender and receives nothing more until they text START", true
	case CodeCannotRoute:
		return "Twilio has no route from this sender to this number", true
	case CodeNotMobile:
		return "the number is not a mobile number and cannot receive SMS", true
	case CodeInvalidTo:
		return "the number is not a valid phone number", true
	case CodeUnverified:
		return "a trial account can only send to verified numbers", true
	}
	return "", false
}

// ErrorMeaning says in plain words what Twilio's error code means for a
// message, for an admin page; for a code it does not know it names the
// code and Twilio's page about it.
func ErrorMeaning(code int) string {
	if m, ok := errorMeaning(code); ok {
		return m
	}
	return "Twilio error " + strconv.Itoa(code) + " (see https://www.twilio.com/docs/api/errors/" + strconv.Itoa(code) + ")"
}

// DeliveryStatus converts s for notify.StatusRecorder: accepted,
// scheduled, queued and sending are notify.DeliveryQueued; sent is
// DeliverySent; delivered and read are DeliveryDelivered; undelivered and
// partially_delivered are DeliveryUndelivered; failed and canceled are
// DeliveryFailed. An unknown status has no State.
func (s Status) DeliveryStatus() notify.DeliveryStatus {
	d := notify.DeliveryStatus{ProviderID: s.MessageSID, Reason: s.Meaning(), At: s.Received}
	if s.ErrorCode != 0 {
		d.ErrorCode = strconv.Itoa(s.ErrorCode)
	}
	switch s.Status {
	case StatusAccepted, StatusScheduled, StatusQueued, StatusSending:
		d.State = notify.DeliveryQueued
	case StatusSent:
		d.State = notify.DeliverySent
	case StatusDelivered, StatusRead:
		d.State = notify.DeliveryDelivered
	case StatusUndelivered, StatusPartiallyDelivered:
		d.State = notify.DeliveryUndelivered
	case StatusFailed, StatusCanceled:
		d.State = notify.DeliveryFailed
	}
	return d
}

// RecordStatus returns a StatusHandlerConfig.OnStatus that records each
// status in rec (an outbox that implements notify.StatusRecorder) under
// the message's key. A status without a key (a message sent outside the
// outbox, such as SendTest's) or of an unknown kind is skipped, and so is
// one whose key the outbox no longer holds: Twilio would only retry it in
// vain. Other errors reach the handler, which answers 500.
func RecordStatus(rec notify.StatusRecorder) func(context.Context, Status) error {
	return func(ctx context.Context, st Status) error {
		d := st.DeliveryStatus()
		if st.Key == "" || d.State == "" {
			return nil
		}
		if err := rec.RecordStatus(ctx, st.Key, d); err != nil && !errors.Is(err, notify.ErrUnknownMessage) {
			return err
		}
		return nil
	}
}
