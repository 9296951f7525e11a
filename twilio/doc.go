// Package twilio sends the host's SMS through Twilio's Messages API with
// the admin's Twilio settings. A *Client is a notify.SMSSender:
//
//	client, err := twilio.New(settings, twilio.Config{Logger: logger})
//	if err != nil {
//		return err // every settings problem at once, as *twilio.FieldError
//	}
//	err = client.SendSMS(ctx, notify.SMS{To: "+14155550100", Body: "Your code is 123456"})
//
// Settings mirrors the admin page (Account SID, Auth Token or API key,
// From Number or Messaging Service) and stores as JSON; its secrets never
// print. SendTest is the page's "Send Test SMS" button.
//
// Each message is one POST to
// {base}/2010-04-01/Accounts/{AccountSid}/Messages.json with To, Body, and
// From or MessagingServiceSid, authenticated with HTTP Basic auth. A 201 is
// a Receipt (SID, status, segments). Other answers are an *Error with
// Twilio's code, message and link, plus a hint for the admin; errors.Is
// matches ErrAuth, ErrInvalidTo, ErrUnverified, ErrOptedOut,
// ErrRateLimited or ErrServer. No answer at all is a *NetworkError.
//
// Retries: a rate limit (HTTP 429 or Twilio's 20429), a connection that
// could not be made, a 5xx answer, a timeout and a connection lost
// mid-request are retried with exponential backoff and jitter, honouring
// Retry-After, at most Config.MaxAttempts requests in all (4), each wait
// at most Config.MaxBackoff (30s), never past the context's deadline.
// The same holds for SendSMS, for SendTest (the admin page's button) and
// under a notify.Notifier or Deliverer, which also retry later what is
// still Temporary() after the last attempt, and whose
// errors carry Retry-After to them (notify.RetryAfter).
//
// Delivery is thus at least once, as with smtpx. Where a resend can reach
// the recipient twice: after a 5xx, a timeout or a lost connection,
// Twilio may already have accepted the message, and its Messages API has
// no idempotency key, so the retry is a second SMS. (A rate limit and a
// refused connection are safe: nothing was sent.) A host that would
// rather lose such a message than send it twice sets Config.AtMostOnce.
//
// # Delivery status
//
// Twilio accepting a message is not the handset receiving it. Set
// Config.StatusCallback to a public URL of the host, and Twilio posts the
// message's status there as it changes (sent, then delivered,
// undelivered or failed, with an error code such as 30003 for a phone
// that is off). The Client adds the message's idempotency key to that URL
// (CallbackKeyParam), so each callback names the outbox message it is
// about. A StatusHandler, mounted at that URL, verifies each callback
// exactly as Twilio signs it (HMAC-SHA1 with the auth token over the
// public URL and the sorted POST parameters; HMAC-SHA256 or HMAC-SHA1
// with a shared key when a Webhooks Rule names one; a bodySHA256 query
// parameter for a JSON body), accepts the previous auth token until a
// given time during a rotation, refuses everything else with 403, and
// hands the host a Status with a plain-words Meaning:
//
//	h, err := twilio.NewStatusHandler(twilio.StatusHandlerConfig{
//		URL:       "https://app.example.com/twilio/status", // = Config.StatusCallback
//		AuthToken: settings.AuthToken,
//		OnStatus:  twilio.RecordStatus(outbox), // a notify.StatusRecorder
//	})
//	mux.Handle("POST /twilio/status", h)
//
// CountSegments tells how many SMS a body costs; ValidateMessage and
// ValidateE164 check a message before it goes out. For tests, package
// twiliotest runs a fake of the Messages API on loopback.
package twilio
