package samlpg_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"

	_ "github.com/jackc/pgx/v5/stdlib" // the host's driver; samlpg imports none

	"github.com/siteadmin/integrations/saml"
	"github.com/siteadmin/integrations/saml/samlpg"
)

// Every instance of the host opens its database as usual, creates the
// table at start-up (idempotent, safe from several instances at once) and
// gives the cache to its service provider. It needs a server, so it is
// compiled but not run.
func ExampleNew() {
	ctx := context.Background()
	db, err := sql.Open("pgx", os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	cache, err := samlpg.New(samlpg.Config{DB: db, Table: "auth.saml_replay_cache"})
	if err != nil {
		log.Fatal(err)
	}
	if err := cache.CreateSchema(ctx); err != nil {
		log.Fatal(err)
	}
	sp, err := saml.NewServiceProvider(saml.Config{
		EntityID:    "https://app.example.com/saml/metadata",
		ACSURL:      "https://app.example.com/saml/acs",
		ReplayCache: cache, // an assertion accepted here is refused by every other instance
		// IdP: from saml.ParseIdPMetadata
	})
	if err != nil {
		log.Fatal(err)
	}
	_ = sp
}

// Hosts that run a migration tool take the SQL instead of CreateSchema.
func ExampleSchema() {
	ddl, err := samlpg.Schema("auth.saml_replay_cache")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(ddl)
	// Output:
	// CREATE TABLE IF NOT EXISTS "auth"."saml_replay_cache" (
	// 	id         text PRIMARY KEY,     -- the assertion ID, as the IdP sent it
	// 	expires_at timestamptz NOT NULL  -- when it may be forgotten
	// );
	//
	// CREATE INDEX IF NOT EXISTS "saml_replay_cache_expires_at" ON "auth"."saml_replay_cache" (expires_at);
}
