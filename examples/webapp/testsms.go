package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/twilio"
)

// "Send Test SMS" takes the path a host's two-factor codes take: a
// notify.Notifier with a Limiter (the SDK's default limits) hands the
// message to Twilio with a StatusCallback, and Twilio's callbacks come
// back to a twilio.StatusHandler at statusPath, which records them with
// twilio.RecordStatus in the log of test SMS (the host's outbox, for
// codes). The Twilio page shows that log, and its script follows the
// latest test SMS through GET /admin/twilio/status.

const (
	// statusPath is where Twilio posts the status callbacks of test SMS.
	statusPath = "/twilio/status"
	// keptTestSMS is how many test SMS the log keeps, the latest.
	keptTestSMS = 50
	// maxSteps bounds the reports kept per message: Twilio sends two or
	// three, and may repeat one.
	maxSteps = 8
	// tokenOverlap is how long a replaced auth token still verifies
	// callbacks after a save, for the messages sent before it.
	tokenOverlap = time.Hour
)

// testSMS is one test SMS and what became of it, as the Twilio page and
// its JSON endpoint show it.
type testSMS struct {
	// Key is the message's idempotency key, which Twilio's callbacks
	// carry back in their URL.
	Key    string    `json:"key"`
	To     string    `json:"to"`
	SentAt time.Time `json:"sent-at"`
	// SID is Twilio's message SID, once Twilio accepted the message.
	SID string `json:"sid,omitempty"`
	// NoStatus says why no status callbacks were asked for; "" when they
	// were.
	NoStatus string `json:"no-status,omitempty"`
	// Status is the report that stands (see
	// notify.DeliveryStatus.Supersedes): Twilio's answer to the send,
	// then its callbacks.
	Status notify.DeliveryStatus `json:"status"`
	// Final reports whether Status can no longer change.
	Final bool `json:"final"`
	// Steps are the reports received, in the order a message goes
	// through them (queued, sent, then a final one).
	Steps []notify.DeliveryStatus `json:"steps"`
}

// testSMSLog keeps the latest test SMS with what Twilio reported about
// them: for this app what a host's outbox is for its two-factor codes. It
// implements notify.StatusRecorder. It is safe for concurrent use; the
// zero value is empty.
type testSMSLog struct {
	mu   sync.Mutex
	list []*testSMS // oldest first, at most keptTestSMS
}

// begin logs a message about to be sent: before Twilio is asked, since
// its first callback can arrive before its answer.
func (l *testSMSLog) begin(m testSMS) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.list) == keptTestSMS {
		l.list = slices.Delete(l.list, 0, 1)
	}
	l.list = append(l.list, &m)
}

// RecordStatus implements notify.StatusRecorder.
func (l *testSMSLog) RecordStatus(ctx context.Context, key string, st notify.DeliveryStatus) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return l.record(key, st)
}

func (l *testSMSLog) record(key string, st notify.DeliveryStatus) error {
	if st.State.Rank() == 0 {
		return fmt.Errorf("webapp: unknown delivery state %q", st.State)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.find(key)
	if m == nil {
		return fmt.Errorf("webapp: %w: %q (the app keeps the last %d test SMS)", notify.ErrUnknownMessage, key, keptTestSMS)
	}
	if len(m.Steps) < maxSteps {
		m.Steps = append(m.Steps, st)
		slices.SortStableFunc(m.Steps, func(a, b notify.DeliveryStatus) int { return a.State.Rank() - b.State.Rank() })
	}
	if st.Supersedes(m.Status) {
		m.Status = st
	}
	if m.SID == "" {
		m.SID = st.ProviderID
	}
	return nil
}

// find returns the message with key, or nil; l.mu is held.
func (l *testSMSLog) find(key string) *testSMS {
	for _, m := range l.list {
		if m.Key == key {
			return m
		}
	}
	return nil
}

// get returns a copy of the message with key.
func (l *testSMSLog) get(key string) (testSMS, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if m := l.find(key); m != nil {
		return m.copy(), true
	}
	return testSMS{}, false
}

// recent returns copies of the messages, newest first.
func (l *testSMSLog) recent() []testSMS {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]testSMS, 0, len(l.list))
	for i := len(l.list) - 1; i >= 0; i-- {
		out = append(out, l.list[i].copy())
	}
	return out
}

func (m *testSMS) copy() testSMS {
	c := *m
	c.Steps = slices.Clone(m.Steps)
	c.Final = m.Status.State.Final()
	return c
}

