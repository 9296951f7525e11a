package twiliotest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/twilio/twiliotest"
)

const messagesPath = "/2010-04-01/Accounts/" + twiliotest.AccountSID + "/Messages.json"

type answer struct {
	status int
	header http.Header
	json   map[string]any
	raw    string
}

type request struct {
	method, path, contentType string
	user, pass                string
	noAuth                    bool
	form                      url.Values
}

func okForm() url.Values {
	return url.Values{"To": {"+14155550100"}, "From": {twiliotest.FromNumber}, "Body": {"hello"}}
}

func do(t *testing.T, srv *twiliotest.Server, r request) answer {
	t.Helper()
	if r.method == "" {
		r.method = http.MethodPost
	}
	if r.path == "" {
		r.path = messagesPath
	}
	if r.contentType == "" {
		r.contentType = "application/x-www-form-urlencoded"
	}
	if r.user == "" {
		r.user, r.pass = twiliotest.AccountSID, twiliotest.AuthToken
	}
	req, err := http.NewRequestWithContext(t.Context(), r.method, srv.URL+r.path, strings.NewReader(r.form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", r.contentType)
	if !r.noAuth {
		req.SetBasicAuth(r.user, r.pass)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(body)}
	_ = json.Unmarshal(body, &a.json)
	return a
}

func newServer(t *testing.T) *twiliotest.Server {
	srv := twiliotest.NewServer()
	t.Cleanup(srv.Close)
	return srv
}

func TestChecksAndMagicNumbers(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	with := func(change func(url.Values)) url.Values {
		f := okForm()
		change(f)
		return f
	}
	tests := []struct {
		name   string
		req    request
		status int
		code   int
	}{
		{"no auth", request{noAuth: true, form: okForm()}, 401, 20003},
		{"wrong token", request{user: twiliotest.AccountSID, pass: "x", form: okForm()}, 401, 20003},
		{"token of another user", request{user: twiliotest.APIKeySID, pass: twiliotest.AuthToken, form: okForm()}, 401, 20003},
		{"other account in path", request{path: "/2010-04-01/Accounts/AC" + strings.Repeat("f", 32) + "/Messages.json", form: okForm()}, 401, 20003},
		{"malformed account in path", request{path: "/2010-04-01/Accounts/AC123/Messages.json", form: okForm()}, 404, 20404},
		{"account path with a slash", request{path: "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcde/f/Messages.json", form: okForm()}, 404, 20404},
		{"other resource", request{path: "/2010-04-01/Accounts/" + twiliotest.AccountSID + "/Calls.json", form: okForm()}, 404, 20404},
		{"GET", request{method: http.MethodGet}, 405, 20004},
		{"JSON body", request{contentType: "application/json", form: okForm()}, 400, 20001},
		{"no To", request{form: with(func(f url.Values) { f.Del("To") })}, 400, 21604},
		{"no Body", request{form: with(func(f url.Values) { f.Del("Body") })}, 400, 21602},
		{"no sender", request{form: with(func(f url.Values) { f.Del("From") })}, 400, 21603},
		{"To not E.164", request{form: with(func(f url.Values) { f.Set("To", "4155550100") })}, 400, 21211},
		{"From not E.164", request{form: with(func(f url.Values) { f.Set("From", "+1 415") })}, 400, 21212},
		{"unknown service", request{form: with(func(f url.Values) { f.Set("MessagingServiceSid", "MGx") })}, 400, 21701},
		{"body too long", request{form: with(func(f url.Values) { f.Set("Body", strings.Repeat("é", 1601)) })}, 400, 21617},
		{"body over 64 KiB", request{form: with(func(f url.Values) { f.Set("Body", strings.Repeat("a", 70<<10)) })}, 400, 20001},
		{"bad callback", request{form: with(func(f url.Values) { f.Set("StatusCallback", "ftp://x") })}, 400, 21609},
		{"magic invalid", request{form: with(func(f url.Values) { f.Set("To", twiliotest.ToInvalid) })}, 400, 21211},
		{"magic no route", request{form: with(func(f url.Values) { f.Set("To", twiliotest.ToCannotRoute) })}, 400, 21612},
		{"magic no permission", request{form: with(func(f url.Values) { f.Set("To", twiliotest.ToNoPermission) })}, 400, 21408},
		{"magic opted out", request{form: with(func(f url.Values) { f.Set("To", twiliotest.ToOptedOut) })}, 400, 21610},
		{"magic not mobile", request{form: with(func(f url.Values) { f.Set("To", twiliotest.ToNotMobile) })}, 400, 21614},
		{"magic unverified", request{form: with(func(f url.Values) { f.Set("To", twiliotest.ToUnverified) })}, 400, 21608},
		{"magic from invalid", request{form: with(func(f url.Values) { f.Set("From", twiliotest.FromInvalid) })}, 400, 21212},
		{"magic from not owned", request{form: with(func(f url.Values) { f.Set("From", twiliotest.FromNotOwned) })}, 400, 21606},
	}
	for _, tt := range tests {
		a := do(t, srv, tt.req)
		assert.Equal(t, tt.status, a.status, tt.name)
		assert.EqualValues(t, tt.code, a.json["code"], "%s: %s", tt.name, a.raw)
		assert.EqualValues(t, tt.status, a.json["status"], tt.name)
		assert.NotEmpty(t, a.json["message"], tt.name)
		assert.Equal(t, fmt.Sprintf("https://www.twilio.com/docs/errors/%d", tt.code), a.json["more_info"], tt.name)
		if tt.status == 401 {
			assert.Contains(t, a.header.Get("WWW-Authenticate"), "Basic", tt.name)
		}
	}
	assert.Empty(t, srv.Messages(), "no error is recorded as a message")
	assert.Equal(t, len(tests), srv.Requests())
}

func TestAcceptsAndRecords(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	f := okForm()
	f.Set("StatusCallback", "https://app.example.com/cb")
	a := do(t, srv, request{form: f})
	require.Equal(t, 201, a.status, a.raw)
	assert.Equal(t, "SM00000000000000000000000000000001", a.json["sid"])
	assert.Equal(t, "queued", a.json["status"])
	assert.Equal(t, "1", a.json["num_segments"], "a string, as Twilio sends it")
	assert.Nil(t, a.json["error_code"])
	assert.Equal(t, twiliotest.AccountSID, a.json["account_sid"])

	svc := url.Values{"To": {"+14155550100"}, "MessagingServiceSid": {twiliotest.MessagingServiceSID}, "Body": {strings.Repeat("ж", 71)}}
	a = do(t, srv, request{user: twiliotest.APIKeySID, pass: twiliotest.APIKeySecret, form: svc})
	require.Equal(t, 201, a.status, a.raw)
	assert.Equal(t, "accepted", a.json["status"])
	assert.Nil(t, a.json["from"])
	assert.Equal(t, "2", a.json["num_segments"])

	msgs := srv.Messages()
	require.Len(t, msgs, 2)
	assert.Equal(t, "https://app.example.com/cb", msgs[0].StatusCallback)
	assert.Equal(t, twiliotest.AccountSID, msgs[0].Username)
	assert.Equal(t, twiliotest.APIKeySID, msgs[1].Username)
	assert.Equal(t, twiliotest.MessagingServiceSID, msgs[1].MessagingServiceSID)
	assert.Equal(t, 2, msgs[1].Segments.Count)
	assert.Equal(t, "Go-http-client/1.1", msgs[0].UserAgent)
	msgs[0].Body = "changed"
	msgs[0].Form.Set("Body", "changed")
	assert.Equal(t, "hello", srv.Messages()[0].Body, "Messages returns a copy")
	assert.Equal(t, "hello", srv.Messages()[0].Form.Get("Body"), "a deep copy")
}

func TestFaults(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	srv.TooManyRequests(1, 1500*time.Millisecond)
	srv.TooManyRequests(1, 0)
	srv.ServerError(1)
	srv.NonJSON(1, http.StatusServiceUnavailable)

	a := do(t, srv, request{noAuth: true, form: okForm()})
	assert.Equal(t, 401, a.status, "faults wait for an authenticated request")

	a = do(t, srv, request{form: okForm()})
	assert.Equal(t, 429, a.status)
	assert.EqualValues(t, 20429, a.json["code"])
	assert.Equal(t, "2", a.header.Get("Retry-After"), "rounded up to whole seconds")

	a = do(t, srv, request{form: okForm()})
	assert.Equal(t, 429, a.status)
	assert.Empty(t, a.header.Get("Retry-After"))

	a = do(t, srv, request{form: okForm()})
	assert.Equal(t, 500, a.status)
	assert.EqualValues(t, 20500, a.json["code"])

	a = do(t, srv, request{form: okForm()})
	assert.Equal(t, 503, a.status)
	assert.Nil(t, a.json, "not JSON")
	assert.Contains(t, a.raw, "<html>")
	assert.Contains(t, a.header.Get("Content-Type"), "text/html")

	a = do(t, srv, request{form: okForm()})
	assert.Equal(t, 201, a.status, "the faults are used up")
	assert.Len(t, srv.Messages(), 1)
	assert.Equal(t, 6, srv.Requests())
}

func TestServiceUnavailableAndDropAfterAccept(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	srv.ServiceUnavailable(1)
	srv.DropAfterAccept(2)

	a := do(t, srv, request{form: okForm()})
	assert.Equal(t, 503, a.status)
	assert.EqualValues(t, 20503, a.json["code"])
	assert.Empty(t, srv.Messages(), "a 503 records nothing")

	bad := okForm()
	bad.Set("To", twiliotest.ToInvalid)
	a = do(t, srv, request{form: bad})
	assert.Equal(t, 400, a.status, "an invalid message is answered as usual")
	assert.Empty(t, srv.Messages())

	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+messagesPath, strings.NewReader(okForm().Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(twiliotest.AccountSID, twiliotest.AuthToken)
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	require.Error(t, err, "the connection closes without an answer")
	require.Len(t, srv.Messages(), 1, "but the message was recorded as sent")

	a = do(t, srv, request{form: okForm()})
	assert.Equal(t, 201, a.status, "the faults are used up")
	assert.Len(t, srv.Messages(), 2)
}

func TestSlowEndsWhenTheClientGivesUp(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	srv.Slow(time.Hour)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+messagesPath, strings.NewReader(okForm().Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(twiliotest.AccountSID, twiliotest.AuthToken)
	_, err = http.DefaultClient.Do(req)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	srv.Slow(0)
	assert.Equal(t, 201, do(t, srv, request{form: okForm()}).status)
	// Cleanup's Close returns promptly: the slow handler saw the client go.
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	srv.TooManyRequests(10, 0)
	var wg sync.WaitGroup
	statuses := make(chan int, 40)
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses <- do(t, srv, request{form: okForm()}).status
			_ = srv.Messages()
		}()
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for s := range statuses {
		count[s]++
	}
	assert.Equal(t, map[int]int{429: 10, 201: 30}, count)
	sids := map[string]bool{}
	for _, m := range srv.Messages() {
		sids[m.SID] = true
	}
	assert.Len(t, sids, 30)
}
