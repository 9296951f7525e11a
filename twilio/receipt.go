package twilio

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Receipt is Twilio's answer to an accepted message (HTTP 201).
type Receipt struct {
	// SID identifies the message at Twilio: "SM" and 32 hex digits
	// (empty only if a server other than Twilio's left it out).
	SID string
	// Status is where the message stands: usually "queued", or "accepted"
	// with a Messaging Service; delivery happens later.
	Status string
	// Segments is how many SMS segments Twilio bills, from num_segments
	// (which Twilio sends as a string); 0 when it did not say.
	Segments int
	// ErrorCode and ErrorMessage are Twilio's, when the message already
	// failed; usually 0 and "".
	ErrorCode    int
	ErrorMessage string
	// To, From and MessagingServiceSID are as Twilio recorded them.
	To, From, MessagingServiceSID string
	// Attempts is how many requests the client made, 1 without retries.
	Attempts int
}

// jsonInt is an integer that Twilio may send as a number, a string of
// digits, or null (num_segments is a string; error_code a number).
// Anything else reads as 0: these fields only inform, and a message that
// Twilio accepted must not look failed because of one.
type jsonInt int

func (n *jsonInt) UnmarshalJSON(data []byte) error {
	s := string(bytes.TrimSpace(data))
	if strings.HasPrefix(s, `"`) && json.Unmarshal(data, &s) != nil {
		return nil
	}
	if v, err := strconv.Atoi(s); err == nil {
		*n = jsonInt(v)
	}
	return nil
}

// jsonString is a string that may be null; another type reads as "".
type jsonString string

func (s *jsonString) UnmarshalJSON(data []byte) error {
	_ = json.Unmarshal(data, (*string)(s))
	return nil
}

// parseReceipt reads a Message resource, the body of a 201. Only a body
// that is not a JSON object is an error (a web page answering 200 at a
// wrong base URL, say); a missing field reads as its zero value.
func parseReceipt(data []byte, r redactor) (Receipt, error) {
	var m struct {
		SID                 jsonString `json:"sid"`
		Status              jsonString `json:"status"`
		NumSegments         jsonInt    `json:"num_segments"`
		ErrorCode           jsonInt    `json:"error_code"`
		ErrorMessage        jsonString `json:"error_message"`
		To                  jsonString `json:"to"`
		From                jsonString `json:"from"`
		MessagingServiceSID jsonString `json:"messaging_service_sid"`
	}
	if err := json.Unmarshal(data, &m); err != nil || bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		return Receipt{}, fmt.Errorf("the answer is not Twilio's JSON message resource: %s", quoteInput(r.excerpt(string(data), 100)))
	}
	return Receipt{
		SID:                 string(m.SID),
		Status:              string(m.Status),
		Segments:            int(m.NumSegments),
		ErrorCode:           int(m.ErrorCode),
		ErrorMessage:        string(m.ErrorMessage),
		To:                  string(m.To),
		From:                string(m.From),
		MessagingServiceSID: string(m.MessagingServiceSID),
	}, nil
}

// parseError reads an error answer: Twilio's JSON
// {"code": N, "message": S, "more_info": URL, "status": N} when the body
// holds it, an excerpt of the body otherwise, each without the
// credentials r knows. Status comes from the HTTP response, whatever the
// JSON says.
func parseError(status int, body []byte, r redactor) *Error {
	e := &Error{Status: status}
	var m struct {
		Code     jsonInt    `json:"code"`
		Message  jsonString `json:"message"`
		MoreInfo jsonString `json:"more_info"`
	}
	if json.Unmarshal(body, &m) == nil && (m.Code != 0 || m.Message != "") {
		e.Code = int(m.Code)
		e.Message = r.excerpt(string(m.Message), 1000)
		e.MoreInfo = r.excerpt(string(m.MoreInfo), 300)
		return e
	}
	e.Body = r.excerpt(string(body), 200)
	return e
}

// printable cuts s to at most max bytes on a character boundary, with
// invalid UTF-8 and control characters replaced by spaces and runs of
// space collapsed, so a hostile body cannot forge log lines or flood an
// admin page.
func printable(s string, max int) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) {
			if !space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = true
			continue
		}
		if b.Len()+utf8.RuneLen(r) > max {
			break
		}
		space = false
		b.WriteRune(r)
	}
	return strings.TrimSpace(b.String())
}
