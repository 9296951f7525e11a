// Package twiliotest runs an in-process fake of Twilio's Messages API on
// loopback, for tests of code that sends SMS with package twilio.
//
//	srv := twiliotest.NewServer()
//	defer srv.Close()
//	client, _ := twilio.New(srv.Settings(), twilio.Config{})
//	_ = client.SendSMS(ctx, notify.SMS{To: "+14155550100", Body: "hi"})
//	msgs := srv.Messages() // one Message, with its SID, fields and credentials
//
// The server checks what Twilio checks (HTTP Basic auth with AccountSID
// and AuthToken or APIKeySID and APIKeySecret, the Account SID in the
// path, the form's content type and its To, Body and From or
// MessagingServiceSid fields), answers 201 with Twilio's JSON for a
// message resource, and Twilio's error JSON otherwise. Magic numbers (see
// ToInvalid and the constants after it) produce Twilio's errors on demand,
// and methods inject faults: TooManyRequests, ServerError, NonJSON and
// Slow.
package twiliotest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/twilio"
)

// The credentials and senders the server accepts.
const (
	AccountSID          = "AC0123456789abcdef0123456789abcdef"
	AuthToken           = "f00dfacecafebeef5eed0ddba11fee1d"
	APIKeySID           = "SK0123456789abcdef0123456789abcdef"
	APIKeySecret        = "twiliotest-api-key-secret-0123456"
	MessagingServiceSID = "MG0123456789abcdef0123456789abcdef"
	// FromNumber is a valid sender, Twilio's own magic "From" number.
	FromNumber = "+15005550006"
)

// Magic numbers: sending to (or from) one of them gets Twilio's error for
// it. The numbers are those of Twilio's test credentials, except
// ToUnverified, which Twilio does not have. Every other valid number
// succeeds.
const (
	ToInvalid      = "+15005550001" // 400, 21211: not a valid phone number
	ToCannotRoute  = "+15005550002" // 400, 21612: cannot route to this number
	ToNoPermission = "+15005550003" // 400, 21408: region not enabled
	ToOptedOut     = "+15005550004" // 400, 21610: the recipient replied STOP
	ToNotMobile    = "+15005550009" // 400, 21614: not a mobile number
	ToUnverified   = "+15005550010" // 400, 21608: unverified number on a trial account
	FromInvalid    = "+15005550001" // 400, 21212: not a valid From number
	FromNotOwned   = "+15005550007" // 400, 21606: not a number of this account
)

// Message is one message the server accepted.
type Message struct {
	SID                 string // "SM" and 32 hex digits, in order of arrival
	AccountSID          string // from the path
	To                  string
	From                string // "" when sent through a Messaging Service only
	MessagingServiceSID string
	Body                string
	StatusCallback      string
	Username            string     // the Basic auth user: AccountSID or APIKeySID
	UserAgent           string     // the request's User-Agent
	Form                url.Values // every field as received
	Segments            twilio.Segments
	Created             time.Time
}

type fault struct {
	status          int
	retryAfter      time.Duration
	nonJSON         bool
	dropAfterAccept bool
}

// Server is the fake. Create it with NewServer; it is safe for concurrent
// use, and it is an http.Handler for hosts that mount it themselves.
type Server struct {
	// URL is the server's base URL, such as "http://127.0.0.1:41234": the
	// Settings.BaseURL for clients.
	URL string

	srv *httptest.Server

	mu       sync.Mutex
	faults   []fault
	delay    time.Duration
	messages []Message
	requests int
	seq      int
	cb       callbacks
}

// NewServer starts a fake on a loopback port. Close it when done.
func NewServer() *Server {
	s := &Server{}
	s.srv = httptest.NewServer(s)
	s.URL = s.srv.URL
	return s
}

// Close shuts the server down, ending any request still waiting in Slow
// and any status callback still under way.
func (s *Server) Close() {
	s.srv.Close()
	s.stopCallbacks()
}

// Settings returns enabled settings that send to this server with
// AccountSID, AuthToken and FromNumber.
func (s *Server) Settings() twilio.Settings {
	return twilio.Settings{
		Enabled:    true,
		AccountSID: AccountSID,
		AuthToken:  AuthToken,
		FromNumber: FromNumber,
		BaseURL:    s.URL,
	}
}

// Messages returns a copy of the accepted messages, in order of arrival.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.messages))
	for i, m := range s.messages {
		m.Form = make(url.Values, len(m.Form))
		for k, v := range s.messages[i].Form {
			m.Form[k] = append([]string(nil), v...)
		}
		out[i] = m
	}
	return out
}

// Requests returns how many requests the server received, whatever it
// answered.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// TooManyRequests makes the next n authenticated requests fail with HTTP
// 429 and Twilio's 20429, with a Retry-After header of retryAfter in whole
// seconds (rounded up) when retryAfter > 0, and without one otherwise.
func (s *Server) TooManyRequests(n int, retryAfter time.Duration) {
	s.addFaults(n, fault{status: http.StatusTooManyRequests, retryAfter: retryAfter})
}

