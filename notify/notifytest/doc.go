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
package notifytest
