package twilio_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations"
	"github.com/siteadmin/integrations/twilio"
)

// Twilio's published example of a signed webhook: the request URL, the
// POST parameters, the auth token "12345" and the signature. It is the
// example of https://www.twilio.com/docs/usage/security#validating-requests
// (now https://www.twilio.com/docs/usage/webhooks/webhooks-security), and
// the vector of twilio-go's own tests (client/request_validator_test.go).
const (
	exampleToken     = "12345"
	exampleURL       = "https://mycompany.com/myapp.php?foo=1&bar=2"
	exampleSignature = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
)

func exampleParams() url.Values {
	return url.Values{
		"CallSid": {"CA1234567890ABCDE"},
		"Caller":  {"+14158675309"},
		"Digits":  {"1234"},
		"From":    {"+14158675309"},
		"To":      {"+18005551212"},
	}
}

func TestSignatureMatchesTwilioPublishedExamples(t *testing.T) {
	t.Parallel()
	newer := exampleParams()
	newer.Set("Caller", "+12349013030")
	newer.Set("From", "+12349013030")
	body := `{"property": "value", "boolean": true}`
	sum := sha256.Sum256([]byte(body))
	bodyHash := hex.EncodeToString(sum[:])
	require.Equal(t, "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620", bodyHash, "twilio-go's bodySHA256 of its example body")
	tests := []struct {
		name   string
		url    string
		params url.Values
		want   string
	}{
		{"form", exampleURL, exampleParams(), exampleSignature},
		// The docs' later edition of the same example, other numbers.
		{"form, later edition", exampleURL, newer, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="},
		// twilio-go: Twilio has signed the URL with the default port too.
		{"form, explicit port", "https://mycompany.com:443/myapp.php?foo=1&bar=2", exampleParams(), "kvajT1Ptam85bY51eRf/AJRuM3w="},
		// twilio-go's JSON-body vectors: the URL carries bodySHA256.
		{"json body", exampleURL + "&bodySHA256=" + bodyHash, nil, "a9nBmqA0ju/hNViExpshrM61xv4="},
		{"json body, no other query", "https://mycompany.com/myapp.php?bodySHA256=" + bodyHash, nil, "y77kIzt2vzLz71DgmJGsen2scGs="},
	}
	for _, tc := range tests {
		got, err := twilio.Signature(twilio.HMACSHA1, exampleToken, tc.url, tc.params)
		require.NoError(t, err)
		assert.Equal(t, tc.want, got, tc.name)
	}
	_, err := twilio.Signature("HMAC_MD5", exampleToken, exampleURL, nil)
	assert.Error(t, err)
}

// The handler verifies Twilio's example as Twilio signed it, though the
// request reaches it at another path (a proxy's), and refuses it once
// tampered. The example is a voice webhook, not a status callback, so a
// verified example fails only later, on its missing MessageSid.
func TestStatusHandlerVerifiesTwilioPublishedExample(t *testing.T) {
	t.Parallel()
	h, err := twilio.NewStatusHandler(twilio.StatusHandlerConfig{
		URL:       "https://mycompany.com/myapp.php",
		AuthToken: exampleToken,
		OnStatus:  func(context.Context, twilio.Status) error { return nil },
	})
	require.NoError(t, err)
	verify := func(params url.Values, query string) error {
		r := httptest.NewRequest(http.MethodPost, "http://10.0.0.7:8080/internal/hook?"+query, strings.NewReader(params.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set(twilio.SignatureHeader, exampleSignature)
		_, err := h.Verify(nil, r)
		return err
	}
	err = verify(exampleParams(), "foo=1&bar=2")
	require.ErrorIs(t, err, twilio.ErrWebhookBody, "the signature passed")
	assert.ErrorContains(t, err, "MessageSid")

	tampered := exampleParams()
	tampered.Set("Digits", "1235")
	assert.ErrorIs(t, verify(tampered, "foo=1&bar=2"), twilio.ErrSignature)
	assert.ErrorIs(t, verify(exampleParams(), "foo=1&bar=3"), twilio.ErrSignature)
}

const (
	token      = "f00dfacecafebeef5eed0ddba11fee1d"
	oldToken   = "0123456789abcdef0123456789abcdef"
	publicURL  = "https://app.example.com/twilio/status?tenant=7"
	messageSID = "SM0123456789abcdef0123456789abcdef"
)

var epoch = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func statusParams(status string, code int) url.Values {
	v := url.Values{
		"AccountSid":    {"AC0123456789abcdef0123456789abcdef"},
		"ApiVersion":    {"2010-04-01"},
		"From":          {"+15005550006"},
		"MessageSid":    {messageSID},
		"MessageStatus": {status},
		"SmsSid":        {messageSID},
		"SmsStatus":     {status},
		"To":            {"+14155550100"},
	}
	if code != 0 {
		v.Set("ErrorCode", strconv.Itoa(code))
	}
	return v
}

// callback is a request as Twilio would send it to publicURL with the
// key "k1", with hooks to spoil it.
type callback struct {
	url         string // what Twilio signs; default publicURL + key
	target      string // what the request carries; default its path and query
	params      url.Values
	body        string // replaces the form when set
	contentType string
	alg         twilio.Algorithm
	key         integrations.Secret
	settings    string // X-Twilio-Webhooks-Signature-Settings
	signature   *string
	method      string
}

func (c callback) request(t *testing.T) *http.Request {
	t.Helper()
	if c.url == "" {
		c.url = publicURL + "&notify_key=k1"
	}
	if c.params == nil && c.body == "" {
		c.params = statusParams("delivered", 0)
	}
	if c.alg == "" {
		c.alg = twilio.HMACSHA1
	}
	if c.key == "" {
		c.key = token
	}
	if c.contentType == "" {
		c.contentType = "application/x-www-form-urlencoded"
	}
	if c.method == "" {
		c.method = http.MethodPost
	}
	body := c.body
	signed := c.params
	if body == "" {
		body = c.params.Encode()
	} else {
		signed = nil
	}
	sig, err := twilio.Signature(c.alg, c.key, c.url, signed)
	require.NoError(t, err)
	if c.signature != nil {
		sig = *c.signature
	}
	target := c.target
	if target == "" {
		u, err := url.Parse(c.url)
		require.NoError(t, err)
		target = "http://127.0.0.1:8080" + u.RequestURI()
	}
	r := httptest.NewRequest(c.method, target, strings.NewReader(body))
	r.Header.Set("Content-Type", c.contentType)
	if sig != "" {
		r.Header.Set(twilio.SignatureHeader, sig)
	}
	if c.settings != "" {
		r.Header.Set(twilio.SignatureSettingsHeader, c.settings)
	}
	return r
}

type recorder struct {
	mu  sync.Mutex
	got []twilio.Status
	err error
}

func (r *recorder) onStatus(_ context.Context, st twilio.Status) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, st)
	return r.err
}

func newHandler(t *testing.T, change func(*twilio.StatusHandlerConfig)) (*twilio.StatusHandler, *recorder) {
	t.Helper()
	rec := &recorder{}
	cfg := twilio.StatusHandlerConfig{
		URL:                      publicURL,
		AuthToken:                token,
		PreviousAuthToken:        oldToken,
		PreviousAuthTokenExpires: epoch.Add(time.Hour),
		SharedKeys: []twilio.SharedKey{
			{ID: "KS256", Secret: "shared-secret-256", Algorithm: twilio.HMACSHA256},
			{ID: "KS1", Secret: "shared-secret-1", Algorithm: twilio.HMACSHA1},
			{ID: "KSold", Secret: "retired-secret", Algorithm: twilio.HMACSHA256, Expires: epoch},
		},
		OnStatus: rec.onStatus,
		MaxBody:  4096,
		Now:      func() time.Time { return epoch },
	}
	if change != nil {
		change(&cfg)
	}
	h, err := twilio.NewStatusHandler(cfg)
	require.NoError(t, err)
	return h, rec
}

func ptr[T any](v T) *T { return &v }

func TestStatusHandler(t *testing.T) {
	t.Parallel()
	jsonBody := `{"MessageSid":"` + messageSID + `","MessageStatus":"undelivered","ErrorCode":30003,"Nested":{"a":1}}`
	sum := sha256.Sum256([]byte(jsonBody))
	jsonURL := publicURL + "&notify_key=k1&bodySHA256=" + hex.EncodeToString(sum[:])
	tampered := statusParams("delivered", 0)
	tampered.Set("MessageStatus", "failed")
	extra := statusParams("delivered", 0)
	extra.Set("Extra", "1")
	twice := statusParams("delivered", 0)
	twice.Add("MessageStatus", "failed")
	tests := []struct {
		name   string
		cb     callback
		change func(*twilio.StatusHandlerConfig)
		status int
		err    error
	}{
		{name: "auth token", cb: callback{}, status: 204},
		{name: "path rewritten by a proxy", cb: callback{target: "http://10.1.2.3/internal/x?tenant=7&notify_key=k1"}, status: 204},
		{name: "signed with the default port", cb: callback{url: "https://app.example.com:443/twilio/status?tenant=7&notify_key=k1"}, status: 204},
		{name: "previous token before it expires", cb: callback{key: oldToken}, status: 204},
		{name: "previous token after it expires", cb: callback{key: oldToken}, change: func(c *twilio.StatusHandlerConfig) { c.Now = func() time.Time { return epoch.Add(time.Hour) } }, status: 403, err: twilio.ErrSignature},
		{name: "shared key, HMAC-SHA256", cb: callback{alg: twilio.HMACSHA256, key: "shared-secret-256", settings: "key=KS256,algorithm=HMAC_SHA256"}, status: 204},
		{name: "shared key, HMAC-SHA1", cb: callback{alg: twilio.HMACSHA1, key: "shared-secret-1", settings: " algorithm=HMAC_SHA1 , key=KS1"}, status: 204},
		{name: "json body with bodySHA256", cb: callback{url: jsonURL, body: jsonBody, contentType: "application/json"}, status: 204},

		{name: "tampered parameter", cb: callback{params: tampered, signature: ptr(mustSign(t, token, publicURL+"&notify_key=k1", statusParams("delivered", 0)))}, status: 403, err: twilio.ErrSignature},
		{name: "added parameter", cb: callback{params: extra, signature: ptr(mustSign(t, token, publicURL+"&notify_key=k1", statusParams("delivered", 0)))}, status: 403, err: twilio.ErrSignature},
		{name: "wrong URL", cb: callback{url: "https://evil.example.com/twilio/status?tenant=7&notify_key=k1"}, status: 403, err: twilio.ErrSignature},
		{name: "http instead of https", cb: callback{url: "http://app.example.com/twilio/status?tenant=7&notify_key=k1"}, status: 403, err: twilio.ErrSignature},
		{name: "key in URL changed", cb: callback{target: "http://127.0.0.1/twilio/status?tenant=7&notify_key=k2"}, status: 403, err: twilio.ErrSignature},
		{name: "configured query missing", cb: callback{url: "https://app.example.com/twilio/status?notify_key=k1"}, status: 403, err: twilio.ErrSignature},
		{name: "missing signature", cb: callback{signature: ptr("")}, status: 403, err: twilio.ErrUnsigned},
		{name: "signature not base64", cb: callback{signature: ptr("not base64!")}, status: 403, err: twilio.ErrSignature},
		{name: "signature far too long", cb: callback{signature: ptr(strings.Repeat("A", 200))}, status: 403, err: twilio.ErrSignature},
		{name: "wrong token", cb: callback{key: "another-token"}, status: 403, err: twilio.ErrSignature},
		{name: "shared key named, signed with the token", cb: callback{settings: "key=KS256,algorithm=HMAC_SHA256"}, status: 403, err: twilio.ErrSignature},
		{name: "algorithm downgraded for a key", cb: callback{alg: twilio.HMACSHA1, key: "shared-secret-256", settings: "key=KS256,algorithm=HMAC_SHA1"}, status: 403, err: twilio.ErrAlgorithm},
		{name: "unknown algorithm", cb: callback{settings: "key=KS256,algorithm=HMAC_MD5"}, status: 403, err: twilio.ErrAlgorithm},
		{name: "unknown key", cb: callback{alg: twilio.HMACSHA256, key: "x", settings: "key=KSnew,algorithm=HMAC_SHA256"}, status: 403, err: twilio.ErrAlgorithm},
		{name: "expired shared key", cb: callback{alg: twilio.HMACSHA256, key: "retired-secret", settings: "key=KSold,algorithm=HMAC_SHA256"}, status: 403, err: twilio.ErrAlgorithm},
		{name: "malformed settings header", cb: callback{settings: "key=KS256;algorithm=HMAC_SHA256"}, status: 403, err: twilio.ErrAlgorithm},
		{name: "settings header twice a key", cb: callback{settings: "key=KS256,key=KS1,algorithm=HMAC_SHA256"}, status: 403, err: twilio.ErrAlgorithm},
		{name: "auth token signature, no token configured", cb: callback{}, change: func(c *twilio.StatusHandlerConfig) { c.AuthToken, c.PreviousAuthToken = "", "" }, status: 403, err: twilio.ErrAlgorithm},
		{name: "json body tampered", cb: callback{url: jsonURL, body: strings.Replace(jsonBody, "undelivered", "delivered", 1), contentType: "application/json"}, status: 403, err: twilio.ErrSignature},
		{name: "json body without bodySHA256", cb: callback{body: jsonBody, contentType: "application/json"}, status: 403, err: twilio.ErrSignature},
		{name: "bodySHA256 with a form", cb: callback{url: jsonURL, body: jsonBody}, status: 415, err: twilio.ErrWebhookBody},
		{name: "bodySHA256 not hex", cb: callback{url: publicURL + "&bodySHA256=zz", body: jsonBody, contentType: "application/json"}, status: 403, err: twilio.ErrSignature},
		{name: "GET", cb: callback{method: http.MethodGet}, status: 405, err: twilio.ErrWebhookBody},
		{name: "body too large", cb: callback{params: func() url.Values { v := statusParams("sent", 0); v.Set("Pad", strings.Repeat("x", 5000)); return v }()}, status: 413, err: twilio.ErrWebhookBody},
		{name: "wrong content type", cb: callback{contentType: "text/plain"}, status: 415, err: twilio.ErrWebhookBody},
		{name: "status twice", cb: callback{params: twice}, status: 400, err: twilio.ErrWebhookBody},
		{name: "too many parameters", cb: callback{params: func() url.Values {
			v := statusParams("sent", 0)
			for i := range 300 {
				v.Set("P"+strconv.Itoa(i), "x")
			}
			return v
		}()}, status: 400, err: twilio.ErrWebhookBody},
		{name: "not a message SID", cb: callback{params: func() url.Values {
			v := statusParams("sent", 0)
			v.Set("MessageSid", "CA123")
			v.Del("SmsSid")
			return v
		}()}, status: 400, err: twilio.ErrWebhookBody},
		{name: "error code not a number", cb: callback{params: func() url.Values { v := statusParams("failed", 0); v.Set("ErrorCode", "3e4"); return v }()}, status: 400, err: twilio.ErrWebhookBody},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, rec := newHandler(t, tc.change)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, tc.cb.request(t))
			assert.Equal(t, tc.status, w.Code, w.Body.String())
			_, err := h.Verify(httptest.NewRecorder(), tc.cb.request(t))
			if tc.err == nil {
				require.NoError(t, err)
				require.Len(t, rec.got, 1)
				assert.Equal(t, messageSID, rec.got[0].MessageSID)
				assert.Equal(t, "k1", rec.got[0].Key)
				assert.Equal(t, epoch, rec.got[0].Received)
				return
			}
			assert.ErrorIs(t, err, tc.err)
			var we *twilio.WebhookError
			require.ErrorAs(t, err, &we)
			assert.Equal(t, tc.status, we.Status)
			assert.Empty(t, rec.got, "nothing reaches the host")
			for _, secret := range []string{token, oldToken, "shared-secret-256", "shared-secret-1"} {
				assert.NotContains(t, w.Body.String(), secret)
				assert.NotContains(t, err.Error(), secret)
			}
		})
	}
}

