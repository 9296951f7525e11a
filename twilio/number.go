package twilio

import (
	"errors"
	"fmt"
)

// ValidateE164 checks that number is a phone number in E.164 form, as
// Twilio wants it: "+", then 2 to 15 digits, the first not 0, and nothing
// else (no spaces, dashes or brackets). The error says what to fix.
func ValidateE164(number string) error {
	if number == "" {
		return errors.New("is required: a number in E.164 form, such as +14155550100")
	}
	if number[0] != '+' {
		return fmt.Errorf("must start with \"+\" and the country code, such as +14155550100, got %s", quoteInput(number))
	}
	digits := number[1:]
	for i := 0; i < len(digits); i++ {
		if c := digits[i]; c < '0' || c > '9' {
			return fmt.Errorf("must hold only digits after \"+\" (no spaces, dashes or brackets), got %s", quoteInput(number))
		}
	}
	switch {
	case len(digits) < 2 || len(digits) > 15:
		return fmt.Errorf("must have 2 to 15 digits after \"+\", got %d in %s", len(digits), quoteInput(number))
	case digits[0] == '0':
		return fmt.Errorf("must not start with \"+0\": the country code comes first, got %s", quoteInput(number))
	}
	return nil
}
