package samlsp

import (
	"net/url"
	"strings"
)

// maxRedirectTarget caps a redirect target taken from a RelayState or a
// return_to parameter.
const maxRedirectTarget = 2048

// SafeRedirect returns target when it is safe to redirect the browser to,
// and fallback otherwise, so that a RelayState (which anyone can forge in
// an IdP-initiated login) or a return_to parameter never makes an open
// redirect. Safe targets are:
//
//   - a path on this site: starting with one "/", such as "/orgs/acme?tab=teams";
//   - an absolute http or https URL whose origin (scheme, host and port) is
//     one of allowedOrigins, such as "https://app.example.com".
//
// Anything else falls back: other origins, "//host" and "/\host"
// (browsers read both as another host), backslashes, control characters
// and spaces (browsers drop some of them, which can turn "/\t/evil" into
// "//evil"), bytes outside ASCII (send them percent-encoded), user info,
// other schemes such as javascript:, and targets longer than 2048 bytes.
// The comparison of origins ignores case and a default port.
func SafeRedirect(target string, allowedOrigins []string, fallback string) string {
	if target == "" || len(target) > maxRedirectTarget {
		return fallback
	}
	for i := 0; i < len(target); i++ {
		if c := target[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return fallback
		}
	}
	u, err := url.Parse(target)
	if err != nil || u.User != nil || u.Opaque != "" {
		return fallback
	}
	if strings.HasPrefix(target, "/") {
		if strings.HasPrefix(target, "//") || u.Scheme != "" || u.Host != "" {
			return fallback
		}
		return target
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		return fallback
	}
	origin := normalOrigin(u)
	for _, a := range allowedOrigins {
		au, err := url.Parse(a)
		if err == nil && au.Host != "" && normalOrigin(au) == origin {
			return target
		}
	}
	return fallback
}

// normalOrigin returns scheme://host[:port] in lower case, without a
// default port.
func normalOrigin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if scheme == "https" && port == "443" || scheme == "http" && port == "80" {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host
}
