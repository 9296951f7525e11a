package smtpx

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/siteadmin/integrations"
)

// Settings are the admin's SMTP page, stored by the host (JSON, with the
// password in it: keep that storage encrypted). Printing or logging a
// Settings value never shows the password.
type Settings struct {
	// Enabled is "Enable email sending". When false, Validate accepts
	// anything and a Mailer refuses to send with ErrDisabled.
	Enabled bool `json:"enabled"`
	// Sender is the envelope sender and From address: a bare address
	// such as "noreply@example.com", without display name or brackets.
	Sender string `json:"sender"`
	// Host is the SMTP server's name or IP address, without the port.
	Host string `json:"host"`
	// Port is the server's TCP port, 1 to 65535: usually 587 for
	// STARTTLS, 465 for implicit TLS.
	Port int `json:"port"`
	// Authentication is AuthNone (also the empty value), AuthPlain or
	// AuthLogin.
	Authentication Auth `json:"authentication"`
	// Username and Password are required unless Authentication is none.
	Username string              `json:"username,omitempty"`
	Password integrations.Secret `json:"password,omitempty"`
	// TLS is TLSStartTLS, TLSImplicit or TLSNone. Empty means TLSImplicit
	// on port 465 and TLSStartTLS on any other port; TLSNone must be set
	// explicitly.
	TLS TLSMode `json:"tls,omitempty"`
}

// Auth is an authentication mechanism.
type Auth string

// The authentication settings.
const (
	AuthNone  Auth = "none"  // no AUTH command; the empty value means the same
	AuthPlain Auth = "plain" // AUTH PLAIN (RFC 4616)
	AuthLogin Auth = "login" // AUTH LOGIN, for servers that offer no PLAIN
)

// TLSMode is how the connection is encrypted.
type TLSMode string

// The TLS settings.
const (
	// TLSStartTLS connects in plain text and upgrades with STARTTLS; the
	// connection fails if the server does not offer it.
	TLSStartTLS TLSMode = "starttls"
	// TLSImplicit speaks TLS from the first byte ("SMTPS", port 465).
	TLSImplicit TLSMode = "tls"
	// TLSNone never encrypts. AUTH over it needs Config.AllowInsecureAuth.
	TLSNone TLSMode = "none"
)

// FieldError is one problem with one settings field. Field is the
// field's JSON name ("sender", "port", ...).
type FieldError struct {
	Field   string
	Problem string
}

// Error returns "FIELD: PROBLEM".
func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

// Validate returns every problem with s at once, as an errors.Join of
// *FieldError, or nil. Settings with Enabled false are always valid.
func (s Settings) Validate() error {
	if !s.Enabled {
		return nil
	}
	var errs []error
	add := func(field, problem string) { errs = append(errs, &FieldError{Field: field, Problem: problem}) }

	if p := addressProblem(s.Sender); p != "" {
		add("sender", p)
	}
	if p := hostProblem(s.Host); p != "" {
		add("host", p)
	}
	if s.Port < 1 || s.Port > 65535 {
		add("port", "must be between 1 and 65535 (587 for STARTTLS, 465 for implicit TLS)")
	}
	switch s.Authentication {
	case "", AuthNone:
	case AuthPlain, AuthLogin:
		if s.Username == "" {
			add("username", "is required when authentication is "+string(s.Authentication))
		} else if strings.ContainsAny(s.Username, "\r\n\x00") {
			add("username", "must not contain line breaks or NUL characters")
		}
		if s.Password.IsZero() {
			add("password", "is required when authentication is "+string(s.Authentication))
		} else if strings.ContainsAny(s.Password.Reveal(), "\x00") {
			add("password", "must not contain NUL characters")
		}
	default:
		add("authentication", `must be "none", "plain" or "login"`)
	}
	switch s.TLS {
	case "", TLSStartTLS, TLSImplicit, TLSNone:
	default:
		add("tls", `must be "starttls", "tls" or "none"`)
	}
	return errors.Join(errs...)
}

// tlsMode returns the TLS mode with its default applied.
func (s Settings) tlsMode() TLSMode {
	if s.TLS != "" {
		return s.TLS
	}
	if s.Port == 465 {
		return TLSImplicit
	}
	return TLSStartTLS
}

// authMode returns the authentication with its default applied.
func (s Settings) authMode() Auth {
	if s.Authentication == "" {
		return AuthNone
	}
	return s.Authentication
}

// LogValue logs the settings with the password shown only as set or not.
func (s Settings) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Bool("enabled", s.Enabled),
		slog.String("sender", s.Sender),
		slog.String("host", s.Host),
		slog.Int("port", s.Port),
		slog.String("authentication", string(s.authMode())),
		slog.String("username", s.Username),
		slog.String("password", s.Password.String()),
		slog.String("tls", string(s.tlsMode())),
	)
}

func hostProblem(host string) string {
	switch {
	case host == "":
		return "is required: the SMTP server's name, such as smtp.example.com"
	case strings.Contains(host, "://"):
		return "must be a host name without a scheme, such as smtp.example.com"
	case strings.HasPrefix(host, "["):
		return "must be an IPv6 address without brackets, such as 2001:db8::25"
	case strings.ContainsAny(host, " \t\r\n/@"):
		return "must be a host name or IP address, such as smtp.example.com"
	}
	if _, _, err := net.SplitHostPort(host); err == nil {
		return "must not include the port; put it in the port field"
	}
	return ""
}

// Format prints s with the password redacted, whatever the verb: fmt
// would otherwise print a Secret raw under verbs such as %d.
func (s Settings) Format(f fmt.State, verb rune) {
	type settings Settings // the same fields, without this method
	p := settings(s)
	p.Password = integrations.Secret(s.Password.String())
	fmt.Fprintf(f, fmt.FormatString(f, verb), p)
}
