package notifytest

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siteadmin/integrations/notify"
)

// StatusOutbox is what TestStatusRecorder tests: an Outbox that records
// the provider's delivery reports and reads them back. Outbox and
// notifypg.Outbox are StatusOutboxes.
type StatusOutbox interface {
	notify.Outbox
	notify.StatusRecorder
	// DeliveryStatus returns the status recorded for the message with
	// key: the zero DeliveryStatus when none was, and an error wrapping
	// notify.ErrUnknownMessage when no message has the key.
	DeliveryStatus(ctx context.Context, key string) (notify.DeliveryStatus, error)
}

// TestStatusRecorder tests a notify.StatusRecorder against every sentence
// of the interface's doc, as TestOutbox does for the Outbox. Run it from a
// test of your own outbox:
//
//	func TestStatusRecorder(t *testing.T) {
//		notifytest.TestStatusRecorder(t, func(t *testing.T) notifytest.StatusOutbox {
//			return newEmptyOutboxOnAFreshTable(t)
//		})
//	}
//
// newOutbox must return an empty outbox; it is called once per subtest,
// with that subtest's t. The subtests check that a report is stored
// whole (every field, At to the microsecond) and read back; that a report
// replaces only one of a lower rank, or of the same rank when that is not
// final, so the first final report stays (DeliveryStatus.Supersedes);
// that it is recorded whatever the message's outbox state and changes
// nothing of it, and that the Deliverer's calls leave it alone; that an
// unknown key is notify.ErrUnknownMessage, a state without a rank an
// error, and a done context an error that records nothing; and that
// reports racing in any order from many goroutines end exactly as the
// rule says, never as a mix of two reports.
func TestStatusRecorder(t *testing.T, newOutbox func(t *testing.T) StatusOutbox) {
	t.Helper()
	for _, c := range statusChecks {
		t.Run(c.name, func(t *testing.T) {
			c.run(t, newOutbox(t))
		})
	}
}

var statusChecks = []struct {
	name string
	run  func(t *testing.T, o StatusOutbox)
}{
	{"NoStatusUntilReported", checkNoStatusUntilReported},
	{"ReportIsStoredWhole", checkReportIsStoredWhole},
	{"HigherRankReplaces", checkHigherRankReplaces},
	{"LowerRankIsIgnored", checkLowerRankIsIgnored},
	{"FirstFinalStays", checkFirstFinalStays},
	{"SameRankReplacesUntilFinal", checkSameRankReplacesUntilFinal},
	{"UnknownKey", checkUnknownKey},
	{"StateWithoutRankIsRefused", checkStateWithoutRankIsRefused},
	{"DoneContextRecordsNothing", checkDoneContextRecordsNothing},
	{"WhateverTheOutboxState", checkWhateverTheOutboxState},
	{"ConcurrentOutOfOrderReports", checkConcurrentOutOfOrderReports},
	{"ConcurrentFinalReports", checkConcurrentFinalReports},
}

// reportAt is a fixed time with a microsecond part, in a zone other than
// UTC, so that a store must keep the instant, not the wall clock.
var reportAt = time.Date(2030, 1, 2, 8, 4, 5, 123456000, time.FixedZone("UTC+5", 5*3600))

// report returns a status in state st, with every field set from n.
func report(st notify.DeliveryState, n int) notify.DeliveryStatus {
	d := notify.DeliveryStatus{
		State:      st,
		ProviderID: "SM" + strconv.Itoa(n),
		Reason:     "report " + strconv.Itoa(n),
		At:         reportAt.Add(time.Duration(n) * time.Second),
	}
	if st == notify.DeliveryUndelivered || st == notify.DeliveryFailed {
		d.ErrorCode = strconv.Itoa(30000 + n)
	}
	return d
}

// sameStatus compares as a database would keep a status: the instant of
// At, not its location.
func sameStatus(a, b notify.DeliveryStatus) bool {
	return a.State == b.State && a.ProviderID == b.ProviderID && a.ErrorCode == b.ErrorCode &&
		a.Reason == b.Reason && a.At.Equal(b.At)
}

