package twiliotest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/siteadmin/integrations"
	"github.com/siteadmin/integrations/twilio"
)

// Outcome is how a message ends, as its status callbacks report it.
type Outcome struct {
	// Status is the final status: twilio.StatusDelivered,
	// twilio.StatusUndelivered or twilio.StatusFailed.
	Status twilio.MessageStatus
	// ErrorCode is Twilio's error code for an undelivered or failed
	// message, such as twilio.CodeUnreachable (30003).
	ErrorCode int
}

// Delivered is the outcome of a message that reached the handset: the
// callbacks say sent, then delivered. It is the default.
func Delivered() Outcome { return Outcome{Status: twilio.StatusDelivered} }

// Undelivered is the outcome of a message the carrier took but could not
// deliver: the callbacks say sent, then undelivered with code (30003 for
// a phone that is off, 30005 for an unknown number, 30006 for a
// landline, 30007 for a carrier's filter).
func Undelivered(code int) Outcome {
	return Outcome{Status: twilio.StatusUndelivered, ErrorCode: code}
}

// Failed is the outcome of a message Twilio could not send at all: one
// callback says failed with code (30008 for an unknown error, 21610 for
// a recipient who opted out).
func Failed(code int) Outcome { return Outcome{Status: twilio.StatusFailed, ErrorCode: code} }

// statuses returns the callbacks' statuses in order.
func (o Outcome) statuses() []twilio.MessageStatus {
	if o.Status == twilio.StatusFailed {
		return []twilio.MessageStatus{twilio.StatusFailed}
	}
	return []twilio.MessageStatus{twilio.StatusSent, o.Status}
}

// Callback is one status callback the server sent, or tried to send.
type Callback struct {
	MessageSID string
	// URL is the message's StatusCallback, which the request went to and
	// which the signature covers.
	URL       string
	Status    twilio.MessageStatus
	ErrorCode int
	// Form is the request's body, as Twilio sends it.
	Form url.Values
	// Signature and Settings are the X-Twilio-Signature and (with a
	// shared key) X-Twilio-Webhooks-Signature-Settings headers sent.
	Signature, Settings string
	// Response is the HTTP status the host answered, 0 when none.
	Response int
	// Err is why the callback got no answer, or was not sent: the server
	// calls only loopback addresses.
	Err error
}

// callbacks is the Server's callback state, guarded by Server.mu.
type callbacks struct {
	ctx      context.Context
	cancel   context.CancelFunc
	inFlight int
	idle     chan struct{} // closed when inFlight drops to 0
	sent     []Callback
	outcomes map[string]Outcome // by recipient
	next     []Outcome
	keyID    string
	key      integrations.Secret
	alg      twilio.Algorithm
	client   *http.Client
}

// SetOutcome makes every later message to the number to end as o.
// Messages to other numbers end Delivered unless NextOutcomes says
// otherwise.
func (s *Server) SetOutcome(to string, o Outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cb.outcomes == nil {
		s.cb.outcomes = map[string]Outcome{}
	}
	s.cb.outcomes[to] = o
}

// NextOutcomes makes the next len(os) accepted messages end as os, in
// order, whatever their recipients; it comes before SetOutcome.
func (s *Server) NextOutcomes(os ...Outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cb.next = append(s.cb.next, os...)
}

// SignCallbacksWith makes the server sign callbacks as a Webhooks Rule
// would: with the shared key's secret and algorithm, naming id in the
// X-Twilio-Webhooks-Signature-Settings header. An empty id returns to the
// default, HMAC-SHA1 with AuthToken and no settings header.
func (s *Server) SignCallbacksWith(id string, secret integrations.Secret, alg twilio.Algorithm) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cb.keyID, s.cb.key, s.cb.alg = id, secret, alg
}

// SetCallbackClient replaces the client that posts callbacks, such as an
// httptest TLS server's Client() for an https URL. Default: a client with
// a 10-second timeout. Whatever the client, only loopback addresses are
// called.
func (s *Server) SetCallbackClient(c *http.Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cb.client = c
}

// Callbacks returns the callbacks sent (or refused) so far, in the order
// they finished.
func (s *Server) Callbacks() []Callback {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Callback, len(s.cb.sent))
	for i, c := range s.cb.sent {
		c.Form = cloneValues(c.Form)
		out[i] = c
	}
	return out
}

// Flush waits until every callback of the messages accepted so far has
// been sent and answered, or ctx is done.
func (s *Server) Flush(ctx context.Context) error {
	s.mu.Lock()
	if s.cb.inFlight == 0 {
		s.mu.Unlock()
		return nil
	}
	idle := s.cb.idle
	s.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("twiliotest: callbacks still under way: %w", ctx.Err())
	}
}

