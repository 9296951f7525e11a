package twilio

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Sentinels for errors.Is. An *Error matches the one its Twilio code or
// HTTP status stands for; a *FieldError matches ErrSettings, ErrInvalidTo
// or ErrInvalidMessage.
var (
	// ErrSettings: the settings are incomplete or malformed (see Validate).
	ErrSettings = errors.New("twilio: invalid settings")
	// ErrDisabled: Settings.Enabled is false, so SendSMS sends nothing.
	ErrDisabled = errors.New("twilio: SMS sending is disabled: enable it on the Twilio settings page")
	// ErrInvalidMessage: the body is empty, too long or not UTF-8.
	ErrInvalidMessage = errors.New("twilio: invalid message")
	// ErrInvalidTo: the recipient is not a valid mobile number (a local
	// E.164 check, or Twilio's 21211 or 21614).
	ErrInvalidTo = errors.New("twilio: invalid recipient number")
	// ErrAuth: Twilio refused the credentials (20003, HTTP 401).
	ErrAuth = errors.New("twilio: authentication failed")
	// ErrUnverified: a trial account may send only to verified numbers (21608).
	ErrUnverified = errors.New("twilio: recipient not verified on a trial account")
	// ErrOptedOut: the recipient replied STOP to this sender (21610).
	ErrOptedOut = errors.New("twilio: recipient opted out")
	// ErrRateLimited: Twilio asked to slow down (HTTP 429, or 20429).
	ErrRateLimited = errors.New("twilio: rate limited")
	// ErrServer: Twilio failed (HTTP 5xx); the message may have been sent.
	ErrServer = errors.New("twilio: server error")
)

// Twilio error codes the client and twiliotest know by name.
const (
	CodeAuthenticate    = 20003 // wrong Account SID, token or API key
	CodeNotFound        = 20404 // no such resource (often a wrong Account SID)
	CodeTooManyRequests = 20429 // rate limited
	CodeInvalidTo       = 21211 // the To number is not a valid phone number
	CodeInvalidFrom     = 21212 // the From number is not a valid phone number
	CodeNoPermission    = 21408 // SMS to that region is not enabled
	CodeBodyRequired    = 21602 // no Body
	CodeFromRequired    = 21603 // neither From nor MessagingServiceSid
	CodeToRequired      = 21604 // no To
	CodeFromNotOwned    = 21606 // From is not an SMS-capable number of the account
	CodeUnverified      = 21608 // trial accounts send only to verified numbers
	CodeBadCallback     = 21609 // invalid StatusCallback URL
	CodeOptedOut        = 21610 // the recipient replied STOP
	CodeCannotRoute     = 21612 // no route between From and To
	CodeNotMobile       = 21614 // To is not a mobile number
	CodeBodyTooLong     = 21617 // Body over 1,600 characters
)

// Error is an error answer from Twilio's API: the HTTP status and, from
// Twilio's error JSON, the code, message and more-info link. When the body
// was not Twilio's JSON (a proxy's HTML page, say), Code is 0 and Body holds
// a bounded, printable excerpt. Error() adds what an admin should do.
type Error struct {
	Status   int    // HTTP status, such as 400
	Code     int    // Twilio's error code, such as 21211; 0 if none
	Message  string // Twilio's message
	MoreInfo string // link to Twilio's page about Code
	Body     string // excerpt of a non-JSON body, at most 200 bytes
	Attempts int    // requests made for the message, this one included

	retryAfter time.Duration
	temporary  bool
}

// RetryAfter returns the wait that the answer's Retry-After header asked
// for, or 0 when it had none. notify.RetryAfter reads it, so that a
// notify.Deliverer does not try the message again any sooner.
func (e *Error) RetryAfter() time.Duration { return e.retryAfter }

// Error says what Twilio answered and what the admin should do about it:
// the HTTP status, Twilio's code and message (or the excerpt), the hint and
// the more-info link.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("twilio: HTTP ")
	b.WriteString(strconv.Itoa(e.Status))
	if t := http.StatusText(e.Status); t != "" {
		b.WriteString(" " + t)
	}
	if e.Code != 0 {
		b.WriteString(", error " + strconv.Itoa(e.Code))
	}
	switch {
	case e.Message != "":
		b.WriteString(": " + strings.TrimRight(e.Message, ". "))
	case e.Body != "":
		b.WriteString(", not Twilio's JSON: " + strconv.Quote(e.Body))
	}
	if h := e.Hint(); h != "" {
		b.WriteString(". " + h)
	}
	if e.MoreInfo != "" {
		b.WriteString(" (" + e.MoreInfo + ")")
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " [after %d attempts]", e.Attempts)
	}
	return b.String()
}

