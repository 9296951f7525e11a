package notifypg

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/siteadmin/integrations/notify"
)

// DeadLetter is a message the Deliverer gave up on, for an admin page.
// Its Message holds the whole body, reset links and codes included: show
// it only to those who may read the users' mail.
type DeadLetter struct {
	// Key is the message's idempotency key.
	Key string
	// Message is the stored message; Attempts is the number of claims.
	// It is the zero Message for a row that holds no notify.Message
	// (Reason then says so).
	Message notify.Message
	// Reason is the last failure's reason, such as "permanent failure:
	// 550 no such user".
	Reason string
	// Enqueued is when the message was enqueued.
	Enqueued time.Time
	// Died is when it became a dead letter.
	Died time.Time
}

// ErrNotDead is returned by Requeue when the table holds no dead letter
// with the key.
var ErrNotDead = errors.New("notifypg: no dead letter with that key")

// DefaultDeadLetterLimit is how many dead letters DeadLetters returns when
// its limit is 0 or less.
const DefaultDeadLetterLimit = 100

// DeadLetters returns up to limit dead letters, the most recent first
// (DefaultDeadLetterLimit when limit is 0 or less).
func (o *Outbox) DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error) {
	if limit <= 0 {
		limit = DefaultDeadLetterLimit
	}
	rows, err := o.db.QueryContext(ctx, o.sql.deadLetters, limit)
	if err != nil {
		return nil, fmt.Errorf("notifypg: listing dead letters: %w", err)
	}
	defer rows.Close()
	var out []DeadLetter
	for rows.Next() {
		var d DeadLetter
		var raw []byte
		var attempts int
		if err := rows.Scan(&d.Key, &raw, &attempts, &d.Reason, &d.Enqueued, &d.Died); err != nil {
			return nil, fmt.Errorf("notifypg: listing dead letters: %w", err)
		}
		if decodeMessage(raw, &d.Message) != nil {
			d.Message = notify.Message{} // listed by its key and reason
		}
		d.Message.Attempts = attempts
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("notifypg: listing dead letters: %w", err)
	}
	return out, nil
}

// Requeue makes the dead letter with key pending again, due now, with its
// attempts reset to 0 so that the Deliverer gives it a full set of
// retries; its last failure's reason stays until the next attempt. Use it
// once the cause is fixed (a mailbox created, settings corrected). It
// returns ErrNotDead when no dead letter has that key.
func (o *Outbox) Requeue(ctx context.Context, key string) error {
	res, err := o.db.ExecContext(ctx, o.sql.requeue, o.clock(), key)
	if err != nil {
		return fmt.Errorf("notifypg: requeuing %q: %w", key, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("notifypg: requeuing %q: %w", key, err)
	} else if n == 0 {
		return fmt.Errorf("%w: %q", ErrNotDead, key)
	}
	return nil
}

// purgeBatch bounds the rows one DELETE removes, so that a purge of a
// large backlog never holds locks on all of it at once.
const purgeBatch = 10000

// Purge deletes the delivered and dead messages that became so more than
// retention ago, and returns how many it deleted. A stored message holds
// its whole body, so keep retention short (the Outbox doc asks hosts to
// delete old rows): a daily job with a retention of a week or a month is
// typical. Pending messages are never purged. It deletes in batches of
// 10,000 rows, each its own statement.
func (o *Outbox) Purge(ctx context.Context, retention time.Duration) (int64, error) {
	if retention < 0 {
		return 0, fmt.Errorf("notifypg: Purge: negative retention %s", retention)
	}
	var total int64
	for {
		res, err := o.db.ExecContext(ctx, o.sql.purge, o.clock(), retention.Microseconds(), purgeBatch)
		if err != nil {
			return total, fmt.Errorf("notifypg: Purge: %w", err)
		}
		n, err := res.RowsAffected()
		total += n
		if err != nil {
			return total, fmt.Errorf("notifypg: Purge: %w", err)
		}
		if n < purgeBatch {
			return total, nil
		}
	}
}

// UndeliveredMessage is a message whose provider reported at last that it
// never arrived (notify.DeliveryUndelivered or DeliveryFailed): a
// two-factor code that did not reach the phone, say. It leaves the body
// out, since the admin needs to know who went without a code, not what
// the code was.
type UndeliveredMessage struct {
	// Key is the message's idempotency key.
	Key string
	// Kind is the message's kind, such as notify.KindTwoFactorCode.
	Kind notify.Kind
	// To is the recipient's phone number or email address.
	To string
	// Status is the provider's final report: its message ID, error code
	// and what the code means.
	Status notify.DeliveryStatus
	// Enqueued is when the message was enqueued.
	Enqueued time.Time
}

// Undelivered returns up to limit messages whose final delivery status
// (see RecordStatus) is undelivered or failed, the latest report first
// (DefaultDeadLetterLimit when limit is 0 or less): for an admin page of
// the codes that never arrived. Dead letters, which the provider never
// accepted, are listed by DeadLetters instead. Purge deletes these rows
// with the delivered ones, after its retention.
func (o *Outbox) Undelivered(ctx context.Context, limit int) ([]UndeliveredMessage, error) {
	if limit <= 0 {
		limit = DefaultDeadLetterLimit
	}
	rows, err := o.db.QueryContext(ctx, o.sql.undelivered, limit)
	if err != nil {
		return nil, fmt.Errorf("notifypg: listing undelivered messages: %w", err)
	}
	defer rows.Close()
	var out []UndeliveredMessage
	for rows.Next() {
		var u UndeliveredMessage
		var raw []byte
		if u.Status, err = scanDelivery(rows, &u.Key, &raw, &u.Enqueued); err != nil {
			return nil, fmt.Errorf("notifypg: listing undelivered messages: %w", err)
		}
		var m notify.Message
		if decodeMessage(raw, &m) == nil { // else listed by key and status alone
			u.Kind, u.To = m.Kind(), m.To()
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("notifypg: listing undelivered messages: %w", err)
	}
	return out, nil
}
