package saml

import "fmt"

// Code names the rule family a rejected response broke. Codes are stable:
// hosts may switch on them and examples/samlcheck prints them.
type Code string

// The codes Verify returns, one per rule family.
const (
	CodeMalformed           Code = "malformed"            // not base64, not well-formed XML, too large, DOCTYPE, bad names
	CodeStatus              Code = "status"               // the IdP reported a failure, or the Status is not exactly Success
	CodeSignature           Code = "signature"            // unsigned, or a signature that does not verify with a trusted certificate
	CodeAlgorithm           Code = "algorithm"            // a signature, digest or canonicalization algorithm outside the allowlist
	CodeStructure           Code = "structure"            // wrapping, several assertions, duplicate IDs, misplaced signatures, missing parts
	CodeIssuer              Code = "issuer"               // a Response or Assertion Issuer that is not the IdP
	CodeDestination         Code = "destination"          // a Destination that is not our ACS URL
	CodeRecipient           Code = "recipient"            // no bearer confirmation addressed to our ACS URL
	CodeAudience            Code = "audience"             // the assertion is meant for another service provider
	CodeExpired             Code = "expired"              // a NotOnOrAfter (or expired IdP metadata) is in the past
	CodeNotYetValid         Code = "not_yet_valid"        // a NotBefore or IssueInstant is in the future
	CodeInResponseTo        Code = "in_response_to"       // not an answer to a request this browser made
	CodeSubjectConfirmation Code = "subject_confirmation" // the bearer SubjectConfirmation is missing a required part
	CodeReplay              Code = "replay"               // the assertion was already used
	CodeDecryption          Code = "decryption"           // an encrypted assertion could not be decrypted
)

// Error is the error Verify returns when it rejects a response. Code is
// stable; Message says, for an admin, what was expected and what came.
// Sentinels such as ErrAudience match any Error of their code with
// errors.Is.
type Error struct {
	Code    Code
	Message string
	// Report is the debug report of the rejected verification, set only
	// when Config.Debug is on.
	Report *Report
	cause  error
}

// Error returns "saml: <code>: <message>".
func (e *Error) Error() string {
	if e.Message == "" {
		return "saml: " + string(e.Code)
	}
	return "saml: " + string(e.Code) + ": " + e.Message
}

// Is reports whether target is the sentinel of e's code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Code == e.Code
}

// Unwrap returns the underlying cause, such as a crypto or XML error.
func (e *Error) Unwrap() error { return e.cause }

// Sentinels for errors.Is, one per Code.
var (
	ErrMalformed           = &Error{Code: CodeMalformed}
	ErrStatus              = &Error{Code: CodeStatus}
	ErrSignature           = &Error{Code: CodeSignature}
	ErrAlgorithm           = &Error{Code: CodeAlgorithm}
	ErrStructure           = &Error{Code: CodeStructure}
	ErrIssuer              = &Error{Code: CodeIssuer}
	ErrDestination         = &Error{Code: CodeDestination}
	ErrRecipient           = &Error{Code: CodeRecipient}
	ErrAudience            = &Error{Code: CodeAudience}
	ErrExpired             = &Error{Code: CodeExpired}
	ErrNotYetValid         = &Error{Code: CodeNotYetValid}
	ErrInResponseTo        = &Error{Code: CodeInResponseTo}
	ErrSubjectConfirmation = &Error{Code: CodeSubjectConfirmation}
	ErrReplay              = &Error{Code: CodeReplay}
	ErrDecryption          = &Error{Code: CodeDecryption}
)

func newError(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func wrapError(code Code, cause error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), cause: cause}
}
