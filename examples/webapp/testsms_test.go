package main

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/notify/notifytest"
	"github.com/siteadmin/integrations/twilio"
	"github.com/siteadmin/integrations/twilio/twiliotest"
)

var deliveryKey = regexp.MustCompile(`id="delivery" data-key="([^"]+)"`)

// sendTestSMS presses "Send Test SMS" to to with the page's settings.
func sendTestSMS(t *testing.T, u *user, to string) page {
	t.Helper()
	form := settingsForm(t, u.get("/admin/twilio").body)
	form.Set("action", "test")
	form.Set("test-to", to)
	p := u.post("/admin/twilio", form)
	require.Equal(t, http.StatusOK, p.status, p.body)
	return p
}

// keyOf returns the key of the test SMS whose delivery box p shows.
func keyOf(t *testing.T, p page) string {
	t.Helper()
	m := deliveryKey.FindStringSubmatch(p.body)
	require.NotNil(t, m, "no delivery box in %s", p.body)
	return html.UnescapeString(m[1])
}

// statusJSON reads GET /admin/twilio/status?key=key as u.
func statusJSON(t *testing.T, u *user, key string) (int, testSMS, string) {
	t.Helper()
	p := u.get("/admin/twilio/status?key=" + url.QueryEscape(key))
	var m testSMS
	if p.status == http.StatusOK {
		require.NoError(t, json.Unmarshal([]byte(p.body), &m), p.body)
	}
	return p.status, m, p.body
}

func flush(t *testing.T, a *app) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	require.NoError(t, a.twilioServer.Flush(ctx))
}

// End to end: Send Test SMS → twiliotest → its signed status callbacks →
// the app's StatusHandler → the log → the JSON the page's script polls
// and the page without JavaScript, for each way a message ends.
func TestTestSMSDeliveryStatus(t *testing.T) {
	t.Parallel()
	a, base := startApp(t)
	b := newUser(t, base)
	b.breakGlass()

	for _, tc := range []struct {
		to      string
		outcome twiliotest.Outcome
		steps   []notify.DeliveryState
		class   string
	}{
		{"+14155550101", twiliotest.Delivered(), []notify.DeliveryState{"queued", "sent", "delivered"}, "ok"},
		{"+14155550102", twiliotest.Undelivered(twilio.CodeUnreachable), []notify.DeliveryState{"queued", "sent", "undelivered"}, "err"},
		{"+14155550103", twiliotest.Undelivered(twilio.CodeFiltered), []notify.DeliveryState{"queued", "sent", "undelivered"}, "err"},
		{"+14155550104", twiliotest.Failed(twilio.CodeUnknownError), []notify.DeliveryState{"queued", "failed"}, "err"},
	} {
		a.twilioServer.SetOutcome(tc.to, tc.outcome)
		p := sendTestSMS(t, b, tc.to)
		assert.Contains(t, p.body, `id="test-result">Sent to &#43;`+tc.to[1:]+`: SM`, tc.to)
		key := keyOf(t, p)
		flush(t, a)

		status, m, raw := statusJSON(t, b, key)
		require.Equal(t, http.StatusOK, status, raw)
		assert.Equal(t, tc.to, m.To)
		assert.Regexp(t, `^SM[0-9a-f]{32}$`, m.SID)
		assert.Empty(t, m.NoStatus)
		assert.True(t, m.Final, tc.to)
		assert.Equal(t, tc.outcome.Status, twilio.MessageStatus(m.Status.State), tc.to)
		assert.Equal(t, m.SID, m.Status.ProviderID)
		var states []notify.DeliveryState
		for _, s := range m.Steps {
			states = append(states, s.State)
		}
		assert.Equal(t, tc.steps, states, tc.to)
		want := twilio.Status{Status: tc.outcome.Status, ErrorCode: tc.outcome.ErrorCode}
		assert.Equal(t, want.Meaning(), m.Status.Reason, tc.to)
		if tc.outcome.ErrorCode != 0 {
			code := strconv.Itoa(tc.outcome.ErrorCode)
			assert.Equal(t, code, m.Status.ErrorCode)
			assert.Contains(t, raw, `"error-code":"`+code+`"`)
		}

		// Without JavaScript: the Refresh status link shows the same.
		p = b.get("/admin/twilio?key=" + url.QueryEscape(key))
		box := between(t, p.body, `id="delivery"`, `</div>`)
		assert.Contains(t, box, `<p id="delivery-state"><strong>`+string(tc.outcome.Status)+`</strong>`, tc.to)
		assert.Contains(t, box, html.EscapeString(want.Meaning()), tc.to)
		assert.NotContains(t, box, "data-poll", "a final status is not polled")
		assert.Contains(t, box, `id="refresh-status"`)
		if tc.outcome.ErrorCode != 0 {
			assert.Contains(t, box, "(error "+strconv.Itoa(tc.outcome.ErrorCode)+")")
		}
		row := between(t, p.body, `<tr data-key="`+key+`"`, `</tr>`)
		assert.Contains(t, row, `class="`+tc.class+`"`, tc.to)
		assert.Contains(t, row, `<td class="state">`+string(tc.outcome.Status)+`</td>`, tc.to)
	}

	// Every callback was admitted: it passed the host check, the
	// cross-origin check and the signature check.
	cbs := a.twilioServer.Callbacks()
	require.Len(t, cbs, 7)
	for _, cb := range cbs {
		assert.NoError(t, cb.Err)
		assert.Equal(t, http.StatusNoContent, cb.Response, "%s %s", cb.MessageSID, cb.Status)
		assert.True(t, strings.HasPrefix(cb.URL, base+statusPath+"?"+twilio.CallbackKeyParam+"="), cb.URL)
	}
	// The list shows each, newest first.
	p := b.get("/admin/twilio")
	recent := between(t, p.body, `<table id="recent-sms">`, `</table>`)
	assert.Equal(t, 4, strings.Count(recent, "<tr data-key="))
	assert.Less(t, strings.Index(recent, "&#43;14155550104"), strings.Index(recent, "&#43;14155550101"))
}