func record(t *testing.T, o StatusOutbox, key string, st notify.DeliveryStatus) {
	t.Helper()
	must(t, o.RecordStatus(t.Context(), key, st), "RecordStatus(%q, %s)", key, st.State)
}

func statusOf(t *testing.T, o StatusOutbox, key string) notify.DeliveryStatus {
	t.Helper()
	st, err := o.DeliveryStatus(t.Context(), key)
	must(t, err, "DeliveryStatus(%q)", key)
	return st
}

// checkStatus reports a failure when the status of key is not want.
func checkStatus(t *testing.T, o StatusOutbox, key string, want notify.DeliveryStatus, why string) {
	t.Helper()
	if got := statusOf(t, o, key); !sameStatus(got, want) {
		t.Errorf("DeliveryStatus(%q) = %+v, want %+v: %s", key, got, want, why)
	}
}

func checkNoStatusUntilReported(t *testing.T, o StatusOutbox) {
	enqueue(t, o, sampleSMS("k"))
	checkStatus(t, o, "k", notify.DeliveryStatus{}, "no report yet")
}

func checkReportIsStoredWhole(t *testing.T, o StatusOutbox) {
	var msgs []notify.Message
	for _, k := range hostileKeys {
		msgs = append(msgs, sampleSMS(k))
	}
	enqueue(t, o, msgs...)
	for i, k := range hostileKeys {
		st := report(notify.DeliveryUndelivered, i)
		st.Reason = "Unreachable handset ' \" \\ %_ {} \n日本 " + k
		record(t, o, k, st)
	}
	for i, k := range hostileKeys {
		st := report(notify.DeliveryUndelivered, i)
		st.Reason = "Unreachable handset ' \" \\ %_ {} \n日本 " + k
		checkStatus(t, o, k, st, "stored as reported, each under its own key")
	}
	// Empty optional fields stay empty.
	enqueue(t, o, sampleSMS("bare"))
	bare := notify.DeliveryStatus{State: notify.DeliveryQueued, At: reportAt}
	record(t, o, "bare", bare)
	checkStatus(t, o, "bare", bare, "a report with only a state and a time")
}

func checkHigherRankReplaces(t *testing.T, o StatusOutbox) {
	enqueue(t, o, sampleSMS("k"))
	for i, st := range []notify.DeliveryState{notify.DeliveryQueued, notify.DeliverySent, notify.DeliveryDelivered} {
		record(t, o, "k", report(st, i))
		checkStatus(t, o, "k", report(st, i), "a report of a higher rank replaces the one before")
	}
	enqueue(t, o, sampleSMS("k2"))
	record(t, o, "k2", report(notify.DeliveryQueued, 1))
	record(t, o, "k2", report(notify.DeliveryFailed, 2))
	checkStatus(t, o, "k2", report(notify.DeliveryFailed, 2), "queued straight to failed")
}

func checkLowerRankIsIgnored(t *testing.T, o StatusOutbox) {
	enqueue(t, o, sampleSMS("final"), sampleSMS("sent"))
	record(t, o, "final", report(notify.DeliveryDelivered, 1))
	record(t, o, "final", report(notify.DeliverySent, 2))
	record(t, o, "final", report(notify.DeliveryQueued, 3))
	checkStatus(t, o, "final", report(notify.DeliveryDelivered, 1), "late queued and sent reports after delivered")
	record(t, o, "sent", report(notify.DeliverySent, 1))
	record(t, o, "sent", report(notify.DeliveryQueued, 2))
	checkStatus(t, o, "sent", report(notify.DeliverySent, 1), "a late queued report after sent")
}

func checkFirstFinalStays(t *testing.T, o StatusOutbox) {
	enqueue(t, o, sampleSMS("k"))
	record(t, o, "k", report(notify.DeliverySent, 1))
	record(t, o, "k", report(notify.DeliveryUndelivered, 2))
	record(t, o, "k", report(notify.DeliveryDelivered, 3))
	record(t, o, "k", report(notify.DeliveryFailed, 4))
	record(t, o, "k", report(notify.DeliveryUndelivered, 5))
	checkStatus(t, o, "k", report(notify.DeliveryUndelivered, 2), "the first final report stays")
}

