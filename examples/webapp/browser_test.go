package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/notify/notifytest"
	"github.com/siteadmin/integrations/twilio"
	"github.com/siteadmin/integrations/twilio/twiliotest"
)

// TestBrowser drives the app in a headless Chromium (Debian's chromium
// package) over the DevTools protocol, the way a person uses it: logins
// started at the app and at the IdP, the Diff page, logout both ways, each
// admin page with its test box (Enter included; a test SMS's delivery
// status seen to arrive, and the send limit met), a non-admin refused, and
// a failed login with SAML debugging on. Without Chromium it skips; with
// CI=true it fails instead.
func TestBrowser(t *testing.T) {
	start := time.Now()
	browser := startChromium(t)
	// The send limits' clock stands still, 40 minutes before the end of
	// their window.
	a, base := startAppWith(t, appConfig{Now: notifytest.NewClock(time.Date(2030, 1, 2, 10, 20, 0, 0, time.UTC)).Now})
	t.Logf("chromium ready in %v", time.Since(start).Round(time.Millisecond))
	defer func() { t.Logf("browser test took %v", time.Since(start).Round(time.Millisecond)) }()
	defer func() {
		if t.Failed() {
			t.Logf("chromium's stderr:\n%s", browser.log())
		}
	}()

	t.Run("SP-initiated login, the Diff, logout here and at the IdP", func(t *testing.T) {
		tb := browser.newTab(t, base)
		tb.open("/")
		assert.Equal(t, "Not logged in.", tb.text("#who"))
		tb.click("#login")
		tb.loaded("/idp/sso")
		assert.Contains(t, tb.text("body"), "signed with")
		tb.choose(`select[name="user"]`, "alice@example.com")
		tb.click(`input[value="acme-developers"]`)
		tb.click(`input[value="globex-ops"]`)
		tb.typeInto(`input[name="username"]`, "alice")
		tb.click("#idp-submit")
		tb.loaded("/diff") // the IdP's page posted the Response to the ACS, which redirected
		diff := tb.text("#diff")
		assert.Contains(t, diff, "developers")
		assert.Contains(t, diff, "ops")
		assert.Contains(t, diff, "legacy")
		u, ok := a.userByEmail(t.Context(), "alice@example.com")
		require.True(t, ok)
		assert.Equal(t, "alice", u.Username)

		tb.open("/")
		assert.Contains(t, tb.text("#who"), "Logged in as alice@example.com (SP-initiated login")
		tb.click("#logout") // to the IdP with a LogoutRequest, and back with its answer
		tb.waitFor("the logout", `location.pathname === "/" && document.querySelector("#who") && document.querySelector("#who").innerText === "Not logged in."`)
	})

	t.Run("IdP-initiated login and logout", func(t *testing.T) {
		tb := browser.newTab(t, base)
		tb.open("/")
		tb.click("#idp-login")
		tb.loaded("/idp/sso")
		assert.Contains(t, tb.text("body"), "No AuthnRequest")
		tb.choose(`select[name="user"]`, "bob@example.com")
		tb.click(`input[value="acme-owners"]`)
		tb.click("#idp-submit")
		tb.loaded("/diff") // the RelayState
		assert.Contains(t, tb.text("#diff"), "owners")
		tb.open("/")
		assert.Contains(t, tb.text("#who"), "bob@example.com (IdP-initiated login")
		tb.click("#idp-logout")
		tb.loaded("/idp/slo")
		assert.Contains(t, tb.text("#message"), "The service provider ended the session")
		tb.open("/")
		assert.Equal(t, "Not logged in.", tb.text("#who"))
	})

	t.Run("a SAML user without site admin is refused", func(t *testing.T) {
		tb := browser.newTab(t, base)
		tb.navigate("/saml/login?return_to=/admin/smtp")
		tb.loaded("/idp/sso")
		tb.choose(`select[name="user"]`, "carol@example.com")
		tb.click("#idp-submit")
		tb.loaded("/admin/smtp")
		assert.Equal(t, "Site admins only", tb.text("h1"))
		assert.False(t, tb.has(`input[name="password"]`))
	})

	t.Run("admin pages and their test boxes", func(t *testing.T) {
		tb := browser.newTab(t, base)
		tb.navigate("/admin/twilio")
		tb.loaded("/login")
		tb.typeInto("#f-password", testPassword)
		tb.pressEnter()
		tb.loaded("/admin/twilio")

		// Enter in "Send Test SMS to" runs the test, not Save. Twilio's
		// status callbacks are held back until the page shows Twilio's
		// answer, so that the page is seen to follow them.
		gate := make(chan struct{})
		a.twilioServer.SetCallbackClient(&http.Client{Transport: gatedTransport{gate}})
		tb.typeInto(`input[name="test-to"]`, "+14155550123")
		tb.pressEnter()
		tb.waitFor("the SMS test", `document.querySelector("#test-result")`)
		assert.Contains(t, tb.text("#test-result"), "Sent to +14155550123: SM")
		assert.False(t, tb.has("#saved"))
		assert.Contains(t, tb.text("#sms"), "+14155550123")
		require.Len(t, a.twilioServer.Messages(), 1)
		assert.True(t, strings.HasPrefix(tb.text("#delivery-state"), "queued: "), tb.text("#delivery-state"))
		assert.True(t, tb.has("#delivery[data-poll]"))
		close(gate)
		tb.waitFor("the delivered status", `document.querySelector("#delivery-state").innerText.startsWith("delivered: ")`)
		assert.Contains(t, tb.text("#delivery-state"), "the carrier reports the message delivered to the handset")
		steps := tb.text("#delivery-steps")
		assert.Regexp(t, `(?s)^10:20:00 UTC: queued: .*\n10:20:00 UTC: sent: .*\n10:20:00 UTC: delivered: `, steps)
		assert.True(t, tb.has("#delivery-waiting[hidden]"))
		assert.Equal(t, "delivered", tb.text("#recent-sms tr.ok .state"), "the list follows too")
		a.twilioServer.SetCallbackClient(nil)

		// An SMS the carrier could not deliver says why, in plain words.
		a.twilioServer.SetOutcome("+14155550124", twiliotest.Undelivered(twilio.CodeUnreachable))
		tb.typeInto(`input[name="test-to"]`, "+14155550124")
		tb.click("#send-test-sms")
		tb.waitFor("the undelivered status", `document.querySelector("#delivery-state") && document.querySelector("#delivery-state").innerText.startsWith("undelivered (error 30003): ")`)
		assert.Contains(t, tb.text("#delivery-state"), "the phone could not be reached")
		assert.Contains(t, tb.text("#delivery"), "Delivery of the test SMS to +14155550124")
		assert.Contains(t, tb.text("#recent-sms tr.err"), "30003")

		// A burst to one number meets the send limit's sentence.
		sendAgain := func() {
			_, err := tb.eval(`document.body.dataset.stale = "yes"`) // until the next page replaces it
			require.NoError(t, err)
			tb.click("#send-test-sms")
			tb.waitFor("the test's result", `document.readyState === "complete" && !document.body.dataset.stale && document.querySelector("#test-result")`)
		}
		for range 4 {
			sendAgain()
			assert.Contains(t, tb.text("#test-result"), "Sent to +14155550124")
		}
		sendAgain()
		assert.Equal(t, "Too many text messages to this number; try again in 40 minutes.", tb.text("#limit-message"))
		require.Len(t, a.twilioServer.Messages(), 6)

		// A new auth token, tested (and refused by the fake), stays in its
		// field; Save then keeps it.
		tb.typeInto(`input[name="auth-token"]`, "0123456789abcdef0123456789abcdef")
		tb.typeInto(`input[name="test-to"]`, "+14155550125") // a number under its limit
		sendAgain()
		tb.waitFor("the failed SMS test", `document.querySelector("#test-result.err")`)
		assert.Equal(t, 1, strings.Count(tb.text("body"), "error 20003"))
		assert.Contains(t, tb.text("#unsaved"), "keeps the auth token you typed")
		tb.click("#save")
		tb.waitFor("the save", `document.querySelector("#saved")`)
		a.mu.RLock()
		assert.Equal(t, "0123456789abcdef0123456789abcdef", a.twilio.AuthToken.Reveal())
		a.mu.RUnlock()

		// Enter in "Send test email to" runs the test too.
		tb.open("/admin/smtp")
		tb.typeInto(`input[name="test-to"]`, "admin@example.com")
		tb.pressEnter()
		tb.waitFor("the email test", `document.querySelector("#test-result")`)
		assert.Contains(t, tb.text("#test-result"), "Accepted: 250")
		assert.Contains(t, tb.text("#mail"), "admin@example.com")
		assert.False(t, tb.has("#saved"))
		// A problem is named by its label and its field marked.
		tb.typeInto(`input[name="port"]`, "0")
		tb.click("#save")
		tb.waitFor("the errors", `document.querySelector("#errors")`)
		assert.Contains(t, tb.text("#errors"), "Port: must be between 1 and 65535")
		assert.True(t, tb.has(`#f-port[aria-invalid="true"]`))

		// The SAML page: what is in effect, and metadata that downloads
		// as XML.
		tb.open("/admin/saml")
		effect := tb.text("#in-effect")
		assert.Contains(t, effect, base+"/idp/metadata")
		assert.Contains(t, effect, "valid for")
		v, err := tb.eval(`fetch(document.querySelector('a[download="sp-metadata.xml"]').href).then(r => r.text())`)
		require.NoError(t, err)
		assert.Contains(t, string(v), "SPSSODescriptor")
	})

	t.Run("a failed login with SAML debugging on", func(t *testing.T) {
		tb := browser.newTab(t, base)
		// A site admin turns on SAML debugging.
		tb.open("/login")
		tb.typeInto("#f-password", testPassword)
		tb.click("#break-glass")
		tb.loaded("/")
		tb.open("/admin/saml")
		if !tb.has("#f-debug:checked") {
			tb.click("#f-debug")
		}
		tb.click("#save")
		tb.waitFor("the save", `document.querySelector("#saved")`)
		a.mu.RLock()
		assert.True(t, a.samlSet.Debug)
		a.mu.RUnlock()
		tb.open("/")
		tb.click("#logout")
		tb.waitFor("the logout", `document.querySelector("#who").innerText === "Not logged in."`)

		tb.click("#login")
		tb.loaded("/idp/sso")
		tb.choose(`select[name="break"]`, "audience")
		tb.click("#idp-submit")
		tb.loaded("/saml/acs")
		assert.Equal(t, "Login failed", tb.text("h1"))
		body := tb.text("body")
		assert.Contains(t, body, "Error code: audience")
		assert.Contains(t, body, "SAML debug report")
		assert.Contains(t, tb.text("pre"), "\n  <saml2:Issuer") // indented
		tb.open("/")
		assert.Equal(t, "Not logged in.", tb.text("#who"))
	})
}