// between returns the part of s from the first start to the end that
// follows it.
func between(t *testing.T, s, start, end string) string {
	t.Helper()
	i := strings.Index(s, start)
	require.GreaterOrEqual(t, i, 0, "no %q in %s", start, s)
	j := strings.Index(s[i:], end)
	require.GreaterOrEqual(t, j, 0, "no %q after %q", end, start)
	return s[i : i+j+len(end)]
}

// A status shows as soon as it arrives: before any callback the box says
// what Twilio answered (queued) and asks the script to poll; a late or
// repeated report never replaces the final one.
func TestTestSMSStatusAsItArrives(t *testing.T) {
	t.Parallel()
	a, base := startApp(t)
	b := newUser(t, base)
	b.breakGlass()
	gate := make(chan struct{})
	a.twilioServer.SetCallbackClient(&http.Client{Transport: gatedTransport{gate}})

	p := sendTestSMS(t, b, "+14155550111")
	key := keyOf(t, p)
	box := between(t, p.body, `id="delivery"`, `</div>`)
	assert.Contains(t, box, `data-poll="on"`)
	assert.Contains(t, box, `<strong>queued</strong>: Twilio has not handed the message to the carrier yet`)
	_, m, _ := statusJSON(t, b, key)
	assert.Equal(t, notify.DeliveryQueued, m.Status.State)
	assert.False(t, m.Final)

	close(gate)
	flush(t, a)
	_, m, _ = statusJSON(t, b, key)
	assert.Equal(t, notify.DeliveryDelivered, m.Status.State)

	// Twilio sometimes sends a report late, or twice.
	msgs := a.twilioServer.Messages()
	require.Len(t, msgs, 1)
	cb := a.twilioServer.PostCallback(t.Context(), msgs[0], twilio.StatusSent, 0)
	assert.Equal(t, http.StatusNoContent, cb.Response)
	cb = a.twilioServer.PostCallback(t.Context(), msgs[0], twilio.StatusUndelivered, twilio.CodeUnreachable)
	assert.Equal(t, http.StatusNoContent, cb.Response)
	_, m, _ = statusJSON(t, b, key)
	assert.Equal(t, notify.DeliveryDelivered, m.Status.State, "the first final report stands")
	assert.Len(t, m.Steps, 5, "every report is listed")
}

// gatedTransport holds every request until gate is closed.
type gatedTransport struct{ gate chan struct{} }