func checkSameRankReplacesUntilFinal(t *testing.T, o StatusOutbox) {
	enqueue(t, o, sampleSMS("k"))
	record(t, o, "k", report(notify.DeliveryQueued, 1))
	record(t, o, "k", report(notify.DeliveryQueued, 2))
	checkStatus(t, o, "k", report(notify.DeliveryQueued, 2), "a second queued report replaces the first")
	record(t, o, "k", report(notify.DeliverySent, 3))
	record(t, o, "k", report(notify.DeliverySent, 4))
	checkStatus(t, o, "k", report(notify.DeliverySent, 4), "a second sent report replaces the first")
}

func checkUnknownKey(t *testing.T, o StatusOutbox) {
	enqueue(t, o, sampleSMS("k"), sampleSMS("k'quote"))
	for _, k := range []string{"nope", "K", "k ", "", "k' OR '1'='1", "%", "k'quote'"} {
		err := o.RecordStatus(t.Context(), k, report(notify.DeliverySent, 1))
		check(t, errors.Is(err, notify.ErrUnknownMessage), "RecordStatus(%q) = %v, want notify.ErrUnknownMessage", k, err)
		_, err = o.DeliveryStatus(t.Context(), k)
		check(t, errors.Is(err, notify.ErrUnknownMessage), "DeliveryStatus(%q) = %v, want notify.ErrUnknownMessage", k, err)
	}
	checkStatus(t, o, "k", notify.DeliveryStatus{}, "reports for other keys")
	checkStatus(t, o, "k'quote", notify.DeliveryStatus{}, "reports for other keys")
	// Not for a key the outbox holds, even when the report is ignored.
	record(t, o, "k", report(notify.DeliveryDelivered, 1))
	record(t, o, "k", report(notify.DeliverySent, 2))
}

func checkStateWithoutRankIsRefused(t *testing.T, o StatusOutbox) {
	enqueue(t, o, sampleSMS("k"))
	record(t, o, "k", report(notify.DeliveryQueued, 1))
	for _, st := range []notify.DeliveryState{"", "read", "DELIVERED", "delivered "} {
		err := o.RecordStatus(t.Context(), "k", notify.DeliveryStatus{State: st, At: reportAt})
		check(t, err != nil && !errors.Is(err, notify.ErrUnknownMessage), "RecordStatus with state %q = %v, want an error other than ErrUnknownMessage", st, err)
	}
	checkStatus(t, o, "k", report(notify.DeliveryQueued, 1), "refused reports change nothing")
}

