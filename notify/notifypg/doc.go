// Package notifypg is a notify.Outbox and a notify.RateCounter on
// PostgreSQL (13 or newer), for a host that runs several instances: each
// instance enqueues into one shared table, and a notify.Deliverer in each
// drains it, every message sent by one of them at a time; the send limits
// against SMS pumping count in another shared table, so they hold for the
// host as a whole.
//
// The host passes its own *sql.DB, opened with the driver it already uses
// (pgx's stdlib, lib/pq); this package imports only database/sql. Create
// the table once, with CreateSchema or with your migration tool and the
// SQL from Schema, then give the outbox to the Notifier and to a
// Deliverer:
//
//	outbox, err := notifypg.New(notifypg.Config{DB: db})
//	if err != nil { ... }
//	if err := outbox.CreateSchema(ctx); err != nil { ... } // idempotent
//	n, err := notify.New(notify.Config{Outbox: outbox, ...})    // enqueues only
//	d, err := notify.NewDeliverer(notify.DelivererConfig{Outbox: outbox, Mailer: mailer})
//	go d.Run(ctx)                                                // in every instance
//
// A notification caused by a change commits or rolls back with it: pass
// the change's transaction in the context, and Enqueue writes there.
//
//	tx, err := db.BeginTx(ctx, nil)
//	// ... insert the invitation ...
//	err = n.Invite(notifypg.WithTx(ctx, tx), invitation, to)
//	err = tx.Commit() // or Rollback: then nothing is ever sent
//
// # What the table does
//
// One row per message, keyed by its idempotency key. Claim is a single
// statement that locks the oldest due pending rows with FOR UPDATE SKIP
// LOCKED and leases them (attempts + 1, a new lease token, due again when
// the lease expires), so concurrent claimers in any number of processes
// never get the same message while its lease lasts. A partial index over
// pending rows keeps it fast on a table of millions of delivered ones.
// MarkFailed changes a row only while the caller's lease is current;
// MarkDelivered always records the send; MarkDeliveredBatch records a
// whole group in one UPDATE, and the Deliverer uses it.
//
// # Delivery status
//
// The Outbox is a notify.StatusRecorder: RecordStatus keeps the provider's
// latest report beside the message (state, the provider's message ID,
// error code, reason, time), in one UPDATE that keeps the rule of
// notify.DeliveryStatus.Supersedes, so Twilio's callbacks may arrive late,
// twice, or at once at two instances. Wire it to Twilio's status
// callbacks with twilio.RecordStatus(outbox); DeliveryStatus reads one
// message's report back.
//
// # Send limits
//
// RateCounter counts SMS sends per number, per country and overall for a
// notify.Limiter, one row per key and window, each send one INSERT ... ON
// CONFLICT DO UPDATE that never counts past the limit however many
// instances send at once. When the database cannot be reached, the
// Limiter refuses the send.
//
//	counter, err := notifypg.NewRateCounter(notifypg.RateCounterConfig{DB: db})
//	if err := counter.CreateSchema(ctx); err != nil { ... } // idempotent
//	limiter, err := notify.NewLimiter(notify.LimiterConfig{Counter: counter, AllowedCountries: []string{"GB", "IE"}})
//	n, err := notify.New(notify.Config{Outbox: outbox, Limiter: limiter, ...})
//
// Take also deletes ended windows, at most once per
// RateCounterConfig.PurgeInterval; RateCounterSchema gives the SQL for a
// migration tool.
//
// # For admins
//
// DeadLetters lists the messages given up on, with the reason; Requeue
// sends one again once its cause is fixed; Undelivered lists the messages
// the provider accepted and then reported undelivered or failed (which
// two-factor codes never arrived, and Twilio's error code for each);
// Purge deletes delivered and dead messages older than a retention
// period. Run Purge daily: a stored message holds its whole body, reset
// links included.
//
// Look next at Config, the Outbox methods, RateCounter, and the
// conformance suites this package passes and a store on another database
// should pass too: notifytest.TestOutbox, notifytest.TestStatusRecorder
// and notifytest.TestRateCounter.
package notifypg
