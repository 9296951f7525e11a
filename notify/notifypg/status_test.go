package notifypg_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/internal/pgtest"
	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/notify/notifypg"
	"github.com/siteadmin/integrations/notify/notifytest"
	"github.com/siteadmin/integrations/twilio"
	"github.com/siteadmin/integrations/twilio/twiliotest"
)

func TestStatusRecorderSuite(t *testing.T) {
	t.Parallel()
	t.Run("defaults", func(t *testing.T) {
		t.Parallel()
		notifytest.TestStatusRecorder(t, func(t *testing.T) notifytest.StatusOutbox {
			return newOutbox(t, pgtest.DB(t), notifypg.Config{})
		})
	})
	t.Run("two instances on one schema-qualified table", func(t *testing.T) {
		t.Parallel()
		notifytest.TestStatusRecorder(t, func(t *testing.T) notifytest.StatusOutbox {
			dsn := pgtest.DSN(t)
			a := pgtest.Open(t, dsn)
			schema := pgtest.Schema(t, a, "Mail")
			cfg := notifypg.Config{Table: schema + ".Outbox"}
			return &alternating{outboxes: []*notifypg.Outbox{newOutbox(t, a, cfg), newOutbox(t, pgtest.Open(t, dsn), cfg)}}
		})
	})
}

func sms(key, to string) notify.Message {
	return notify.Message{SMS: &notify.SMS{Kind: notify.KindTwoFactorCode, To: to, Body: "Your code is 493817", Key: key}}
}

