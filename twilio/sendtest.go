package twilio

import (
	"context"
	"errors"

	"github.com/siteadmin/integrations/notify"
)

// TestBody is the text SendTest sends: GSM-7, one segment.
const TestBody = "Test SMS from your site: the Twilio settings work."

// SendTest is the admin page's "Send Test SMS" button: it checks the
// settings and the number together (every problem at once, as
// *FieldError), then sends TestBody to to with a default Config, whether or
// not the settings are enabled yet. It returns Twilio's receipt, or an
// error whose text carries Twilio's code and what the admin should fix
// (for 21211 an invalid number, 21608 an unverified number on a trial
// account, 21610 a recipient who opted out, 20003 wrong credentials).
// Use Client.SendTest for a custom Config.
func SendTest(ctx context.Context, s Settings, to string) (Receipt, error) {
	if err := validateTest(s, to); err != nil {
		return Receipt{}, err
	}
	c, err := New(s, Config{})
	if err != nil {
		return Receipt{}, err
	}
	return c.SendTest(ctx, to)
}

// SendTest sends TestBody to to with the client's settings and config,
// whether or not the settings are enabled. See the SendTest function.
func (c *Client) SendTest(ctx context.Context, to string) (Receipt, error) {
	if err := validateTest(c.settings, to); err != nil {
		return Receipt{}, err
	}
	return c.send(ctx, notify.SMS{Kind: notify.KindTestSMS, To: to, Body: TestBody})
}

func validateTest(s Settings, to string) error {
	errs := []error{s.Validate()}
	if err := ValidateE164(to); err != nil {
		errs = append(errs, &FieldError{Field: "to", Problem: err.Error()})
	}
	return errors.Join(errs...)
}
