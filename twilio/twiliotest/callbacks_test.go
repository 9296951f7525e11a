package twiliotest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/twilio"
	"github.com/siteadmin/integrations/twilio/twiliotest"
)

// host is an application under test: a StatusHandler on loopback that
// keeps what it is handed.
type host struct {
	URL string
	mu  sync.Mutex
	got []twilio.Status
}

func (h *host) statuses() []twilio.Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]twilio.Status(nil), h.got...)
}

func newHost(t *testing.T, change func(*twilio.StatusHandlerConfig)) *host {
	t.Helper()
	h := &host{}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	h.URL = srv.URL + "/twilio/status"
	cfg := twilio.StatusHandlerConfig{
		URL:       h.URL,
		AuthToken: twiliotest.AuthToken,
		OnStatus: func(_ context.Context, st twilio.Status) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.got = append(h.got, st)
			return nil
		},
	}
	if change != nil {
		change(&cfg)
	}
	sh, err := twilio.NewStatusHandler(cfg)
	require.NoError(t, err)
	mux.Handle("POST /twilio/status", sh)
	return h
}

func send(t *testing.T, srv *twiliotest.Server, callback, to, key string) twilio.Receipt {
	t.Helper()
	c, err := twilio.New(srv.Settings(), twilio.Config{StatusCallback: callback})
	require.NoError(t, err)
	rec, err := c.Send(t.Context(), notify.SMS{Kind: notify.KindTwoFactorCode, To: to, Body: "Your code is 123456", Key: key})
	require.NoError(t, err)
	return rec
}

func flush(t *testing.T, srv *twiliotest.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	require.NoError(t, srv.Flush(ctx))
}

// End to end: the fake sends each message's callbacks in order, signed
// as Twilio signs them, and the package's own handler verifies them and
// hands the host the statuses, keys and error codes.
func TestCallbacksReachTheHandler(t *testing.T) {
	t.Parallel()
	srv := twiliotest.NewServer()
	defer srv.Close()
	h := newHost(t, nil)
	srv.SetOutcome("+14155550199", twiliotest.Undelivered(twilio.CodeUnreachable))
	srv.NextOutcomes(twiliotest.Failed(twilio.CodeUnknownError))

	failed := send(t, srv, h.URL, "+14155550100", "k-failed")
	flush(t, srv)
	delivered := send(t, srv, h.URL, "+14155550100", "k-delivered")
	flush(t, srv)
	undelivered := send(t, srv, h.URL, "+14155550199", "k-undelivered")
	flush(t, srv)

	type seen struct {
		sid, key string
		status   twilio.MessageStatus
		code     int
	}
	var got []seen
	for _, st := range h.statuses() {
		got = append(got, seen{st.MessageSID, st.Key, st.Status, st.ErrorCode})
		assert.Equal(t, twiliotest.AccountSID, st.AccountSID)
		assert.Equal(t, twiliotest.FromNumber, st.From)
	}
	assert.Equal(t, []seen{
		{failed.SID, "k-failed", twilio.StatusFailed, twilio.CodeUnknownError},
		{delivered.SID, "k-delivered", twilio.StatusSent, 0},
		{delivered.SID, "k-delivered", twilio.StatusDelivered, 0},
		{undelivered.SID, "k-undelivered", twilio.StatusSent, 0},
		{undelivered.SID, "k-undelivered", twilio.StatusUndelivered, twilio.CodeUnreachable},
	}, got)
	for _, cb := range srv.Callbacks() {
		assert.NoError(t, cb.Err)
		assert.Equal(t, http.StatusNoContent, cb.Response)
		assert.Contains(t, cb.URL, "notify_key=")
		assert.NotEmpty(t, cb.Signature)
		assert.Empty(t, cb.Settings)
	}
}

func TestCallbacksSignedWithASharedKey(t *testing.T) {
	t.Parallel()
	srv := twiliotest.NewServer()
	defer srv.Close()
	srv.SignCallbacksWith("KS0001", "rule-secret", twilio.HMACSHA256)
	withKey := newHost(t, func(c *twilio.StatusHandlerConfig) {
		c.SharedKeys = []twilio.SharedKey{{ID: "KS0001", Secret: "rule-secret", Algorithm: twilio.HMACSHA256}}
	})
	tokenOnly := newHost(t, nil)

	send(t, srv, withKey.URL, "+14155550100", "k1")
	send(t, srv, tokenOnly.URL, "+14155550100", "k2")
	flush(t, srv)

	assert.Len(t, withKey.statuses(), 2)
	assert.Empty(t, tokenOnly.statuses(), "a handler without the key refuses")
	for _, cb := range srv.Callbacks() {
		assert.Equal(t, "key=KS0001,algorithm=HMAC_SHA256", cb.Settings)
		want := http.StatusNoContent
		if cb.Form.Get("MessageSid") == srv.Messages()[1].SID {
			want = http.StatusForbidden
		}
		assert.Equal(t, want, cb.Response)
	}
}

// A handler that trusts another token refuses every callback: the fake
// signs for real.
func TestCallbacksWithAnotherTokenAreRefused(t *testing.T) {
	t.Parallel()
	srv := twiliotest.NewServer()
	defer srv.Close()
	h := newHost(t, func(c *twilio.StatusHandlerConfig) { c.AuthToken = "not-the-token" })
	send(t, srv, h.URL, "+14155550100", "k1")
	flush(t, srv)
	assert.Empty(t, h.statuses())
	cbs := srv.Callbacks()
	require.Len(t, cbs, 2)
	for _, cb := range cbs {
		assert.Equal(t, http.StatusForbidden, cb.Response)
	}
}

func TestCallbacksStayOnLoopback(t *testing.T) {
	t.Parallel()
	srv := twiliotest.NewServer()
	defer srv.Close()
	send(t, srv, "https://app.example.com/twilio/status", "+14155550100", "k1")
	flush(t, srv)
	cbs := srv.Callbacks()
	require.Len(t, cbs, 2)
	for _, cb := range cbs {
		assert.ErrorIs(t, cb.Err, twiliotest.ErrNotLoopback)
		assert.Zero(t, cb.Response)
	}
}

// PostCallback sends what Twilio sometimes does: a late status after
// the final one. The handler verifies it; what to keep is the host's
// decision (an outbox keeps the final status).
func TestPostCallbackOutOfOrder(t *testing.T) {
	t.Parallel()
	srv := twiliotest.NewServer()
	defer srv.Close()
	h := newHost(t, nil)
	send(t, srv, h.URL, "+14155550100", "k1")
	flush(t, srv)
	cb := srv.PostCallback(t.Context(), srv.Messages()[0], twilio.StatusSent, 0)
	require.NoError(t, cb.Err)
	assert.Equal(t, http.StatusNoContent, cb.Response)
	got := h.statuses()
	require.Len(t, got, 3)
	assert.Equal(t, twilio.StatusSent, got[2].Status)
	assert.Len(t, srv.Callbacks(), 3)
}

func TestNoCallbacksWithoutAURL(t *testing.T) {
	t.Parallel()
	srv := twiliotest.NewServer()
	defer srv.Close()
	send(t, srv, "", "+14155550100", "k1")
	flush(t, srv)
	assert.Empty(t, srv.Callbacks())
}

// Close ends callbacks that wait on a slow host instead of hanging.
func TestCloseEndsCallbacksUnderWay(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	srv := twiliotest.NewServer()
	send(t, srv, slow.URL+"/cb", "+14155550100", "k1")
	done := make(chan struct{})
	go func() { srv.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end the callback under way")
	}
	for _, cb := range srv.Callbacks() {
		assert.Error(t, cb.Err)
	}
}