// ServerError makes the next n authenticated requests fail with HTTP 500
// and Twilio's error JSON (code 20500).
func (s *Server) ServerError(n int) {
	s.addFaults(n, fault{status: http.StatusInternalServerError})
}

// ServiceUnavailable makes the next n authenticated requests fail with
// HTTP 503 and Twilio's error JSON (code 20503), as during an outage.
// Nothing is recorded.
func (s *Server) ServiceUnavailable(n int) {
	s.addFaults(n, fault{status: http.StatusServiceUnavailable})
}

// DropAfterAccept makes the next n authenticated requests that carry a
// valid message record it, as sent, and then close the connection
// without an answer, as a connection reset after Twilio queued the
// message would: the client cannot tell that it was sent. A request
// that fails the checks is answered as usual and still uses one of n.
func (s *Server) DropAfterAccept(n int) {
	s.addFaults(n, fault{dropAfterAccept: true})
}

// NonJSON makes the next n authenticated requests fail with the given
// HTTP status and an HTML body, as a proxy in front of Twilio would.
func (s *Server) NonJSON(n int, status int) {
	s.addFaults(n, fault{status: status, nonJSON: true})
}

// Slow makes every later answer wait d first, or until the client gives
// up; 0 turns it off.
func (s *Server) Slow(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Faults are used in the order they were added, one per request.
func (s *Server) addFaults(n int, f fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, f)
	}
}

// ServeHTTP answers like Twilio's POST
// /2010-04-01/Accounts/{AccountSid}/Messages.json. The checks run in this
// order: the path (404, 20404), the method (405, 20004), Basic auth and
// the account in the path (401, 20003), an injected fault, the content
// type (400, 20001), then the fields and magic numbers.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	delay := s.delay
	s.mu.Unlock()
	// Reading the body first lets net/http notice a client that hangs up
	// during the delay, and end r.Context().
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		writeError(w, http.StatusBadRequest, 20001, "Unreadable body: "+err.Error())
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	sid, ok := accountFromPath(r.URL.Path)
	if !ok {
		writeError(w, http.StatusNotFound, twilio.CodeNotFound, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, 20004, "Method not allowed")
		return
	}
	user, ok := authenticate(r, sid)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
		writeError(w, http.StatusUnauthorized, twilio.CodeAuthenticate, "Authenticate")
		return
	}
	f, faulty := s.nextFault()
	if faulty && !f.dropAfterAccept {
		writeFault(w, f)
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		writeError(w, http.StatusBadRequest, 20001, "Content-Type must be application/x-www-form-urlencoded, got "+strconv.Quote(ct))
		return
	}
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, 20001, "Unreadable form: "+err.Error())
		return
	}
	m := Message{
		AccountSID:          sid,
		To:                  r.PostForm.Get("To"),
		From:                r.PostForm.Get("From"),
		MessagingServiceSID: r.PostForm.Get("MessagingServiceSid"),
		Body:                r.PostForm.Get("Body"),
		StatusCallback:      r.PostForm.Get("StatusCallback"),
		Username:            user,
		UserAgent:           r.UserAgent(),
		Form:                r.PostForm,
	}
	if code, msg := check(m); code != 0 {
		writeError(w, http.StatusBadRequest, code, msg)
		return
	}
	m = s.record(m)
	if faulty {
		// net/http closes the connection without writing anything.
		panic(http.ErrAbortHandler)
	}
	s.answer(w, m)
}

// accountFromPath returns the {AccountSid} of a Messages.json path.
func accountFromPath(p string) (string, bool) {
	rest, ok := strings.CutPrefix(p, "/2010-04-01/Accounts/")
	if !ok {
		return "", false
	}
	sid, ok := strings.CutSuffix(rest, "/Messages.json")
	if !ok || len(sid) != 34 || !strings.HasPrefix(sid, "AC") || strings.Contains(sid, "/") {
		return "", false
	}
	return sid, true
}

// authenticate checks the Basic credentials against the account in the
// path and returns the user name.
func authenticate(r *http.Request, sid string) (string, bool) {
	user, pass, ok := r.BasicAuth()
	if !ok || sid != AccountSID {
		return "", false
	}
	switch {
	case user == AccountSID && pass == AuthToken:
	case user == APIKeySID && pass == APIKeySecret:
	default:
		return "", false
	}
	return user, true
}