// testSender is the notify.SMSSender of one "Send Test SMS": it logs the
// message under its key, sends it with the form's settings and logs
// Twilio's answer.
type testSender struct {
	client   *twilio.Client
	log      *testSMSLog
	noStatus string
	now      func() time.Time

	key     string // of the message, once SendSMS ran
	receipt twilio.Receipt
}

// SendSMS implements notify.SMSSender.
func (s *testSender) SendSMS(ctx context.Context, msg notify.SMS) error {
	s.key = msg.Key
	s.log.begin(testSMS{Key: msg.Key, To: msg.To, SentAt: s.now(), NoStatus: s.noStatus})
	r, err := s.client.Send(ctx, msg)
	if err != nil {
		_ = s.log.record(msg.Key, sendFailure(err, s.now()))
		return err
	}
	s.receipt = r
	answer := twilio.Status{MessageSID: r.SID, Status: twilio.MessageStatus(r.Status), ErrorCode: r.ErrorCode, Received: s.now()}.DeliveryStatus()
	if answer.State == "" { // a status Twilio's API does not describe
		answer.State, answer.Reason = notify.DeliveryQueued, "Twilio accepted the message with status "+strconv.Quote(r.Status)
	}
	_ = s.log.record(msg.Key, answer)
	return nil
}

// sendFailure is the status of a message Twilio did not accept. The
// test's result already shows the whole error; the log says it shortly,
// without repeating "error N".
func sendFailure(err error, at time.Time) notify.DeliveryStatus {
	d := notify.DeliveryStatus{State: notify.DeliveryFailed, At: at, Reason: "not sent: no answer from Twilio"}
	var te *twilio.Error
	if errors.As(err, &te) {
		if te.Code != 0 {
			d.ErrorCode = strconv.Itoa(te.Code)
		}
		d.Reason = "not sent: Twilio answered HTTP " + strconv.Itoa(te.Status)
		if te.Message != "" {
			d.Reason += ", " + strings.TrimRight(te.Message, ". ")
		}
		if h := te.Hint(); h != "" {
			d.Reason += ". " + h
		}
	}
	return d
}

// validateTwilioTest reports every problem of the form's settings and
// number at once, as twilio.SendTest does, so that the page marks them.
func validateTwilioTest(s twilio.Settings, to string) error {
	errs := []error{s.Validate()}
	if err := twilio.ValidateE164(to); err != nil {
		errs = append(errs, &twilio.FieldError{Field: "to", Problem: err.Error()})
	}
	return errors.Join(errs...)
}

// twilioTest runs "Send Test SMS" with the form's settings, saved or not
// and enabled or not, and puts its outcome in data: the problems of the
// form (Errs), the send limit's refusal (Limited), Twilio's refusal
// (TestError), or Twilio's receipt (Receipt) and the test SMS to follow
// (Delivery).
func (a *app) twilioTest(r *http.Request, s twilio.Settings, to string, data map[string]any) {
	data["Tested"] = true
	if err := validateTwilioTest(s, to); err != nil {
		withErrors(data, newFormErrors(err, twilioLabels))
		return
	}
	callback, noStatus := a.statusCallbackFor(s)
	s.Enabled = true // a test runs before sending is turned on, as twilio.SendTest does
	client, err := twilio.New(s, twilio.Config{StatusCallback: callback})
	if err != nil {
		withErrors(data, newFormErrors(err, twilioLabels))
		return
	}
	sender := &testSender{client: client, log: a.testSMS, noStatus: noStatus, now: a.now}
	// A Notifier per test, since each test sends with its own form's
	// settings; New takes about 2 ms. One attempt: the admin waits for
	// the answer, and the client already retries what Twilio asks it to.
	n, err := notify.New(notify.Config{SMSSender: sender, Limiter: a.limiter, SiteName: "webapp", Retry: notify.RetryPolicy{MaxAttempts: 1}, Now: a.now})
	if err != nil {
		data["TestError"] = err.Error()
		return
	}
	err = n.SendTestSMS(r.Context(), notify.TestSMS{RequestedBy: a.adminName(r)}, to)
	var limited *notify.LimitError
	var failed *notify.RecipientError
	switch {
	case errors.As(err, &limited):
		data["Limited"] = limited
	case errors.As(err, &failed) && failed.Err != nil:
		data["TestError"] = failed.Err.Error()
	case err != nil:
		data["TestError"] = err.Error()
	default:
		data["Receipt"] = sender.receipt
		if m, ok := a.testSMS.get(sender.key); ok {
			data["Delivery"] = m
		}
	}
}