func mustSign(t *testing.T, key integrations.Secret, u string, p url.Values) string {
	t.Helper()
	s, err := twilio.Signature(twilio.HMACSHA1, key, u, p)
	require.NoError(t, err)
	return s
}

func TestStatusHandlerReadsTheStatus(t *testing.T) {
	t.Parallel()
	h, rec := newHandler(t, nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, callback{params: statusParams("undelivered", 30003)}.request(t))
	require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	require.Len(t, rec.got, 1)
	st := rec.got[0]
	assert.Equal(t, twilio.Status{
		MessageSID: messageSID,
		AccountSID: "AC0123456789abcdef0123456789abcdef",
		Key:        "k1",
		Status:     twilio.StatusUndelivered,
		ErrorCode:  twilio.CodeUnreachable,
		To:         "+14155550100",
		From:       "+15005550006",
		Received:   epoch,
	}, st)
	assert.True(t, st.Status.Final())
	assert.Contains(t, st.Meaning(), "could not be reached")

	// The older field names alone are enough.
	old := url.Values{"SmsSid": {messageSID}, "SmsStatus": {"sent"}}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, callback{params: old}.request(t))
	require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	assert.Equal(t, twilio.StatusSent, rec.got[1].Status)
	assert.False(t, rec.got[1].Status.Final())
}