func checkDoneContextRecordsNothing(t *testing.T, o StatusOutbox) {
	enqueue(t, o, sampleSMS("k"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := o.RecordStatus(ctx, "k", report(notify.DeliveryDelivered, 1))
	check(t, err != nil, "RecordStatus with a cancelled context returned no error")
	checkStatus(t, o, "k", notify.DeliveryStatus{}, "a report with a cancelled context")
}

// A report can come before MarkDelivered, or long after the message is
// final; it is recorded in every state, the message's outbox state stays
// the Deliverer's, and the Deliverer's calls keep the report.
func checkWhateverTheOutboxState(t *testing.T, o StatusOutbox) {
	enqueue(t, o, sampleSMS("leased"), sampleSMS("delivered"), sampleSMS("dead"))
	msgs := claim(t, o, 3, longLease)
	if len(msgs) != 3 {
		t.Fatalf("Claim(3) = %q, want three messages", keysOf(msgs))
	}
	byKey := map[string]notify.Message{}
	for _, m := range msgs {
		byKey[m.Key()] = m
	}
	must(t, o.MarkDelivered(t.Context(), byKey["delivered"]), "MarkDelivered")
	must(t, o.MarkFailed(t.Context(), byKey["dead"], dead()), "MarkFailed dead")
	enqueue(t, o, sampleSMS("pending"))

	keys := []string{"pending", "leased", "delivered", "dead"}
	for i, k := range keys {
		record(t, o, k, report(notify.DeliveryDelivered, i))
	}
	if got := claim(t, o, 10, longLease); len(got) != 1 || got[0].Key() != "pending" {
		t.Errorf("Claim after the reports = %q, want [pending]: a report must not change the outbox state", keysOf(got))
	} else {
		byKey["pending"] = got[0]
	}
	// The Deliverer goes on: a retry, a send, an Enqueue of a key present.
	must(t, o.MarkFailed(t.Context(), byKey["leased"], retryNow()), "MarkFailed")
	must(t, o.MarkDelivered(t.Context(), byKey["pending"]), "MarkDelivered")
	enqueue(t, o, sampleSMS("dead"), sampleSMS("delivered"))
	if got := claim(t, o, 10, longLease); len(got) != 1 || got[0].Key() != "leased" {
		t.Errorf("Claim after the retry = %q, want [leased]", keysOf(got))
	}
	for i, k := range keys {
		checkStatus(t, o, k, report(notify.DeliveryDelivered, i), "Claim, MarkFailed, MarkDelivered and Enqueue keep the report")
	}
}

// Reports arrive concurrently and out of order (Twilio's callbacks race):
// however they interleave, a message that got one final report among many
// queued and sent ones ends with exactly that report. The other reports
// go on before, during and after the final one.
func checkConcurrentOutOfOrderReports(t *testing.T, o StatusOutbox) {
	const messages, goroutines, after = 10, 8, 3
	for m := range messages {
		k := "m" + strconv.Itoa(m)
		enqueue(t, o, sampleSMS(k))
		final := report(notify.DeliveryDelivered, 100+m)
		if m%3 == 1 {
			final = report(notify.DeliveryUndelivered, 100+m)
		}
		var e errs
		var wg sync.WaitGroup
		var others, quit atomic.Int64 // reports the others made; others that stopped on an error
		finalDone := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(finalDone)
			for others.Load() < goroutines && quit.Load() < goroutines-1 {
				runtime.Gosched()
			}
			if err := o.RecordStatus(t.Context(), k, final); err != nil {
				e.add("RecordStatus(%q, %s): %v", k, final.State, err)
			}
		}()
		for g := 1; g < goroutines; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				left := after
				for i := 0; left > 0; i++ {
					select {
					case <-finalDone:
						left--
					default:
					}
					st := report(notify.DeliveryQueued, g*100+i)
					if (g+i)%2 == 1 {
						st = report(notify.DeliverySent, g*100+i)
					}
					if err := o.RecordStatus(t.Context(), k, st); err != nil {
						e.add("RecordStatus(%q, %s): %v", k, st.State, err)
						quit.Add(1)
						return
					}
					others.Add(1)
				}
			}()
		}
		wg.Wait()
		e.report(t)
		checkStatus(t, o, k, final, "the only final report, whatever the order of the others")
	}
}

// Several final reports race: one of them stays, whole, and later reports
// change nothing.
func checkConcurrentFinalReports(t *testing.T, o StatusOutbox) {
	const messages, goroutines = 10, 8
	finals := []notify.DeliveryState{notify.DeliveryDelivered, notify.DeliveryUndelivered, notify.DeliveryFailed}
	for round := range messages {
		k := "m" + strconv.Itoa(round)
		enqueue(t, o, sampleSMS(k))
		var wg sync.WaitGroup
		var e errs
		ready := make(chan struct{})
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-ready
				st := report(finals[g%len(finals)], g)
				if g%4 == 3 {
					st = report(notify.DeliverySent, g)
				}
				if err := o.RecordStatus(t.Context(), k, st); err != nil {
					e.add("RecordStatus(%q, %s): %v", k, st.State, err)
				}
			}()
		}
		close(ready)
		wg.Wait()
		e.report(t)
		got := statusOf(t, o, k)
		whole := false
		for g := range goroutines {
			if g%4 != 3 && sameStatus(got, report(finals[g%len(finals)], g)) {
				whole = true
			}
		}
		if !whole {
			t.Errorf("%s: DeliveryStatus = %+v, want one of the final reports, whole", k, got)
			continue
		}
		record(t, o, k, report(notify.DeliveryFailed, 99))
		checkStatus(t, o, k, got, "a final report after the race")
	}
}
