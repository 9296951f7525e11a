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
// Retries: a rate limit (HTTP 429 or Twilio's 20429) is retried with
// exponential backoff and jitter, honouring Retry-After, at most
// Config.MaxAttempts times and never past the context. A 5xx or a timeout
// is not retried, since Twilio may have sent the message already; set
// Config.RetryAmbiguous to retry them anyway. Temporary() on the errors
// tells the notify package what it may retry later.
//
// CountSegments tells how many SMS a body costs; ValidateMessage and
// ValidateE164 check a message before it goes out. For tests, package
// twiliotest runs a fake of the Messages API on loopback.
package twilio