func (g gatedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	select {
	case <-g.gate:
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	return http.DefaultTransport.RoundTrip(r)
}

// A burst of test SMS to one number meets the per-number limit (the
// SDK's default, 5 an hour) with a message a person understands; other
// numbers still get theirs, and the page counts the refusal.
func TestTestSMSBurstLimit(t *testing.T) {
	t.Parallel()
	clock := notifytest.NewClock(time.Date(2030, 1, 2, 10, 20, 0, 0, time.UTC))
	a, base := startAppWith(t, appConfig{Now: clock.Now})
	b := newUser(t, base)
	b.breakGlass()

	for i := range 5 {
		p := sendTestSMS(t, b, "+14155550120")
		require.Contains(t, p.body, `id="test-result">Sent to`, "send %d", i+1)
	}
	p := sendTestSMS(t, b, "+14155550120")
	assert.Contains(t, p.body, `<p id="limit-message">Too many text messages to this number; try again in 40 minutes.</p>`)
	assert.Contains(t, p.body, "the limit per number, 5 an hour")
	assert.NotContains(t, p.body, `id="delivery"`)
	assert.Contains(t, p.body, `<p id="refusals">Refused by the send limits since the app started: 1 per number, 0 per country, 0 overall, 0 to countries not allowed.</p>`)
	assert.Len(t, a.twilioServer.Messages(), 5, "the refused one was not sent")

	p = sendTestSMS(t, b, "+14155550121")
	assert.Contains(t, p.body, `id="test-result">Sent to &#43;14155550121`)

	// The next window lets it through again.
	clock.Advance(40 * time.Minute)
	p = sendTestSMS(t, b, "+14155550120")
	assert.Contains(t, p.body, `id="test-result">Sent to &#43;14155550120`)
	assert.Len(t, a.twilioServer.Messages(), 7)
	flush(t, a)
}

// The status endpoint is for site admins, as the pages are; it answers
// in JSON.
func TestTestSMSStatusRequiresSiteAdmin(t *testing.T) {
	t.Parallel()
	a, base := startApp(t)
	admin := newUser(t, base)
	admin.breakGlass()
	key := keyOf(t, sendTestSMS(t, admin, "+14155550130"))
	flush(t, a)

	anon := newUser(t, base)
	bob := newUser(t, base)
	bob.samlLogin("bob@example.com", "acme-developers")
	for _, tc := range []struct {
		who    string
		u      *user
		status int
	}{
		{"not logged in", anon, http.StatusUnauthorized},
		{"bob, not a site admin", bob, http.StatusForbidden},
		{"the break-glass admin", admin, http.StatusOK},
	} {
		p := tc.u.get("/admin/twilio/status?key=" + url.QueryEscape(key))
		assert.Equal(t, tc.status, p.status, tc.who)
		assert.Equal(t, base+"/admin/twilio/status?key="+url.QueryEscape(key), p.url, "%s: no redirect", tc.who)
		var body map[string]any
		require.NoError(t, json.Unmarshal([]byte(p.body), &body), tc.who)
		if tc.status != http.StatusOK {
			assert.NotContains(t, p.body, "14155550130", tc.who)
			assert.NotContains(t, p.body, "SM", tc.who)
			assert.Contains(t, body, "error", tc.who)
		} else {
			assert.Equal(t, "delivered", body["status"].(map[string]any)["state"])
		}
	}
	for _, k := range []string{"", "nope", key + "x", "../" + key} {
		status, _, raw := statusJSON(t, admin, k)
		assert.Equal(t, http.StatusNotFound, status, k)
		assert.Contains(t, raw, "no test SMS with this key", k)
	}
}

// Only Twilio's signed callbacks reach the log: anything else posted to
// /twilio/status is refused, and the status stays as it was.
func TestStatusCallbackRefusesForgeries(t *testing.T) {
	t.Parallel()
	a, base := startApp(t)
	b := newUser(t, base)
	b.breakGlass()
	key := keyOf(t, sendTestSMS(t, b, "+14155550140"))
	flush(t, a)
	msgs := a.twilioServer.Messages()
	require.Len(t, msgs, 1)
	target := msgs[0].StatusCallback
	require.Equal(t, base+statusPath+"?"+twilio.CallbackKeyParam+"="+url.QueryEscape(key), target)

	form := url.Values{"MessageSid": {msgs[0].SID}, "MessageStatus": {"undelivered"}, "ErrorCode": {"30007"}, "AccountSid": {twiliotest.AccountSID}}
	good, err := twilio.Signature(twilio.HMACSHA1, twiliotest.AuthToken, target, form)
	require.NoError(t, err)
	wrongKey, err := twilio.Signature(twilio.HMACSHA1, "0123456789abcdef0123456789abcdef", target, form)
	require.NoError(t, err)
	otherKey, err := twilio.Signature(twilio.HMACSHA1, twiliotest.AuthToken, base+statusPath+"?"+twilio.CallbackKeyParam+"=other", form)
	require.NoError(t, err)
	for _, tc := range []struct {
		name      string
		method    string
		url       string
		signature string
		headers   map[string]string
		status    int
	}{
		{"unsigned", http.MethodPost, target, "", nil, http.StatusForbidden},
		{"signed with another token", http.MethodPost, target, wrongKey, nil, http.StatusForbidden},
		{"signed for another message's key", http.MethodPost, target, otherKey, nil, http.StatusForbidden},
		{"a browser's cross-site post", http.MethodPost, target, good, map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"a GET", http.MethodGet, target, good, nil, http.StatusMethodNotAllowed},
	} {
		body := form.Encode()
		if tc.method == http.MethodGet {
			body = ""
		}
		req, err := http.NewRequest(tc.method, tc.url, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if tc.signature != "" {
			req.Header.Set(twilio.SignatureHeader, tc.signature)
		}
		for k, v := range tc.headers {
			req.Header.Set(k, v)
		}
		assert.Equal(t, tc.status, b.do(req).status, tc.name)
	}
	_, m, _ := statusJSON(t, b, key)
	assert.Equal(t, notify.DeliveryDelivered, m.Status.State)
	assert.Len(t, m.Steps, 3)

	// The reference: the same post, signed as Twilio signs, is admitted
	// (and, coming after delivered, listed without replacing it).
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(twilio.SignatureHeader, good)
	assert.Equal(t, http.StatusNoContent, b.do(req).status)
	_, m, _ = statusJSON(t, b, key)
	assert.Len(t, m.Steps, 4)
	assert.Equal(t, notify.DeliveryDelivered, m.Status.State)
}

// Twilio signs its callbacks with the account's auth token, and the app
// checks them with the saved one: a test with another token in the form
// asks for none and says why; after a save that replaces the token, the
// old one is still accepted for an hour.
func TestTestSMSAuthTokens(t *testing.T) {
	t.Parallel()
	clock := notifytest.NewClock(time.Date(2030, 1, 2, 10, 0, 0, 0, time.UTC))
	a, base := startAppWith(t, appConfig{Now: clock.Now})
	b := newUser(t, base)
	b.breakGlass()
	newToken := "0123456789abcdef0123456789abcdef"
	// The fake takes the API key; the auth token only signs callbacks.
	form := settingsForm(t, b.get("/admin/twilio").body)
	form.Set("api-key-sid", twiliotest.APIKeySID)
	form.Set("api-key-secret", twiliotest.APIKeySecret)
	form.Set("auth-token", newToken)
	form.Set("action", "test")
	form.Set("test-to", "+14155550150")
	p := b.post("/admin/twilio", form)
	assert.Contains(t, p.body, `id="test-result">Sent to`)
	assert.Contains(t, p.body, "No delivery status: the auth token in the form is not the saved one")
	assert.NotContains(t, p.body, "data-poll")
	require.Len(t, a.twilioServer.Messages(), 1)
	assert.Empty(t, a.twilioServer.Messages()[0].StatusCallback)

	// Saved, the new token checks callbacks; the fake still signs with
	// its own, which the app takes for the rest of the hour.
	form.Set("action", "save")
	require.Contains(t, b.post("/admin/twilio", form).body, `id="saved"`)
	key := keyOf(t, sendTestSMS(t, b, "+14155550151"))
	flush(t, a)
	_, m, _ := statusJSON(t, b, key)
	assert.Equal(t, notify.DeliveryDelivered, m.Status.State)

	clock.Advance(tokenOverlap)
	key = keyOf(t, sendTestSMS(t, b, "+14155550152"))
	flush(t, a)
	_, m, _ = statusJSON(t, b, key)
	assert.Equal(t, notify.DeliveryQueued, m.Status.State, "signed with a token no longer accepted")
	cbs := a.twilioServer.Callbacks()
	assert.Equal(t, http.StatusForbidden, cbs[len(cbs)-1].Response)
}