func TestStatusHandlerAnswers500WhenTheHostFails(t *testing.T) {
	t.Parallel()
	h, rec := newHandler(t, nil)
	rec.err = errors.New("database down")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, callback{}.request(t))
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	assert.NotContains(t, w.Body.String(), "database down")
}

func TestNewStatusHandlerReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := twilio.NewStatusHandler(twilio.StatusHandlerConfig{
		URL:               "ftp://x/#frag",
		PreviousAuthToken: "old",
		SharedKeys:        []twilio.SharedKey{{ID: "a", Secret: "s", Algorithm: "MD5"}, {ID: "a", Secret: "s", Algorithm: twilio.HMACSHA256}},
		MaxBody:           -1,
	})
	require.Error(t, err)
	for _, part := range []string{"URL", "PreviousAuthTokenExpires", "SharedKeys[0].Algorithm", "SharedKeys[1].ID", "OnStatus", "MaxBody"} {
		assert.ErrorContains(t, err, part)
	}
	_, err = twilio.NewStatusHandler(twilio.StatusHandlerConfig{URL: "https://a.example/x", OnStatus: func(context.Context, twilio.Status) error { return nil }})
	assert.ErrorContains(t, err, "AuthToken")
	_, err = twilio.NewStatusHandler(twilio.StatusHandlerConfig{URL: "https://a.example/x?notify_key=1", AuthToken: "t", OnStatus: func(context.Context, twilio.Status) error { return nil }})
	assert.ErrorContains(t, err, "notify_key")
}

func TestParseSignatureSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in  string
		id  string
		alg twilio.Algorithm
		ok  bool
	}{
		{"key=KS1,algorithm=HMAC_SHA256", "KS1", twilio.HMACSHA256, true},
		{"algorithm=hmac_sha1, key=KS2", "KS2", twilio.HMACSHA1, true},
		{"key=KS1,algorithm=HMAC_SHA256,version=2", "KS1", twilio.HMACSHA256, true},
		{"key=KS1", "", "", false},
		{"algorithm=HMAC_SHA256", "", "", false},
		{"key=,algorithm=HMAC_SHA256", "", "", false},
		{"key=KS1,algorithm=HMAC_SHA256,algorithm=HMAC_SHA1", "", "", false},
		{"key=KS1,algorithm=none", "", "", false},
		{"garbage", "", "", false},
		{"", "", "", false},
		{"key=" + strings.Repeat("k", 600) + ",algorithm=HMAC_SHA256", "", "", false},
	}
	for _, tc := range tests {
		id, alg, err := twilio.ParseSignatureSettings(tc.in)
		if !tc.ok {
			assert.Error(t, err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.id, id)
		assert.Equal(t, tc.alg, alg)
	}
}

func TestErrorMeaning(t *testing.T) {
	t.Parallel()
	for _, code := range []int{30003, 30004, 30005, 30006, 30007, 30008, 21610, 21614, 21408} {
		m := twilio.ErrorMeaning(code)
		assert.NotContains(t, m, "see https://", "code %d has its own words", code)
	}
	assert.Contains(t, twilio.ErrorMeaning(12345), "https://www.twilio.com/docs/api/errors/12345")
}

