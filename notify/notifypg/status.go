package notifypg

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/siteadmin/integrations/notify"
)

var _ notify.StatusRecorder = (*Outbox)(nil)

// rankCase is DeliveryState.Rank of the stored delivery_state in SQL, 0
// for NULL. A state notify adds must be added here; a test checks that the
// ranks agree with Rank.
func rankCase() string {
	var b strings.Builder
	b.WriteString("CASE delivery_state")
	for _, s := range []notify.DeliveryState{
		notify.DeliveryQueued, notify.DeliverySent,
		notify.DeliveryDelivered, notify.DeliveryUndelivered, notify.DeliveryFailed,
	} {
		b.WriteString(" WHEN '" + string(s) + "' THEN " + strconv.Itoa(s.Rank()))
	}
	b.WriteString(" ELSE 0 END")
	return b.String()
}

// undeliveredStates are the final states of a message that never arrived,
// as a SQL list.
func undeliveredStates() string {
	return "'" + string(notify.DeliveryUndelivered) + "', '" + string(notify.DeliveryFailed) + "'"
}

// deliveryColumns read a stored status for scanDelivery.
const deliveryColumns = `delivery_state, coalesce(delivery_provider_id, ''), coalesce(delivery_error_code, ''), coalesce(delivery_reason, ''), delivery_at`

// RecordStatus implements notify.StatusRecorder: it stores st beside the
// message with key, in one UPDATE guarded by the rank rule of
// notify.DeliveryStatus.Supersedes, so that reports arriving out of order
// or at once from several instances keep the latest state and the first
// final one. It records whatever the message's state (a report can come
// before MarkDelivered) and changes nothing else. It returns an error
// wrapping notify.ErrUnknownMessage when the table holds no message with
// key (sent without the outbox, or purged), and an error for a state
// notify does not know. twilio.RecordStatus(outbox) feeds it Twilio's
// status callbacks.
func (o *Outbox) RecordStatus(ctx context.Context, key string, st notify.DeliveryStatus) error {
	rank := st.State.Rank()
	if rank == 0 {
		return fmt.Errorf("notifypg: RecordStatus: %q is not a delivery state (want queued, sent, delivered, undelivered or failed)", st.State)
	}
	var found bool
	err := o.db.QueryRowContext(ctx, o.sql.recordStatus, key, string(st.State), st.ProviderID, st.ErrorCode, st.Reason, st.At, rank).Scan(&found)
	if err != nil {
		return fmt.Errorf("notifypg: RecordStatus: %w", err)
	}
	if !found {
		return fmt.Errorf("notifypg: RecordStatus: %w: %q", notify.ErrUnknownMessage, key)
	}
	return nil
}

// DeliveryStatus returns the status recorded for the message with key:
// the zero notify.DeliveryStatus when no report came yet, and an error
// wrapping notify.ErrUnknownMessage when the table holds no message with
// key. At is in the time zone the driver gives (UTC with pgx).
func (o *Outbox) DeliveryStatus(ctx context.Context, key string) (notify.DeliveryStatus, error) {
	st, err := scanDelivery(o.db.QueryRowContext(ctx, o.sql.deliveryStatus, key))
	if errors.Is(err, sql.ErrNoRows) {
		return notify.DeliveryStatus{}, fmt.Errorf("notifypg: DeliveryStatus: %w: %q", notify.ErrUnknownMessage, key)
	}
	if err != nil {
		return notify.DeliveryStatus{}, fmt.Errorf("notifypg: DeliveryStatus: %w", err)
	}
	return st, nil
}

// scanner is what *sql.Row and *sql.Rows share.
type scanner interface{ Scan(dest ...any) error }

// scanDelivery reads deliveryColumns, after the dest values given.
func scanDelivery(row scanner, dest ...any) (notify.DeliveryStatus, error) {
	var st notify.DeliveryStatus
	var state sql.NullString
	var at sql.NullTime
	if err := row.Scan(append(dest, &state, &st.ProviderID, &st.ErrorCode, &st.Reason, &at)...); err != nil {
		return notify.DeliveryStatus{}, err
	}
	if !state.Valid {
		return notify.DeliveryStatus{}, nil
	}
	st.State, st.At = notify.DeliveryState(state.String), at.Time
	return st, nil
}
