package notifypg_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the host's driver; notifypg imports none

	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/notify/notifypg"
	"github.com/siteadmin/integrations/twilio"
)

// Every instance of the host enqueues into the shared table and runs a
// Deliverer on it. It needs a server, so it is compiled but not run.
func ExampleNew() {
	ctx := context.Background()
	db, err := sql.Open("pgx", os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	outbox, err := notifypg.New(notifypg.Config{DB: db})
	if err != nil {
		log.Fatal(err)
	}
	if err := outbox.CreateSchema(ctx); err != nil { // idempotent; or use Schema in a migration
		log.Fatal(err)
	}
	var mailer notify.Mailer // smtpx.NewMailer(...) in a real host
	n, err := notify.New(notify.Config{Outbox: outbox, SiteName: "Acme"})
	if err != nil {
		log.Fatal(err)
	}
	d, err := notify.NewDeliverer(notify.DelivererConfig{Outbox: outbox, Mailer: mailer})
	if err != nil {
		log.Fatal(err)
	}
	go d.Run(ctx) // in every instance; the leases keep them apart

	err = n.ResetPassword(ctx, notify.PasswordReset{ResetURL: "https://app.example.com/reset?token=..."}, "alice@example.com")
	if err != nil {
		log.Fatal(err)
	}
}

// A notification caused by a change commits or rolls back with it.
func ExampleWithTx() {
	ctx := context.Background()
	db, err := sql.Open("pgx", os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	outbox, err := notifypg.New(notifypg.Config{DB: db})
	if err != nil {
		log.Fatal(err)
	}
	n, err := notify.New(notify.Config{Outbox: outbox, SiteName: "Acme"})
	if err != nil {
		log.Fatal(err)
	}

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO invitations (email, org) VALUES ($1, $2)`, "bob@example.com", "acme"); err != nil {
		log.Fatal(err)
	}
	err = n.Invite(notifypg.WithTx(ctx, tx), notify.Invitation{Organization: "Acme", AcceptURL: "https://app.example.com/accept?i=..."}, "bob@example.com")
	if err != nil {
		log.Fatal(err) // the invitation rolls back with its email
	}
	if err := tx.Commit(); err != nil {
		log.Fatal(err) // neither is kept: the email is never sent
	}
}

// An admin page lists dead letters and requeues one; a daily job purges
// old rows.
func ExampleOutbox_DeadLetters() {
	ctx := context.Background()
	db, err := sql.Open("pgx", os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	outbox, err := notifypg.New(notifypg.Config{DB: db})
	if err != nil {
		log.Fatal(err)
	}
	dead, err := outbox.DeadLetters(ctx, 50)
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range dead {
		fmt.Printf("%s to %s, %d attempts: %s\n", d.Message.Kind(), d.Message.To(), d.Message.Attempts, d.Reason)
	}
	if len(dead) > 0 {
		if err := outbox.Requeue(ctx, dead[0].Message.Key()); err != nil {
			log.Fatal(err)
		}
	}
	deleted, err := outbox.Purge(ctx, 30*24*time.Hour)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("purged", deleted)
}

// Hosts that run a migration tool take the SQL instead of CreateSchema.
func ExampleSchema() {
	ddl, err := notifypg.Schema("mail.outbox")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(ddl)
	// Output:
	// CREATE TABLE IF NOT EXISTS "mail"."outbox" (
	// 	key        text PRIMARY KEY,  -- notify.Message.Key(), the idempotency key
	// 	message    json NOT NULL,     -- the notify.Message, without Attempts and Lease
	// 	state      text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
	// 	attempts   integer NOT NULL DEFAULT 0, -- claims so far
	// 	due_at     timestamptz NOT NULL, -- pending: when it may be claimed (retry time, or lease expiry)
	// 	lease      uuid,                 -- the latest claim's token; NULL when not leased
	// 	last_error text,                 -- the latest failure's reason
	// 	created_at timestamptz NOT NULL,
	// 	done_at    timestamptz,          -- when it became delivered or dead
	// 	-- The provider's latest report (RecordStatus): a notify.DeliveryState
	// 	-- (NULL until the first report), the provider's message ID (Twilio's
	// 	-- SM...), its error code (30003), what happened in plain words, and when.
	// 	delivery_state       text,
	// 	delivery_provider_id text,
	// 	delivery_error_code  text,
	// 	delivery_reason      text,
	// 	delivery_at          timestamptz
	// );
	//
	// CREATE INDEX IF NOT EXISTS "outbox_due" ON "mail"."outbox" (due_at) WHERE state = 'pending';
	//
	// CREATE INDEX IF NOT EXISTS "outbox_dead" ON "mail"."outbox" (done_at) WHERE state = 'dead';
	//
	// CREATE INDEX IF NOT EXISTS "outbox_lost" ON "mail"."outbox" (delivery_at) WHERE delivery_state IN ('undelivered', 'failed');
}

// Every instance counts its SMS sends in one shared table, so the send
// limits hold for the host as a whole. It needs a server, so it is
// compiled but not run.
func ExampleNewRateCounter() {
	ctx := context.Background()
	db, err := sql.Open("pgx", os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	counter, err := notifypg.NewRateCounter(notifypg.RateCounterConfig{DB: db})
	if err != nil {
		log.Fatal(err)
	}
	if err := counter.CreateSchema(ctx); err != nil { // idempotent; or use RateCounterSchema in a migration
		log.Fatal(err)
	}
	limiter, err := notify.NewLimiter(notify.LimiterConfig{
		Counter:          counter,              // shared by every instance
		AllowedCountries: []string{"GB", "IE"}, // where your users are
	})
	if err != nil {
		log.Fatal(err)
	}
	var sender notify.SMSSender // twilio.New(...) in a real host
	n, err := notify.New(notify.Config{SMSSender: sender, SiteName: "Acme", Limiter: limiter})
	if err != nil {
		log.Fatal(err)
	}
	err = n.SendTwoFactorCode(ctx, notify.TwoFactorCode{Code: "493817"}, "+442079460000")
	var refused *notify.LimitError
	switch {
	case errors.As(err, &refused):
		fmt.Println(refused.UserMessage()) // Too many codes to this number; try again in 12 minutes.
	case err != nil:
		log.Fatal(err) // the database down refuses too: nothing is sent uncounted
	}
}

// Hosts that run a migration tool take the counter's SQL too.
func ExampleRateCounterSchema() {
	ddl, err := notifypg.RateCounterSchema("")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(ddl)
	// Output:
	// CREATE TABLE IF NOT EXISTS "notify_rate" (
	// 	key          text NOT NULL,        -- what is counted: notify:number:+14155550100, notify:country:US
	// 	window_start timestamptz NOT NULL, -- the fixed window's start
	// 	window_end   timestamptz NOT NULL, -- its end, for the purge
	// 	count        integer NOT NULL,     -- sends counted in the window
	// 	PRIMARY KEY (key, window_start)
	// );
	//
	// CREATE INDEX IF NOT EXISTS "notify_rate_end" ON "notify_rate" (window_end);
}

// Twilio's status callbacks are recorded in the outbox, and an admin page
// lists the codes that never arrived. It needs a server, so it is
// compiled but not run.
func ExampleOutbox_Undelivered() {
	ctx := context.Background()
	db, err := sql.Open("pgx", os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	outbox, err := notifypg.New(notifypg.Config{DB: db})
	if err != nil {
		log.Fatal(err)
	}
	var settings twilio.Settings // the admin's Twilio settings
	h, err := twilio.NewStatusHandler(twilio.StatusHandlerConfig{
		URL:       "https://app.example.com/twilio/status", // = twilio.Config.StatusCallback
		AuthToken: settings.AuthToken,
		OnStatus:  twilio.RecordStatus(outbox), // RecordStatus keeps the latest report
	})
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("POST /twilio/status", h)

	lost, err := outbox.Undelivered(ctx, 50)
	if err != nil {
		log.Fatal(err)
	}
	for _, u := range lost {
		fmt.Printf("%s to %s at %s: %s (Twilio %s, %s)\n", u.Kind, u.To, u.Status.At.Format(time.RFC3339), u.Status.Reason, u.Status.ErrorCode, u.Status.ProviderID)
	}
}
