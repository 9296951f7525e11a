package twilio_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/notify/notifytest"
	"github.com/siteadmin/integrations/twilio"
	"github.com/siteadmin/integrations/twilio/twiliotest"
)

func TestStatusDeliveryStatus(t *testing.T) {
	t.Parallel()
	tests := map[twilio.MessageStatus]notify.DeliveryState{
		twilio.StatusAccepted: notify.DeliveryQueued, twilio.StatusScheduled: notify.DeliveryQueued,
		twilio.StatusQueued: notify.DeliveryQueued, twilio.StatusSending: notify.DeliveryQueued,
		twilio.StatusSent: notify.DeliverySent, twilio.StatusDelivered: notify.DeliveryDelivered,
		twilio.StatusRead: notify.DeliveryDelivered, twilio.StatusUndelivered: notify.DeliveryUndelivered,
		twilio.StatusPartiallyDelivered: notify.DeliveryUndelivered, twilio.StatusFailed: notify.DeliveryFailed,
		twilio.StatusCanceled: notify.DeliveryFailed, "something_new": "",
	}
	for in, want := range tests {
		st := twilio.Status{MessageSID: messageSID, Status: in, Received: epoch}
		d := st.DeliveryStatus()
		assert.Equal(t, want, d.State, in)
		assert.Equal(t, in.Final(), want.Final(), "Final agrees for %s", in)
		assert.Equal(t, messageSID, d.ProviderID)
		assert.Equal(t, epoch, d.At)
		assert.NotEmpty(t, d.Reason)
	}
	d := twilio.Status{Status: twilio.StatusUndelivered, ErrorCode: 30005}.DeliveryStatus()
	assert.Equal(t, "30005", d.ErrorCode)
	assert.Equal(t, twilio.ErrorMeaning(30005), d.Reason)
}

// End to end: two-factor codes queued in the outbox, sent by a Deliverer
// through the Client to twiliotest, whose callbacks reach the host's
// StatusHandler, which records them in the outbox. The admin sees which
// code never arrived, with Twilio's SID and code.
func TestStatusCallbacksReachTheOutbox(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	outbox := notifytest.NewOutbox(nil)

	mux := http.NewServeMux()
	app := httptest.NewServer(mux)
	defer app.Close()
	public := app.URL + "/twilio/status"
	h, err := twilio.NewStatusHandler(twilio.StatusHandlerConfig{
		URL:       public,
		AuthToken: twiliotest.AuthToken,
		OnStatus:  twilio.RecordStatus(outbox),
	})
	require.NoError(t, err)
	mux.Handle("POST /twilio/status", h)

	srv := twiliotest.NewServer()
	defer srv.Close()
	srv.SetOutcome("+447700900123", twiliotest.Undelivered(twilio.CodeUnreachable))
	client, err := twilio.New(srv.Settings(), twilio.Config{StatusCallback: public})
	require.NoError(t, err)

	n, err := notify.New(notify.Config{Outbox: outbox})
	require.NoError(t, err)
	require.NoError(t, n.SendTwoFactorCode(ctx, notify.TwoFactorCode{Code: "123456", ExpiresIn: 10 * time.Minute}, "+14155550100", "+447700900123"))
	d, err := notify.NewDeliverer(notify.DelivererConfig{Outbox: outbox, SMSSender: client})
	require.NoError(t, err)
	claimed, err := d.DeliverDue(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, claimed)
	flushCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	require.NoError(t, srv.Flush(flushCtx))

	sids := map[string]string{}
	for _, m := range srv.Messages() {
		sids[m.To] = m.SID
	}
	records := outbox.Records()
	require.Len(t, records, 2)
	for _, r := range records {
		assert.Equal(t, notifytest.Delivered, r.State, "handed to Twilio")
		assert.Equal(t, sids[r.Message.To()], r.Delivery.ProviderID, "the SID links back to the key")
		switch r.Message.To() {
		case "+14155550100":
			assert.Equal(t, notify.DeliveryDelivered, r.Delivery.State)
			assert.Empty(t, r.Delivery.ErrorCode)
		case "+447700900123":
			assert.Equal(t, notify.DeliveryUndelivered, r.Delivery.State, "this code never arrived")
			assert.Equal(t, "30003", r.Delivery.ErrorCode)
			assert.Contains(t, r.Delivery.Reason, "could not be reached")
		}
	}
	for _, cb := range srv.Callbacks() {
		assert.Equal(t, http.StatusNoContent, cb.Response)
	}
}

// A callback for a message the outbox does not hold, or sent without a
// key, is answered 204: Twilio retrying it cannot help.
func TestRecordStatusSkipsWhatTheOutboxCannotHold(t *testing.T) {
	t.Parallel()
	outbox := notifytest.NewOutbox(nil)
	record := twilio.RecordStatus(outbox)
	assert.NoError(t, record(t.Context(), twilio.Status{Key: "gone", Status: twilio.StatusDelivered}))
	assert.NoError(t, record(t.Context(), twilio.Status{Key: "", Status: twilio.StatusDelivered}))
	assert.NoError(t, record(t.Context(), twilio.Status{Key: "gone", Status: "something_new"}))
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	assert.Error(t, record(cancelled, twilio.Status{Key: "gone", Status: twilio.StatusDelivered}), "other errors reach the handler")
}