// An admin asks which codes never arrived: the messages whose final report
// is undelivered or failed, latest first, without their bodies.
func TestUndelivered(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := notifytest.NewClock(base)
	o := newOutbox(t, pgtest.DB(t), notifypg.Config{Now: clock.Now})
	require.NoError(t, o.Enqueue(ctx, []notify.Message{
		sms("arrived", "+14155550100"), sms("phone-off", "+14155550101"), sms("blocked", "+442079460000"),
		sms("in-flight", "+14155550102"), sms("silent", "+14155550103"), sms("late-sent", "+14155550104"),
		email("mail"),
	}))
	msgs, err := o.Claim(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.NoError(t, o.MarkDeliveredBatch(ctx, msgs))

	report := func(key string, st notify.DeliveryState, code string, minute int) notify.DeliveryStatus {
		d := notify.DeliveryStatus{State: st, ProviderID: "SM-" + key, ErrorCode: code, Reason: "reason " + key, At: base.Add(time.Duration(minute) * time.Minute)}
		require.NoError(t, o.RecordStatus(ctx, key, d))
		return d
	}
	report("arrived", notify.DeliveryDelivered, "", 1)
	phoneOff := report("phone-off", notify.DeliveryUndelivered, "30003", 2)
	blocked := report("blocked", notify.DeliveryFailed, "30008", 3)
	report("in-flight", notify.DeliverySent, "", 4)
	lateSent := report("late-sent", notify.DeliveryUndelivered, "30005", 5)
	report("late-sent", notify.DeliverySent, "", 6) // ignored: the final report stays
	report("mail", notify.DeliveryDelivered, "", 7)

	lost, err := o.Undelivered(ctx, 0)
	require.NoError(t, err)
	require.Len(t, lost, 3)
	for i, want := range []struct {
		key, to string
		status  notify.DeliveryStatus
	}{{"late-sent", "+14155550104", lateSent}, {"blocked", "+442079460000", blocked}, {"phone-off", "+14155550101", phoneOff}} {
		got := lost[i]
		assert.Equal(t, want.key, got.Key, "latest report first")
		assert.Equal(t, notify.KindTwoFactorCode, got.Kind)
		assert.Equal(t, want.to, got.To)
		assert.Equal(t, base, got.Enqueued.UTC())
		assert.True(t, want.status.At.Equal(got.Status.At), "%s: At %s", want.key, got.Status.At)
		got.Status.At = want.status.At
		assert.Equal(t, want.status, got.Status)
	}
	one, err := o.Undelivered(ctx, 1)
	require.NoError(t, err)
	require.Len(t, one, 1)
	assert.Equal(t, "late-sent", one[0].Key)

	// Purge deletes them with the delivered messages, after the retention.
	clock.Advance(48 * time.Hour)
	_, err = o.Purge(ctx, 24*time.Hour)
	require.NoError(t, err)
	lost, err = o.Undelivered(ctx, 0)
	require.NoError(t, err)
	assert.Empty(t, lost)
	assert.ErrorIs(t, o.RecordStatus(ctx, "phone-off", phoneOff), notify.ErrUnknownMessage, "a late report for a purged message")
}

// A migration tool runs the text of Schema and RateCounterSchema as one
// script; the tables it makes are the ones CreateSchema makes.
func TestSchemaTextRunsAsOneScript(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := pgtest.DB(t)
	for _, schema := range []func(string) (string, error){notifypg.Schema, notifypg.RateCounterSchema} {
		ddl, err := schema("")
		require.NoError(t, err)
		for range 2 { // a second run changes nothing
			_, err = db.ExecContext(ctx, ddl)
			require.NoError(t, err, "%s", ddl)
		}
	}
	o := newOutbox(t, db, notifypg.Config{})
	require.NoError(t, o.Enqueue(ctx, []notify.Message{sms("k", "+14155550100")}))
	require.NoError(t, o.RecordStatus(ctx, "k", notify.DeliveryStatus{State: notify.DeliveryFailed, ErrorCode: "30008"}))
	lost, err := o.Undelivered(ctx, 0)
	require.NoError(t, err)
	require.Len(t, lost, 1)
	assert.Equal(t, "30008", lost[0].Status.ErrorCode)
	c := newRateCounter(t, db, notifypg.RateCounterConfig{})
	ok, err := c.Take(ctx, "k", time.Now().Truncate(time.Hour), time.Hour, 1)
	require.NoError(t, err)
	assert.True(t, ok)
}

// End to end on PostgreSQL: codes queued in the outbox, sent by a
// Deliverer through the twilio Client to twiliotest, whose signed
// callbacks reach the host's StatusHandler, which records them in the
// table; Undelivered then names the code that never arrived.
func TestTwilioCallbacksReachThePostgreSQLOutbox(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := pgtest.DB(t)
	outbox := newOutbox(t, db, notifypg.Config{})

	mux := http.NewServeMux()
	app := httptest.NewServer(mux)
	defer app.Close()
	public := app.URL + "/twilio/status"
	h, err := twilio.NewStatusHandler(twilio.StatusHandlerConfig{URL: public, AuthToken: twiliotest.AuthToken, OnStatus: twilio.RecordStatus(outbox)})
	require.NoError(t, err)
	mux.Handle("POST /twilio/status", h)

	srv := twiliotest.NewServer()
	defer srv.Close()
	srv.SetOutcome("+447700900123", twiliotest.Undelivered(twilio.CodeUnreachable))
	client, err := twilio.New(srv.Settings(), twilio.Config{StatusCallback: public})
	require.NoError(t, err)

	n, err := notify.New(notify.Config{Outbox: outbox})
	require.NoError(t, err)
	require.NoError(t, n.SendTwoFactorCode(ctx, notify.TwoFactorCode{Code: "123456"}, "+14155550100", "+447700900123"))
	d, err := notify.NewDeliverer(notify.DelivererConfig{Outbox: outbox, SMSSender: client})
	require.NoError(t, err)
	claimed, err := d.DeliverDue(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, claimed)
	flushCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	require.NoError(t, srv.Flush(flushCtx))
	for _, cb := range srv.Callbacks() {
		require.Equal(t, http.StatusNoContent, cb.Response)
	}

	sids := map[string]string{}
	for _, m := range srv.Messages() {
		sids[m.To] = m.SID
	}
	lost, err := outbox.Undelivered(ctx, 0)
	require.NoError(t, err)
	require.Len(t, lost, 1)
	assert.Equal(t, "+447700900123", lost[0].To)
	assert.Equal(t, notify.KindTwoFactorCode, lost[0].Kind)
	assert.Equal(t, notify.DeliveryUndelivered, lost[0].Status.State)
	assert.Equal(t, "30003", lost[0].Status.ErrorCode)
	assert.Equal(t, sids["+447700900123"], lost[0].Status.ProviderID, "the SID links Twilio's logs to the key")
	assert.Contains(t, lost[0].Status.Reason, "could not be reached")

	// The one that arrived, read by its key.
	var other string
	require.NoError(t, db.QueryRowContext(ctx, `SELECT key FROM notify_outbox WHERE key <> $1`, lost[0].Key).Scan(&other))
	arrived, err := outbox.DeliveryStatus(ctx, other)
	require.NoError(t, err)
	assert.Equal(t, notify.DeliveryDelivered, arrived.State)
	assert.Equal(t, sids["+14155550100"], arrived.ProviderID)
}