// check validates the fields as Twilio does, and plays the magic numbers.
func check(m Message) (int, string) {
	switch {
	case m.To == "":
		return twilio.CodeToRequired, "A 'To' phone number is required."
	case m.Body == "":
		return twilio.CodeBodyRequired, "Message body is required."
	case m.From == "" && m.MessagingServiceSID == "":
		return twilio.CodeFromRequired, "A 'From' phone number is required."
	case twilio.ValidateE164(m.To) != nil || m.To == ToInvalid:
		return twilio.CodeInvalidTo, fmt.Sprintf("The 'To' number %s is not a valid phone number.", m.To)
	case m.From != "" && (twilio.ValidateE164(m.From) != nil || m.From == FromInvalid):
		return twilio.CodeInvalidFrom, fmt.Sprintf("The 'From' number %s is not a valid phone number, shortcode, or alphanumeric sender ID.", m.From)
	case m.From == FromNotOwned:
		return twilio.CodeFromNotOwned, fmt.Sprintf("The 'From' phone number provided (%s) is not a valid message-capable Twilio phone number for this destination/account.", m.From)
	case m.MessagingServiceSID != "" && m.MessagingServiceSID != MessagingServiceSID:
		return 21701, fmt.Sprintf("The Messaging Service Sid %s is invalid.", m.MessagingServiceSID)
	case utf8.RuneCountInString(m.Body) > notify.MaxSMSLength:
		return twilio.CodeBodyTooLong, "The concatenated message body exceeds the 1600 character limit."
	case m.StatusCallback != "" && !validCallback(m.StatusCallback):
		return twilio.CodeBadCallback, "Invalid StatusCallback URL: " + m.StatusCallback
	}
	switch m.To {
	case ToCannotRoute:
		return twilio.CodeCannotRoute, fmt.Sprintf("The 'To' phone number: %s, is not currently reachable using the 'From' phone number via SMS.", m.To)
	case ToNoPermission:
		return twilio.CodeNoPermission, fmt.Sprintf("Permission to send an SMS has not been enabled for the region indicated by the 'To' number: %s.", m.To)
	case ToOptedOut:
		return twilio.CodeOptedOut, "Attempt to send to unsubscribed recipient"
	case ToNotMobile:
		return twilio.CodeNotMobile, fmt.Sprintf("'To' number %s is not a valid mobile number", m.To)
	case ToUnverified:
		return twilio.CodeUnverified, fmt.Sprintf("The number %s is unverified. Trial accounts cannot send messages to unverified numbers; verify it at twilio.com/user/account/phone-numbers/verified, or purchase a Twilio number to send messages to unverified numbers.", m.To)
	}
	return 0, ""
}

func validCallback(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && !strings.Contains(u.Host, "_")
}

func (s *Server) nextFault() (fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.faults) == 0 {
		return fault{}, false
	}
	f := s.faults[0]
	s.faults = s.faults[1:]
	return f, true
}

func writeFault(w http.ResponseWriter, f fault) {
	switch {
	case f.nonJSON:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(f.status)
		text := fmt.Sprintf("%d %s", f.status, http.StatusText(f.status))
		fmt.Fprintf(w, "<html>\r\n<head><title>%s</title></head>\r\n<body>\r\n<center><h1>%s</h1></center>\r\n</body>\r\n</html>\r\n", text, text)
	case f.status == http.StatusTooManyRequests:
		if f.retryAfter > 0 {
			secs := (f.retryAfter + time.Second - 1) / time.Second
			w.Header().Set("Retry-After", strconv.FormatInt(int64(secs), 10))
		}
		writeError(w, f.status, twilio.CodeTooManyRequests, "Too Many Requests")
	case f.status == http.StatusServiceUnavailable:
		writeError(w, f.status, 20503, "Service is unavailable. Please try again")
	default:
		writeError(w, f.status, 20500, "An internal server error has occurred")
	}
}

// writeError answers with Twilio's error JSON.
func writeError(w http.ResponseWriter, status, code int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"code":      code,
		"message":   message,
		"more_info": "https://www.twilio.com/docs/errors/" + strconv.Itoa(code),
		"status":    status,
	})
}

// record gives m its SID, segments and time, and keeps it as sent.
func (s *Server) record(m Message) Message {
	m.Segments = twilio.CountSegments(m.Body)
	m.Created = time.Now().UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	m.SID = fmt.Sprintf("SM%032x", s.seq)
	s.messages = append(s.messages, m)
	s.startCallbacks(m)
	return m
}

// answer writes the 201 for a recorded message, in the shape of Twilio's
// OpenAPI description (api.v2010.account.message).
func (s *Server) answer(w http.ResponseWriter, m Message) {
	status := "queued"
	if m.From == "" {
		status = "accepted" // a Messaging Service picks the sender later
	}
	uri := "/2010-04-01/Accounts/" + m.AccountSID + "/Messages/" + m.SID
	date := m.Created.Format(time.RFC1123Z)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"account_sid":           m.AccountSID,
		"api_version":           "2010-04-01",
		"body":                  m.Body,
		"date_created":          date,
		"date_sent":             nil,
		"date_updated":          date,
		"direction":             "outbound-api",
		"error_code":            nil,
		"error_message":         nil,
		"from":                  nullable(m.From),
		"messaging_service_sid": nullable(m.MessagingServiceSID),
		"num_media":             "0",
		"num_segments":          strconv.Itoa(m.Segments.Count),
		"price":                 nil,
		"price_unit":            "USD",
		"sid":                   m.SID,
		"status":                status,
		"subresource_uris":      map[string]string{"media": uri + "/Media.json"},
		"to":                    m.To,
		"uri":                   uri + ".json",
	})
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