// adminName names the admin of r for the test SMS's text.
func (a *app) adminName(r *http.Request) string {
	s := a.current(r)
	switch {
	case s == nil:
		return ""
	case s.BreakGlass:
		return breakGlassName
	}
	return s.NameID.Value
}

// limitText says which limit refused a send, for the admin: "the limit
// per number, 5 an hour".
func limitText(e *notify.LimitError) string {
	if e.Scope == notify.ScopeNotAllowed {
		return "SMS to region " + strconv.Quote(e.Region) + " are not allowed"
	}
	per := e.Limit.Window.String()
	switch w := e.Limit.Window; {
	case w == time.Hour:
		per = "an hour"
	case w%time.Hour == 0:
		per = "per " + strconv.Itoa(int(w/time.Hour)) + " hours"
	case w%time.Minute == 0:
		per = "per " + strconv.Itoa(int(w/time.Minute)) + " minutes"
	}
	return fmt.Sprintf("the limit per %s, %d %s", e.Scope, e.Limit.Max, per)
}

// statusCallbackFor returns the URL Twilio should post the test's
// statuses to, or "" and why not: the callbacks are signed with the
// account's auth token, and the StatusHandler knows only the saved one
// (and the one it replaced, for a while).
func (a *app) statusCallbackFor(s twilio.Settings) (callback, noStatus string) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	switch {
	case a.statusHandler == nil:
		return "", "the saved settings have no auth token, with which Twilio signs its status callbacks; save one to see delivery status"
	case s.AuthToken == a.twilio.AuthToken,
		s.AuthToken == a.prevToken && a.now().Before(a.prevTokenExpires):
		return a.base + statusPath, ""
	}
	return "", "the auth token in the form is not the saved one, with which this app checks Twilio's signed status callbacks; save the settings to see delivery status"
}

// saveTwilio stores s and the StatusHandler that checks the callbacks
// with its auth token. A token replaced by another is still accepted for
// tokenOverlap, for the callbacks of messages sent before the change.
func (a *app) saveTwilio(s twilio.Settings) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	prev, expires := a.prevToken, a.prevTokenExpires
	if old := a.twilio.AuthToken; !old.IsZero() && old != s.AuthToken {
		prev, expires = old, a.now().Add(tokenOverlap)
	}
	var h *twilio.StatusHandler
	if !s.AuthToken.IsZero() {
		cfg := twilio.StatusHandlerConfig{URL: a.base + statusPath, AuthToken: s.AuthToken, OnStatus: twilio.RecordStatus(a.testSMS), Now: a.now}
		if !prev.IsZero() && prev != s.AuthToken && a.now().Before(expires) {
			cfg.PreviousAuthToken, cfg.PreviousAuthTokenExpires = prev, expires
		} else {
			prev, expires = "", time.Time{}
		}
		var err error
		if h, err = twilio.NewStatusHandler(cfg); err != nil {
			return err
		}
	}
	a.twilio, a.statusHandler, a.prevToken, a.prevTokenExpires = s, h, prev, expires
	return nil
}

// twilioCallback is where Twilio posts the status of each test SMS.
func (a *app) twilioCallback(w http.ResponseWriter, r *http.Request) {
	a.mu.RLock()
	h := a.statusHandler
	a.mu.RUnlock()
	if h == nil {
		http.Error(w, "status callbacks are off: the saved Twilio settings have no auth token to check their signature with", http.StatusServiceUnavailable)
		return
	}
	h.ServeHTTP(w, r)
}

// testSMSStatus answers the Twilio page's script: the test SMS of ?key=,
// with its latest status and every report so far.
func (a *app) testSMSStatus(w http.ResponseWriter, r *http.Request) {
	m, ok := a.testSMS.get(r.URL.Query().Get("key"))
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("no test SMS with this key: the app keeps the last %d", keptTestSMS)})
		return
	}
	writeJSON(w, http.StatusOK, m)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// clock shows the time of a report: "15:04:05 UTC".
func clock(t time.Time) string { return t.UTC().Format(time.TimeOnly) + " UTC" }

// stamp shows when a test SMS was sent: "2006-01-02 15:04:05 UTC".
func stamp(t time.Time) string { return t.UTC().Format(time.DateTime) + " UTC" }

// stateClass is the CSS class of a delivery state: ok once delivered,
// err once it cannot arrive, none while it may.
func stateClass(s notify.DeliveryState) string {
	switch s {
	case notify.DeliveryDelivered:
		return "ok"
	case notify.DeliveryUndelivered, notify.DeliveryFailed:
		return "err"
	}
	return ""
}
