package notify

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/siteadmin/integrations"
)

// Sentinels for errors.Is. Each is wrapped in an error that says what to
// fix.
var (
	// ErrInvalidRecipient: an address is not a bare email address, or a
	// number is not in E.164 form. Nothing is sent to that recipient.
	ErrInvalidRecipient = errors.New("notify: invalid recipient")
	// ErrNoTransport: the kind needs a Mailer or SMSSender that the
	// configuration does not have.
	ErrNoTransport = errors.New("notify: no transport")
)

// RecipientError is the failure to notify one recipient. The Notifier
// returns one per failed recipient, joined with errors.Join; errors.As
// finds the first, and errors.Is and errors.As see through it to the
// transport's error.
type RecipientError struct {
	// Kind is the notification kind.
	Kind Kind
	// Recipient is the address or number that was not notified.
	Recipient string
	// Key is the message's idempotency key, empty if nothing was sent.
	Key string
	// Attempts is the number of delivery attempts made; 0 when the
	// message was never sent (an invalid recipient).
	Attempts int
	// Err is the cause: the last attempt's error, or why none was made.
	Err error

	sensitive []integrations.Secret
}

// Error says which recipient failed, after how many attempts, and why. A
// secret of the message (a two-factor code, a reset link) is replaced by
// "[redacted]" even if the transport's error repeats it.
func (e *RecipientError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "notify: %s to %q", e.Kind, e.Recipient)
	if e.Attempts > 0 {
		fmt.Fprintf(&b, " failed after %d attempt", e.Attempts)
		if e.Attempts > 1 {
			b.WriteByte('s')
		}
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(redact(e.Err.Error(), e.sensitive))
	}
	return b.String()
}

// Unwrap returns Err.
func (e *RecipientError) Unwrap() error { return e.Err }

// redact replaces every non-empty secret in s by "[redacted]".
func redact(s string, secrets []integrations.Secret) string {
	for _, sec := range secrets {
		if v := sec.Reveal(); v != "" {
			s = strings.ReplaceAll(s, v, "[redacted]")
		}
	}
	return s
}

// RetryAfter returns how long the server behind err asked its client to
// wait before trying again, such as an HTTP Retry-After, or 0 when it
// did not say. A transport reports the wait with a method on its error,
//
//	RetryAfter() time.Duration
//
// which RetryAfter finds with errors.As anywhere in err's chain, as
// IsTemporary finds Temporary; a negative wait counts as 0. The Deliverer
// never makes a message due again sooner than this wait, and the
// Notifier never retries sooner (it gives up instead when the wait would
// pass RetryPolicy.MaxElapsed). twilio.Error has the method.
func RetryAfter(err error) time.Duration {
	var r interface{ RetryAfter() time.Duration }
	if errors.As(err, &r) {
		return max(r.RetryAfter(), 0)
	}
	return 0
}
