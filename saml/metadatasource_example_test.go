package saml_test

import (
	"context"
	"fmt"
	"time"

	"github.com/siteadmin/integrations/saml"
	"github.com/siteadmin/integrations/saml/samltest"
)

// A host that knows the IdP's metadata URL lets a MetadataSource keep the
// IdP current: the service provider trusts whatever certificates the last
// good metadata lists. Here a samltest MetadataServer stands in for Entra
// ID and rotates its signing key.
func ExampleMetadataSource() {
	idp, err := samltest.New()
	if err != nil {
		panic(err)
	}
	server := samltest.NewMetadataServer(idp.Metadata())
	defer server.Close()

	var stored []byte // the host keeps this in its settings table
	src, err := saml.NewMetadataSource(saml.MetadataSourceConfig{
		URL:         server.MetadataURL(),
		HTTPClient:  server.Client(), // trusts the test server's certificate
		BackingCopy: stored,
		SaveBackingCopy: func(ctx context.Context, md []byte) error {
			stored = md
			return nil
		},
	})
	if err != nil {
		panic(err)
	}
	if err := src.Refresh(context.Background()); err != nil {
		panic(err) // with a backing copy, the service provider could start anyway
	}
	sp, err := saml.NewServiceProvider(saml.Config{
		EntityID:       "https://app.example.com/saml/metadata",
		ACSURL:         "https://app.example.com/saml/acs",
		MetadataSource: src,
	})
	if err != nil {
		panic(err)
	}
	// In the host: go src.Run(ctx), and src.Refresh(ctx) for "Refresh now".

	next, err := idp.Rotate()
	if err != nil {
		panic(err)
	}
	server.SetMetadata(idp.Publishing(next.Certificate).Metadata())
	if err := src.Refresh(context.Background()); err != nil {
		panic(err)
	}
	fmt.Println("certificates trusted:", len(sp.IdentityProvider().Certificates))
	fmt.Println("backing copy stored:", len(stored) > 0)
	// Output:
	// certificates trusted: 2
	// backing copy stored: true
}

// An Alerter tells the site admins ahead of time; Check runs hourly (or
// from MetadataSourceConfig.OnRefresh), and notifies each stage once.
func ExampleAlerter() {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	idp, err := samltest.New(samltest.WithCertificateValidity(now.AddDate(-3, 0, 0), now.AddDate(0, 0, 7)))
	if err != nil {
		panic(err)
	}
	sp, err := saml.NewServiceProvider(saml.Config{
		EntityID: "https://app.example.com/saml/metadata",
		ACSURL:   "https://app.example.com/saml/acs",
		IdP:      idp.IdentityProvider(),
	})
	if err != nil {
		panic(err)
	}
	alerter, err := saml.NewAlerter(saml.AlerterConfig{
		Clock: func() time.Time { return now },
		Notify: func(ctx context.Context, a saml.Alert) {
			// In the host: email the site admins a notify.ExpiryWarning
			// {Component: "SAML single sign-on", Item: a.Subject,
			// ExpiresAt: a.ExpiresAt, DaysLeft: a.DaysLeft(now), Action: a.Action}.
			fmt.Println(a.Kind, a.DaysLeft(now), "days left")
		},
	})
	if err != nil {
		panic(err)
	}
	alerter.Check(context.Background(), sp, nil)
	alerter.Check(context.Background(), sp, nil) // the same stage: not again
	// Output:
	// idp_certificate 7 days left
}