// PostCallback sends one status callback for m now, signed as the server
// signs, and returns it once the host has answered. Use it to send what
// Twilio sometimes does: a late, repeated or out-of-order status.
func (s *Server) PostCallback(ctx context.Context, m Message, status twilio.MessageStatus, errorCode int) Callback {
	s.mu.Lock()
	keyID, key, alg, client := s.cb.keyID, s.cb.key, s.cb.alg, s.cb.client
	s.mu.Unlock()
	cb := s.post(ctx, client, m, status, errorCode, keyID, key, alg)
	s.mu.Lock()
	s.cb.sent = append(s.cb.sent, cb)
	s.mu.Unlock()
	return cb
}

// startCallbacks sends m's callbacks in the background, in order, as
// Twilio does after it answered the request; it needs s.mu.
func (s *Server) startCallbacks(m Message) {
	if m.StatusCallback == "" {
		return
	}
	o := Delivered()
	if len(s.cb.next) > 0 {
		o, s.cb.next = s.cb.next[0], s.cb.next[1:]
	} else if set, ok := s.cb.outcomes[m.To]; ok {
		o = set
	}
	if s.cb.ctx == nil {
		s.cb.ctx, s.cb.cancel = context.WithCancel(context.Background())
	}
	if s.cb.inFlight == 0 {
		s.cb.idle = make(chan struct{})
	}
	s.cb.inFlight++
	ctx, keyID, key, alg, client := s.cb.ctx, s.cb.keyID, s.cb.key, s.cb.alg, s.cb.client
	go func() {
		for _, status := range o.statuses() {
			code := 0
			if status == o.Status {
				code = o.ErrorCode
			}
			cb := s.post(ctx, client, m, status, code, keyID, key, alg)
			s.mu.Lock()
			s.cb.sent = append(s.cb.sent, cb)
			s.mu.Unlock()
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.cb.inFlight--; s.cb.inFlight == 0 {
			close(s.cb.idle)
		}
	}()
}

// stopCallbacks ends the callbacks still under way; Close calls it.
func (s *Server) stopCallbacks() {
	s.mu.Lock()
	cancel := s.cb.cancel
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	ctx, done := context.WithTimeout(context.Background(), 5*time.Second)
	defer done()
	_ = s.Flush(ctx)
}

// post sends one callback the way Twilio does: a form-encoded POST of the
// message's fields, signed over the StatusCallback URL.
func (s *Server) post(ctx context.Context, client *http.Client, m Message, status twilio.MessageStatus, code int, keyID string, key integrations.Secret, alg twilio.Algorithm) Callback {
	form := url.Values{
		"AccountSid":    {m.AccountSID},
		"ApiVersion":    {"2010-04-01"},
		"MessageSid":    {m.SID},
		"MessageStatus": {string(status)},
		"SmsSid":        {m.SID},
		"SmsStatus":     {string(status)},
		"To":            {m.To},
	}
	if m.From != "" {
		form.Set("From", m.From)
	}
	if m.MessagingServiceSID != "" {
		form.Set("MessagingServiceSid", m.MessagingServiceSID)
	}
	if code != 0 {
		form.Set("ErrorCode", strconv.Itoa(code))
	}
	cb := Callback{MessageSID: m.SID, URL: m.StatusCallback, Status: status, ErrorCode: code, Form: form}
	if keyID == "" {
		key, alg = AuthToken, twilio.HMACSHA1
	} else {
		cb.Settings = "key=" + keyID + ",algorithm=" + string(alg)
	}
	if cb.Signature, cb.Err = twilio.Signature(alg, key, m.StatusCallback, form); cb.Err != nil {
		return cb
	}
	if cb.Err = loopbackOnly(m.StatusCallback); cb.Err != nil {
		return cb
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.StatusCallback, strings.NewReader(form.Encode()))
	if err != nil {
		cb.Err = err
		return cb
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "TwilioProxy/1.1 (twiliotest)")
	req.Header.Set(twilio.SignatureHeader, cb.Signature)
	if cb.Settings != "" {
		req.Header.Set(twilio.SignatureSettingsHeader, cb.Settings)
	}
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		cb.Err = err
		return cb
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	cb.Response = resp.StatusCode
	return cb
}

// ErrNotLoopback is the Callback.Err of a callback not sent because its
// URL is not on loopback: tests stay on this machine.
var ErrNotLoopback = errors.New("twiliotest: status callbacks go only to loopback addresses (127.0.0.1, ::1, localhost)")

func loopbackOnly(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%w: not sent to %s", ErrNotLoopback, host)
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
