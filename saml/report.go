package saml

// Report is the debug report of one verification: every check that ran, in
// order, with its outcome, and the decoded XML. It is what the admin's
// "Enable SAML debugging" switch shows. It never holds key material: the
// XML is the message as the IdP sent it, whose certificates are public.
type Report struct {
	// Checks are the checks in the order they ran. Verification stops at
	// the first failure, so only the last check can have OK false.
	Checks []Check `json:"checks"`
	// XML is the decoded response, as received (empty when it could not
	// be decoded).
	XML string `json:"xml,omitempty"`
	// DecryptedXML is the decrypted assertion, when the assertion came
	// encrypted and could be decrypted. Show it to admins only: whoever
	// posted a captured response could otherwise read what it hides.
	DecryptedXML string `json:"decryptedXML,omitempty"`

	// decrypted is set once something was decrypted: every later check
	// may quote what the encryption hid.
	decrypted bool
}

// Check is one step of a verification.
type Check struct {
	// Name is a short stable name, such as "audience" or "signature".
	Name string `json:"check"`
	// OK is true when the check passed.
	OK bool `json:"ok"`
	// Detail says what was compared or found.
	Detail string `json:"detail"`
	// FromDecrypted is true when Detail may quote decrypted data (an
	// EncryptedAssertion, EncryptedID or EncryptedAttribute), which was
	// not in the message as posted. A page that whoever posted the
	// message can see must not show such a Detail; the host's log and
	// admin views may.
	FromDecrypted bool `json:"-"`
}

// Failed returns the failed check, or nil when every check passed.
func (r *Report) Failed() *Check {
	if r == nil {
		return nil
	}
	for i := range r.Checks {
		if !r.Checks[i].OK {
			return &r.Checks[i]
		}
	}
	return nil
}

func (r *Report) pass(name, detail string) {
	if r != nil {
		r.Checks = append(r.Checks, Check{Name: name, OK: true, Detail: detail, FromDecrypted: r.decrypted})
	}
}

func (r *Report) fail(name string, err *Error) {
	if r != nil {
		r.Checks = append(r.Checks, Check{Name: name, OK: false, Detail: err.Message, FromDecrypted: r.decrypted})
	}
}
