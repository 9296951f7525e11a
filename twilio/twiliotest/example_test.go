package twiliotest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/twilio"
	"github.com/siteadmin/integrations/twilio/twiliotest"
)

func ExampleNewServer() {
	srv := twiliotest.NewServer()
	defer srv.Close()

	client, _ := twilio.New(srv.Settings(), twilio.Config{})
	err := client.SendSMS(context.Background(), notify.SMS{To: "+14155550100", Body: "Your code is 123456"})

	m := srv.Messages()[0]
	fmt.Println(err, m.SID, m.To, m.From, m.Body)
	// Output: <nil> SM00000000000000000000000000000001 +14155550100 +15005550006 Your code is 123456
}

// Three rate limits, then success: the client retries and sends once.
func ExampleServer_TooManyRequests() {
	srv := twiliotest.NewServer()
	defer srv.Close()
	srv.TooManyRequests(3, 0)

	client, _ := twilio.New(srv.Settings(), twilio.Config{MinBackoff: time.Millisecond})
	rec, err := client.Send(context.Background(), notify.SMS{To: "+14155550100", Body: "hi"})
	fmt.Println(err, rec.Attempts, srv.Requests(), len(srv.Messages()))
	// Output: <nil> 4 4 1
}

// Magic numbers produce Twilio's errors.
func Example_magicNumbers() {
	srv := twiliotest.NewServer()
	defer srv.Close()
	client, _ := twilio.New(srv.Settings(), twilio.Config{})
	for _, to := range []string{twiliotest.ToInvalid, twiliotest.ToUnverified, twiliotest.ToOptedOut} {
		err := client.SendSMS(context.Background(), notify.SMS{To: to, Body: "hi"})
		fmt.Println(err.(*twilio.Error).Code)
	}
	// Output:
	// 21211
	// 21608
	// 21610
}

// Status callbacks: the fake posts them, signed, to the StatusCallback
// URL, so a host can test its handler end to end.
func ExampleServer_SetOutcome() {
	srv := twiliotest.NewServer()
	defer srv.Close()
	srv.SetOutcome("+14155550100", twiliotest.Undelivered(twilio.CodeUnreachable))

	mux := http.NewServeMux()
	app := httptest.NewServer(mux)
	defer app.Close()
	h, _ := twilio.NewStatusHandler(twilio.StatusHandlerConfig{
		URL:       app.URL + "/twilio/status",
		AuthToken: twiliotest.AuthToken,
		OnStatus: func(_ context.Context, st twilio.Status) error {
			fmt.Println(st.Key, st.Status, st.ErrorCode)
			return nil
		},
	})
	mux.Handle("POST /twilio/status", h)

	client, _ := twilio.New(srv.Settings(), twilio.Config{StatusCallback: app.URL + "/twilio/status"})
	_ = client.SendSMS(context.Background(), notify.SMS{To: "+14155550100", Body: "Your code is 123456", Key: "k1"})
	_ = srv.Flush(context.Background())
	// Output:
	// k1 sent 0
	// k1 undelivered 30003
}
