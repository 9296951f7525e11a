// Command quickstart runs the SDK's whole flow on its bundled fakes, with no
// setup and no network beyond loopback:
//
//  1. a test IdP (samltest) signs a login for alice with Username,
//     SiteAdmin, MemberOf and IsServiceAccount attributes;
//  2. the service provider (saml) verifies it;
//  3. team sync (mapping) plans and applies it to an in-memory directory
//     (mappingtest) with two organizations, and explains the Diff;
//  4. an invitation email goes through smtpx to an in-process SMTP server
//     (smtptest), and a two-factor code by SMS through twilio to a fake of
//     Twilio's API (twiliotest).
//
// It prints each step and exits 0.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/siteadmin/integrations/examples/internal/demo"
	"github.com/siteadmin/integrations/mapping"
	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/saml"
	"github.com/siteadmin/integrations/saml/samltest"
	"github.com/siteadmin/integrations/smtpx"
	"github.com/siteadmin/integrations/smtpx/smtptest"
	"github.com/siteadmin/integrations/twilio"
	"github.com/siteadmin/integrations/twilio/twiliotest"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// The service provider's own URLs.
const (
	spEntityID = "https://app.example.com/saml/metadata"
	acsURL     = "https://app.example.com/saml/acs"
)

func run(ctx context.Context, out io.Writer) error {
	step := func(n int, title string) { fmt.Fprintf(out, "\n== %d. %s\n", n, title) }

	step(1, "The IdP signs a login")
	idp, err := samltest.New(samltest.WithEntityID("https://idp.example.com/metadata"))
	if err != nil {
		return err
	}
	const requestID = "_quickstart-request-1" // from the AuthnRequest this browser sent
	resp, err := idp.Response(samltest.ResponseSpec{
		ACSURL:       acsURL,
		Audience:     spEntityID,
		InResponseTo: requestID,
		NameID:       "alice@example.com",
		Attributes: []samltest.Attribute{
			{Name: "Username", Values: []string{"alice"}},
			{Name: "SiteAdmin", Values: []string{"true"}},
			{Name: "MemberOf", Values: []string{"acme-developers", "globex-ops", "marketing"}},
			{Name: "IsServiceAccount", Values: []string{"false"}},
		},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "SAMLResponse of %d bytes, assertion %s, signed by %s\n", len(resp.XML), resp.AssertionID, idp.EntityID)

	step(2, "The service provider verifies it")
	metadata, err := saml.ParseIdPMetadata(idp.Metadata(), idp.EntityID)
	if err != nil {
		return err
	}
	sp, err := saml.NewServiceProvider(saml.Config{EntityID: spEntityID, ACSURL: acsURL, IdP: *metadata})
	if err != nil {
		return err
	}
	a, err := sp.Verify(ctx, resp.Base64(), requestID)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "verified: NameID %s, session %s\n", a.NameID.Value, a.SessionIndex)
	for _, name := range []string{"Username", "SiteAdmin", "MemberOf", "IsServiceAccount"} {
		fmt.Fprintf(out, "  %s = %s\n", name, strings.Join(a.Attributes[name], ", "))
	}
	if _, err := sp.Verify(ctx, resp.Base64(), requestID); err != nil {
		fmt.Fprintf(out, "the same response again: %v\n", err)
	}

	step(3, "Team sync plans and applies the login")
	store, err := demo.Directory()
	if err != nil {
		return err
	}
	cfg := mapping.Config{TeamSync: true}
	diff, err := cfg.Sync(ctx, store, mapping.Login{NameID: a.NameID.Value, Attributes: mapping.Attributes(a.Attributes)})
	if err != nil {
		return err
	}
	fmt.Fprintln(out, diff.String())
	again, err := cfg.Sync(ctx, store, mapping.Login{NameID: a.NameID.Value, Attributes: mapping.Attributes(a.Attributes)})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "logging in again changes nothing: %v\n", again.Empty())

	step(4, "Notifications go out by email and SMS")
	smtpServer := smtptest.NewServer(smtptest.Config{Username: "app", Password: "app-password"})
	defer smtpServer.Close()
	mailer, err := smtpx.NewMailer(smtpx.Config{
		Settings: smtpx.Settings{
			Enabled: true, Sender: "noreply@app.example.com",
			Host: smtpServer.Host(), Port: smtpServer.Port(),
			Authentication: smtpx.AuthPlain, Username: "app", Password: "app-password",
		},
		RootCAs: smtpServer.CertPool(),
	})
	if err != nil {
		return err
	}
	defer mailer.Close()
	twilioServer := twiliotest.NewServer()
	defer twilioServer.Close()
	settings := twilioServer.Settings()
	settings.Enabled = true
	texts, err := twilio.New(settings, twilio.Config{})
	if err != nil {
		return err
	}
	n, err := notify.New(notify.Config{Mailer: mailer, SMSSender: texts, SiteName: "Example App"})
	if err != nil {
		return err
	}
	err = n.Invite(ctx, notify.Invitation{
		Inviter: "Alice", Organization: "acme", Team: "developers",
		AcceptURL: "https://app.example.com/invitations/accept?token=quickstart",
		ExpiresAt: time.Now().Add(72 * time.Hour),
	}, "bob@example.com")
	if err != nil {
		return err
	}
	if err := n.SendTwoFactorCode(ctx, notify.TwoFactorCode{Code: "246810", ExpiresIn: 5 * time.Minute}, "+14155550100"); err != nil {
		return err
	}
	for _, m := range smtpServer.Messages() {
		fmt.Fprintf(out, "mail from %s to %s over %s, subject %q:\n%s\n",
			m.From, strings.Join(m.To, ", "), tls.VersionName(m.TLSVersion), m.Subject, indent(m.Text))
	}
	for _, m := range twilioServer.Messages() {
		fmt.Fprintf(out, "SMS %s from %s to %s (%d segment): %q\n", m.SID, m.From, m.To, m.Segments.Count, m.Body)
	}
	fmt.Fprintln(out, "\ndone")
	return nil
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n    ")
}
