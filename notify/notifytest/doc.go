// Package notifytest holds small, real implementations of the notify
// interfaces for tests: a recording Mailer and SMSSender that keep what
// they are given instead of sending it, with failure injection
// (FailNext, Hold), an in-memory Outbox with the semantics of a SQL one
// (exclusive claims, leases that expire, final states, and the
// provider's delivery status through RecordStatus), and a Clock
// whose Sleep advances it instead of waiting.
//
//	clock := notifytest.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
//	mailer := &notifytest.Mailer{}
//	mailer.FailNext(2, notifytest.Temporary)
//	n, _ := notify.New(notify.Config{Mailer: mailer, Now: clock.Now, Sleep: clock.Sleep})
//	_ = n.SendTestEmail(ctx, notify.TestEmail{}, "admin@example.com")
//	// mailer.Attempts() == 3, len(mailer.Sent()) == 1
//
// TestOutbox is the conformance suite for notify.Outbox, in the manner of
// testing/fstest.TestFS: a host that keeps its outbox on its own database
// (notify/notifypg is the PostgreSQL one) runs it from a test to prove
// every guarantee of the interface's doc, concurrency included. Outbox
// passes it.
package notifytest