// Hint says what an admin should do about the error, or "" when there is
// nothing more to say than Twilio's message.
func (e *Error) Hint() string {
	switch e.Code {
	case CodeAuthenticate:
		return hintAuth
	case CodeNotFound:
		return "Check the Account SID: Twilio has no such account for these credentials"
	case CodeTooManyRequests:
		return hintRateLimit
	case CodeInvalidTo:
		return "Check the recipient's number: it must be a mobile number in E.164 form, such as +14155550100"
	case CodeInvalidFrom, CodeFromNotOwned:
		return "Check the From Number: it must be an SMS-capable number of this Twilio account, in E.164 form"
	case CodeNoPermission:
		return "Enable SMS to the recipient's country under Messaging > Geo permissions in the Twilio console"
	case CodeUnverified:
		return "This is a trial account, which sends only to verified numbers: verify the recipient under Phone Numbers > Verified Caller IDs in the Twilio console, or upgrade the account"
	case CodeOptedOut:
		return "The recipient replied STOP to this sender; they receive nothing more until they text START to it"
	case CodeCannotRoute:
		return "Twilio cannot deliver from this From Number to this recipient; try another sender or a Messaging Service"
	case CodeNotMobile:
		return "The recipient's number cannot receive SMS (a landline?); use a mobile number"
	}
	switch {
	case e.Status == http.StatusUnauthorized:
		return hintAuth
	case e.Status == http.StatusTooManyRequests:
		return hintRateLimit
	case e.Status >= 500:
		return "Twilio failed; the message may or may not have been sent, and a retry may deliver it twice. If this persists, check status.twilio.com"
	case e.Status >= 300 && e.Status < 400, e.Code == 0 && e.Body != "":
		return "Check the base URL: the answer did not come from Twilio's API"
	}
	return ""
}

const (
	hintAuth      = "Check the Account SID and Auth Token (or API key SID and secret): copy them again from the Twilio console"
	hintRateLimit = "Twilio is limiting this account's request rate; send less often or retry later"
)

// Temporary reports whether a later attempt may succeed: true for a rate
// limit, and for a 5xx answer unless Config.AtMostOnce is set (Twilio may
// have sent the message before failing, so a retry may send it twice).
func (e *Error) Temporary() bool { return e.temporary }

// Is matches the sentinel the code or status stands for.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrAuth:
		return e.Code == CodeAuthenticate || e.Status == http.StatusUnauthorized
	case ErrRateLimited:
		return e.Code == CodeTooManyRequests || e.Status == http.StatusTooManyRequests
	case ErrInvalidTo:
		return e.Code == CodeInvalidTo || e.Code == CodeNotMobile
	case ErrUnverified:
		return e.Code == CodeUnverified
	case ErrOptedOut:
		return e.Code == CodeOptedOut
	case ErrServer:
		return e.Status >= 500
	}
	return false
}

// NetworkError is a request that got no answer: the connection failed,
// timed out, or the context ended while waiting. Unwrap gives the cause,
// so errors.Is(err, context.DeadlineExceeded) works.
type NetworkError struct {
	URL      string // the endpoint, without credentials
	Err      error  // the cause
	Attempts int    // requests made for the message, this one included

	temporary bool
}

// Error names the endpoint and the cause, and says whether the message may
// have been sent.
func (e *NetworkError) Error() string {
	cause := e.Err.Error()
	var ue *url.Error
	if errors.As(e.Err, &ue) && ue.Err != nil {
		cause = ue.Err.Error() // without the URL, which comes first below
	}
	var hint string
	switch {
	case errors.Is(e.Err, context.Canceled):
		hint = "the request was cancelled; the message may or may not have been sent"
	case e.Timeout():
		hint = "no answer in time; the message may or may not have been sent"
	case notSent(e.Err):
		hint = "nothing was sent; check the base URL and that this host can reach it (DNS, proxy, firewall)"
	default:
		hint = "the connection failed mid-request; the message may or may not have been sent"
	}
	s := fmt.Sprintf("twilio: POST %s: %s: %s", e.URL, cause, hint)
	if e.Attempts > 1 {
		s += fmt.Sprintf(" [after %d attempts]", e.Attempts)
	}
	return s
}

// Unwrap returns the cause.
func (e *NetworkError) Unwrap() error { return e.Err }

// Timeout reports whether the request ran out of time (the context's
// deadline or the HTTP client's timeout).
func (e *NetworkError) Timeout() bool {
	if errors.Is(e.Err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(e.Err, &ne) && ne.Timeout()
}

// Temporary reports whether a later attempt may succeed: true when the
// connection could not be made at all (nothing was sent), and for a
// timeout or a connection lost mid-request unless Config.AtMostOnce is
// set (Twilio may have sent the message, so a retry may send it twice).
// False when the caller cancelled the request.
func (e *NetworkError) Temporary() bool { return e.temporary }

// notSent reports whether err happened before any byte of the request
// could reach the server: a failed dial or DNS lookup.
func notSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}