// BenchmarkStatusHandler measures a genuine callback and the worst a
// stranger can send: a full-size body of tiny parameters, refused.
func BenchmarkStatusHandler(b *testing.B) {
	h, err := twilio.NewStatusHandler(twilio.StatusHandlerConfig{
		URL: publicURL, AuthToken: token, PreviousAuthToken: oldToken, PreviousAuthTokenExpires: time.Now().Add(time.Hour),
		OnStatus: func(context.Context, twilio.Status) error { return nil },
	})
	require.NoError(b, err)
	form := statusParams("delivered", 0)
	u := publicURL + "&notify_key=k1"
	sig, _ := twilio.Signature(twilio.HMACSHA1, token, u, form)
	for _, bc := range []struct {
		name, body string
		want       int
	}{
		{"genuine", form.Encode(), http.StatusNoContent},
		// 255 parameters in 16 KiB: parsed, sorted and hashed, refused.
		{"hostile 16KiB, 255 parameters", strings.Repeat("a="+strings.Repeat("b", 60)+"&", 255), http.StatusForbidden},
		// Too many parameters: refused before parsing.
		{"hostile 16KiB, 4k parameters", strings.Repeat("a=b&", twilio.DefaultMaxWebhookBody/4), http.StatusBadRequest},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1/twilio/status?tenant=7&notify_key=k1", strings.NewReader(bc.body))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.Header.Set(twilio.SignatureHeader, sig)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != bc.want {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}

// A refused signature answers 403 with no detail: which key, algorithm or
// expiry failed is for the host's log, not for whoever posted (found by a
// review: the body named configured key IDs).
func TestStatusHandlerRefusalsSayNothingOfTheKeys(t *testing.T) {
	t.Parallel()
	h, _ := newHandler(t, nil)
	for name, c := range map[string]callback{
		"expired key":      {alg: twilio.HMACSHA256, key: "retired-secret", settings: "key=KSold,algorithm=HMAC_SHA256"},
		"algorithm of KS1": {alg: twilio.HMACSHA256, key: "shared-secret-1", settings: "key=KS1,algorithm=HMAC_SHA256"},
		"wrong token":      {key: "not-the-token"},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, c.request(t))
		assert.Equal(t, http.StatusForbidden, w.Code, name)
		assert.Equal(t, "Forbidden\n", w.Body.String(), name)
	}
}
