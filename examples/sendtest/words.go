package main

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// vocabulary is how one subcommand's user names things: its flags and
// environment variables. The transports' messages name the settings' JSON
// fields ("password", "from-number") and the Go fields a host sets
// (Config.RootCAs); a person at a shell knows -ca and SMTP_PASSWORD, so
// every message sendtest prints is told in these words. The JSON keys of
// "fields" stay the settings' names: they are the output's contract.
type vocabulary struct {
	names map[string]string // settings field -> flag or environment variable
	words *strings.Replacer // transport phrase -> sendtest phrase
}

func emailVocabulary() vocabulary {
	return vocabulary{
		names: map[string]string{
			"sender": "-sender", "host": "-host", "port": "-port", "authentication": "-auth",
			"username": "-username", "password": "SMTP_PASSWORD", "tls": "-tls", "to": "-to",
			"ca": "-ca", "timeout": "-timeout", "attempts": "-attempts", "retry-wait": "-retry-wait",
		},
		words: strings.NewReplacer(
			"when authentication is plain", "with -auth plain",
			"when authentication is login", "with -auth login",
			"use starttls or tls (or, on a trusted network only, the host's AllowInsecureAuth)",
			"use -tls starttls or -tls tls (or, on a trusted network only, -allow-insecure-auth)",
			"check Host and Port", "check -host and -port",
			`set tls to "tls" if it expects TLS from the start (usually port 465), or to "none" only on a trusted network`,
			"use -tls tls if it expects TLS from the start (usually port 465), or -tls none only on a trusted network",
			"(tls on 465, starttls on 587)", "(-tls tls on 465, -tls starttls on 587)",
			"set Host (or Config.ServerName)", "set -host (or -server-name)",
			"give it in Config.RootCAs", "give its PEM file with -ca",
			"raise Config.Timeout", "raise -timeout",
			"set authentication to none", "use -auth none",
			"choose another authentication", "choose another -auth",
			"try the other authentication mechanism", "try the other -auth mechanism",
		),
	}
}

func smsVocabulary() vocabulary {
	return vocabulary{
		names: map[string]string{
			"account-sid": "-account-sid", "auth-token": "TWILIO_AUTH_TOKEN", "from-number": "-from",
			"messaging-service-sid": "-messaging-service-sid", "api-key-sid": "-api-key-sid",
			"api-key-secret": "TWILIO_API_KEY_SECRET", "base-url": "-base-url", "to": "-to", "timeout": "-timeout",
		},
		words: strings.NewReplacer(
			"(or an API key SID and secret)", "(or -api-key-sid with TWILIO_API_KEY_SECRET)",
			"unless a Messaging Service SID is set", "unless -messaging-service-sid is given",
			"is required with an API key SID", "is required with -api-key-sid",
			"set the Account SID and token in their own fields", "give them with -account-sid and TWILIO_AUTH_TOKEN",
			"Check the Account SID and Auth Token (or API key SID and secret)",
			"Check -account-sid and TWILIO_AUTH_TOKEN (or -api-key-sid and TWILIO_API_KEY_SECRET)",
			"Check the Account SID:", "Check -account-sid:",
			"Check the recipient's number:", "Check -to:",
			"Check the From Number:", "Check -from:",
			"from this From Number", "from this -from number",
			"Check the base URL", "Check -base-url",
			"check the base URL", "check -base-url",
		),
	}
}

// name is how the user sets field: its flag or environment variable, or
// the field's own name when sendtest has neither.
func (v vocabulary) name(field string) string {
	if n, ok := v.names[field]; ok {
		return n
	}
	return field
}

// say rewrites a transport's message in the subcommand's words.
func (v vocabulary) say(msg string) string { return v.words.Replace(msg) }

// settingsError is the error for invalid settings: every field problem,
// in the user's words, in Fields (keyed by the settings' names) and, sorted
// by the flag or variable that names it, in Message.
func (v vocabulary) settingsError(fields map[string]string) *resultError {
	told := make(map[string]string, len(fields))
	labels := make([]string, 0, len(fields))
	byLabel := make(map[string]string, len(fields))
	for field, problem := range fields {
		told[field] = v.say(problem)
		label := v.name(field)
		labels = append(labels, label)
		byLabel[label] = told[field]
	}
	sort.Strings(labels)
	parts := make([]string, len(labels))
	for i, label := range labels {
		parts[i] = label + ": " + byLabel[label]
	}
	return &resultError{Code: codeSettings, Message: "invalid settings: " + strings.Join(parts, "; "), Fields: told}
}

// plainAddress replaces net/mail's grammar words ("missing '@' or
// angle-addr", "no angle-addr") in an address problem with what is
// actually wrong with addr, in plain words. Other problems pass unchanged.
func plainAddress(addr, problem string) string {
	if !strings.HasPrefix(problem, "is not a valid email address") {
		return problem
	}
	return addressProblem(addr) + "; write a bare address such as admin@example.com"
}

// addressProblem says what keeps addr from being name@domain. It sees only
// what the transport's own checks let through (no spaces, brackets or
// control characters).
func addressProblem(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	switch {
	case at < 0:
		return fmt.Sprintf("%q has no @ between the name and the domain", addr)
	case at == 0:
		return fmt.Sprintf("%q has nothing before the @", addr)
	case at == len(addr)-1:
		return fmt.Sprintf("%q has no domain after the @", addr)
	case strings.Count(addr, "@") > 1:
		return fmt.Sprintf("%q has more than one @", addr)
	}
	local, domain := addr[:at], addr[at+1:]
	if p := dotProblem(local); p != "" {
		return fmt.Sprintf("the part before the @ in %q %s", addr, p)
	}
	if p := dotProblem(domain); p != "" {
		return fmt.Sprintf("the domain in %q %s", addr, p)
	}
	for _, r := range local {
		if r < utf8.RuneSelf && !isAtext(byte(r)) && r != '.' {
			return fmt.Sprintf("%q holds %q before the @, which an address can have only inside quotes", addr, r)
		}
	}
	for _, r := range domain {
		if r < utf8.RuneSelf && !isLetterDigit(byte(r)) && r != '-' && r != '.' {
			return fmt.Sprintf("the domain in %q holds %q; a domain has letters, digits, dots and hyphens", addr, r)
		}
	}
	return fmt.Sprintf("%q is not an address the mail system can read", addr)
}

func dotProblem(part string) string {
	switch {
	case strings.HasPrefix(part, "."):
		return "starts with a dot"
	case strings.HasSuffix(part, "."):
		return "ends with a dot"
	case strings.Contains(part, ".."):
		return "has two dots in a row"
	}
	return ""
}

func isLetterDigit(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// isAtext reports whether c may appear unquoted in the part before the @
// (RFC 5322's atext).
func isAtext(c byte) bool {
	return isLetterDigit(c) || strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}
