package twilio_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/twilio"
	"github.com/siteadmin/integrations/twilio/twiliotest"
)

// A Client sends the host's SMS; here against twiliotest instead of
// api.twilio.com.
func ExampleNew() {
	srv := twiliotest.NewServer()
	defer srv.Close()

	settings := twilio.Settings{
		Enabled:    true,
		AccountSID: twiliotest.AccountSID,
		AuthToken:  twiliotest.AuthToken,
		FromNumber: twiliotest.FromNumber,
		BaseURL:    srv.URL, // leave empty for Twilio itself
	}
	client, err := twilio.New(settings, twilio.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	var sender notify.SMSSender = client
	err = sender.SendSMS(context.Background(), notify.SMS{
		Kind: notify.KindTwoFactorCode,
		To:   "+14155550100",
		Body: "Your code is 123456",
	})
	fmt.Println(err, len(srv.Messages()))
	// Output: <nil> 1
}

// Send returns Twilio's receipt; errors carry Twilio's code and a hint.
func ExampleClient_Send() {
	srv := twiliotest.NewServer()
	defer srv.Close()
	client, _ := twilio.New(srv.Settings(), twilio.Config{})

	rec, err := client.Send(context.Background(), notify.SMS{To: "+14155550100", Body: "Your code is 123456"})
	fmt.Println(rec.SID, rec.Status, rec.Segments, err)

	_, err = client.Send(context.Background(), notify.SMS{To: twiliotest.ToOptedOut, Body: "Your code is 123456"})
	var te *twilio.Error
	if errors.As(err, &te) {
		fmt.Println(te.Code, errors.Is(err, twilio.ErrOptedOut), notify.IsTemporary(err))
	}
	// Output:
	// SM00000000000000000000000000000001 queued 1 <nil>
	// 21610 true false
}

// SendTest backs the admin page's "Send Test SMS" button.
func ExampleSendTest() {
	srv := twiliotest.NewServer()
	defer srv.Close()
	settings := srv.Settings()

	rec, err := twilio.SendTest(context.Background(), settings, "+14155550100")
	fmt.Println(rec.SID, err)

	_, err = twilio.SendTest(context.Background(), settings, twiliotest.ToUnverified)
	fmt.Println(err)

	settings.AccountSID = "AC123"
	_, err = twilio.SendTest(context.Background(), settings, "415 555 0100")
	fmt.Println(err)
	// Output:
	// SM00000000000000000000000000000001 <nil>
	// twilio: HTTP 400 Bad Request, error 21608: The number +15005550010 is unverified. Trial accounts cannot send messages to unverified numbers; verify it at twilio.com/user/account/phone-numbers/verified, or purchase a Twilio number to send messages to unverified numbers. This is a trial account, which sends only to verified numbers: verify the recipient under Phone Numbers > Verified Caller IDs in the Twilio console, or upgrade the account (https://www.twilio.com/docs/errors/21608)
	// twilio: account-sid: must be "AC" followed by 32 hexadecimal digits, got "AC123"
	// twilio: to: must start with "+" and the country code, such as +14155550100, got "415 555 0100"
}

func ExampleSettings_Validate() {
	s := twilio.Settings{AccountSID: "AC123", FromNumber: "+0123"}
	fmt.Println(s.Validate())
	// Output:
	// twilio: account-sid: must be "AC" followed by 32 hexadecimal digits, got "AC123"
	// twilio: auth-token: is required (or an API key SID and secret): copy it from the Twilio console
	// twilio: from-number: must not start with "+0": the country code comes first, got "+0123"
}

func ExampleCountSegments() {
	fmt.Println(twilio.CountSegments("Your code is 123456"))
	fmt.Println(twilio.CountSegments("Votre code : 123456 – merci"))
	// Output:
	// {GSM-7 19 1}
	// {UCS-2 27 1}
}

// A StatusHandler verifies Twilio's status callbacks and hands the host
// each message's status. Mount it at the URL given as
// Config.StatusCallback; here a callback is signed as Twilio signs it.
func ExampleNewStatusHandler() {
	const public = "https://app.example.com/twilio/status"
	h, err := twilio.NewStatusHandler(twilio.StatusHandlerConfig{
		URL:       public,
		AuthToken: "the-account-auth-token",
		OnStatus: func(ctx context.Context, st twilio.Status) error {
			fmt.Println(st.Key, st.Status, st.ErrorCode, st.Meaning())
			return nil // or record it in the outbox
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	form := url.Values{
		"MessageSid":    {"SM0123456789abcdef0123456789abcdef"},
		"MessageStatus": {"undelivered"},
		"ErrorCode":     {"30006"},
	}
	callback := public + "?notify_key=two_factor_code.7f3a.1" // as the Client sent it
	sig, _ := twilio.Signature(twilio.HMACSHA1, "the-account-auth-token", callback, form)
	r := httptest.NewRequest(http.MethodPost, callback, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set(twilio.SignatureHeader, sig)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println(w.Code)

	r.Header.Set(twilio.SignatureHeader, "forged+signature+AAAAAAAAAA=")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println(w.Code)
	// Output:
	// two_factor_code.7f3a.1 undelivered 30006 the number is a landline or on a network this sender cannot reach; the user needs a mobile number
	// 204
	// 403
}
