package samlsp

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// TrackedRequest is a request this service provider sent and awaits the
// answer to: an AuthnRequest (answered at the ACS) or a LogoutRequest
// (answered at the SLO URL).
type TrackedRequest struct {
	// ID is the request's ID, which the answer's InResponseTo names.
	ID string `json:"id"`
	// ReturnTo is where to send the browser once the answer is in: a
	// target that SafeRedirect accepted.
	ReturnTo string `json:"rt,omitempty"`
	// Logout marks a LogoutRequest; false is an AuthnRequest.
	Logout bool `json:"lo,omitempty"`
	// Expires is when the request stops being answerable. Track sets it
	// when it is zero.
	Expires time.Time `json:"exp"`
}

// RequestTracker remembers, per browser, the requests a service provider
// sent, so that an answer is accepted only in the browser that asked for it
// (crewjam/saml's most reported error, "InResponseTo does not match", is a
// tracker that forgot). A host with one instance can use CookieTracker; a
// host with several can also back it with its shared session store.
//
// A correct implementation keeps the requests of one browser apart from
// every other browser's; keeps several of them at once (a user may start
// logins in several tabs); returns from Outstanding only requests tracked
// for this browser, not yet expired nor forgotten; and cannot be fooled by
// a browser into returning a request it did not track.
type RequestTracker interface {
	// Track records req for the browser that sent r, setting what it
	// needs (such as a cookie) on w.
	Track(ctx context.Context, w http.ResponseWriter, r *http.Request, req TrackedRequest) error
	// Outstanding returns the requests tracked for the browser that sent
	// r and not yet expired, in any order.
	Outstanding(ctx context.Context, r *http.Request) ([]TrackedRequest, error)
	// Forget drops the request id once it has been answered, so that it
	// cannot be answered again.
	Forget(ctx context.Context, w http.ResponseWriter, r *http.Request, id string) error
}

// Defaults of CookieTracker.
const (
	// DefaultRequestLifetime is how long a request stays answerable: long
	// enough to type a password and answer an MFA prompt at the IdP.
	DefaultRequestLifetime = 10 * time.Minute
	// DefaultMaxTrackedRequests is how many requests one browser may have
	// outstanding; starting one more drops the oldest. Four tabs logging
	// in at once is plenty, and with MaxTrackedReturnTo it keeps the
	// cookies of one browser near 2 KB at most (a Cookie header over 8 KB
	// is refused by nginx's defaults).
	DefaultMaxTrackedRequests = 4
	// DefaultCookiePrefix starts the name of each tracking cookie.
	DefaultCookiePrefix = "saml_req_"
	// DefaultCookiePath is the tracking cookies' path: the Handler's
	// default prefix, so that the cookies reach the ACS and SLO URLs and
	// no other page of the host.
	DefaultCookiePath = DefaultHandlerPrefix
	// MaxTrackedReturnTo is the longest ReturnTo a CookieTracker keeps.
	// The Handler sends a login with a longer return_to to
	// DefaultRedirect instead, so that nobody can make a browser carry
	// kilobytes of cookies on every request.
	MaxTrackedReturnTo = 256
)

// Caps applied to tracking cookies before any work on them.
const (
	maxCookieValue = 3072 // bytes of one cookie's value
	maxCookiesRead = 64   // tracking cookies read from one request
)

// CookieTracker is a RequestTracker that keeps each outstanding request in
// a cookie of its own, so that logins started in several tabs at once do
// not overwrite each other. The cookie holds the request's ID, ReturnTo and
// expiry, authenticated with an HMAC-SHA256 of Key (compared in constant
// time); it is HttpOnly, Secure and SameSite=None, so that the IdP's
// cross-site POST to the ACS carries it (browsers treat http://localhost
// and 127.0.0.1 as secure too), and it expires with the request.
//
// A browser could keep a cookie that Forget deleted and present it again;
// that gains nothing, because the ReplayCache accepts each assertion once.
// The zero value is not usable: Key is required. It is safe for
// concurrent use.
type CookieTracker struct {
	// Key authenticates the cookies: at least 32 random bytes, the same on
	// every instance of the host, kept secret. Required.
	Key []byte
	// Lifetime is how long a request stays answerable. Default:
	// DefaultRequestLifetime.
	Lifetime time.Duration
	// MaxRequests caps the requests one browser has outstanding; tracking
	// one more drops the oldest. Default: DefaultMaxTrackedRequests.
	MaxRequests int
	// Path is the cookies' path: it must cover the ACS and SLO URLs
	// (NewHandler checks). Default: DefaultCookiePath, "/saml/".
	Path string
	// Prefix starts each cookie's name. Default: DefaultCookiePrefix.
	Prefix string
	// Clock returns the current time. Default: time.Now.
	Clock func() time.Time
}

// ErrTrackerKey is returned by a CookieTracker whose Key is shorter than 32
// bytes.
var ErrTrackerKey = errors.New("saml: CookieTracker.Key must be at least 32 random bytes")

func (t *CookieTracker) now() time.Time {
	if t.Clock != nil {
		return t.Clock()
	}
	return time.Now()
}

func (t *CookieTracker) prefix() string {
	if t.Prefix != "" {
		return t.Prefix
	}
	return DefaultCookiePrefix
}

func (t *CookieTracker) path() string {
	if t.Path != "" {
		return t.Path
	}
	return DefaultCookiePath
}

// cookieName is the tracking cookie of id: the prefix and a keyed hash of
// the ID, so that any ID gives a valid cookie name and Forget finds it.
func (t *CookieTracker) cookieName(id string) string {
	m := hmac.New(sha256.New, t.Key)
	m.Write([]byte("name\x00" + id))
	return t.prefix() + hex.EncodeToString(m.Sum(nil)[:8])
}

// mac authenticates a cookie's payload under its name.
func (t *CookieTracker) mac(name, payload string) []byte {
	m := hmac.New(sha256.New, t.Key)
	m.Write([]byte("v1\x00" + name + "\x00" + payload))
	return m.Sum(nil)
}

// Track implements RequestTracker: it sets req's cookie, and deletes the
// oldest cookies beyond MaxRequests.
func (t *CookieTracker) Track(ctx context.Context, w http.ResponseWriter, r *http.Request, req TrackedRequest) error {
	if len(t.Key) < 32 {
		return ErrTrackerKey
	}
	if req.ID == "" {
		return errors.New("saml: a tracked request needs an ID")
	}
	if len(req.ReturnTo) > MaxTrackedReturnTo {
		return fmt.Errorf("saml: a tracked request's ReturnTo is %d bytes, more than MaxTrackedReturnTo (%d)", len(req.ReturnTo), MaxTrackedReturnTo)
	}
	lifetime := t.Lifetime
	if lifetime <= 0 {
		lifetime = DefaultRequestLifetime
	}
	now := t.now()
	if req.Expires.IsZero() {
		req.Expires = now.Add(lifetime)
	}
	req.Expires = req.Expires.UTC().Truncate(time.Second)
	max := t.MaxRequests
	if max <= 0 {
		max = DefaultMaxTrackedRequests
	}
	current := t.read(r)
	slices.SortFunc(current, func(a, b trackedCookie) int { return a.req.Expires.Compare(b.req.Expires) })
	for len(current) >= max {
		t.drop(w, current[0].name)
		current = current[1:]
	}
	payload, err := json.Marshal(req)
	if err != nil {
		return err
	}
	name := t.cookieName(req.ID)
	p := base64.RawURLEncoding.EncodeToString(payload)
	value := p + "." + base64.RawURLEncoding.EncodeToString(t.mac(name, p))
	if len(value) > maxCookieValue {
		return errors.New("saml: the tracked request is too large for a cookie (a very long ID?)")
	}
	maxAge := int(req.Expires.Sub(now) / time.Second)
	if maxAge < 1 {
		maxAge = 1
	}
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: t.path(), MaxAge: maxAge,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteNoneMode,
	})
	return nil
}

// Outstanding implements RequestTracker: the requests in this browser's
// tracking cookies whose HMAC verifies and which have not expired.
func (t *CookieTracker) Outstanding(ctx context.Context, r *http.Request) ([]TrackedRequest, error) {
	if len(t.Key) < 32 {
		return nil, ErrTrackerKey
	}
	var out []TrackedRequest
	for _, c := range t.read(r) {
		out = append(out, c.req)
	}
	return out, nil
}

// Forget implements RequestTracker: it deletes id's cookie.
func (t *CookieTracker) Forget(ctx context.Context, w http.ResponseWriter, r *http.Request, id string) error {
	if len(t.Key) < 32 {
		return ErrTrackerKey
	}
	t.drop(w, t.cookieName(id))
	return nil
}

func (t *CookieTracker) drop(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: "", Path: t.path(), MaxAge: -1,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteNoneMode,
	})
}

type trackedCookie struct {
	name string
	req  TrackedRequest
}

// read returns the valid tracking cookies of r, looking at no more than
// maxCookiesRead of them.
func (t *CookieTracker) read(r *http.Request) []trackedCookie {
	var out []trackedCookie
	now := t.now()
	seen := 0
	for _, c := range r.Cookies() {
		if !strings.HasPrefix(c.Name, t.prefix()) {
			continue
		}
		if seen++; seen > maxCookiesRead {
			break
		}
		req, ok := t.decode(c.Name, c.Value, now)
		if ok {
			out = append(out, trackedCookie{name: c.Name, req: req})
		}
	}
	return out
}

// decode checks and decodes one tracking cookie. It reports false for a
// cookie that is malformed, forged, moved to another name, or expired.
func (t *CookieTracker) decode(name, value string, now time.Time) (TrackedRequest, bool) {
	if len(value) > maxCookieValue {
		return TrackedRequest{}, false
	}
	p, m, ok := strings.Cut(value, ".")
	if !ok {
		return TrackedRequest{}, false
	}
	mac, err := base64.RawURLEncoding.DecodeString(m)
	if err != nil || !hmac.Equal(mac, t.mac(name, p)) {
		return TrackedRequest{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return TrackedRequest{}, false
	}
	var req TrackedRequest
	if err := json.Unmarshal(payload, &req); err != nil || req.ID == "" || !now.Before(req.Expires) {
		return TrackedRequest{}, false
	}
	if name != t.cookieName(req.ID) {
		return TrackedRequest{}, false
	}
	return req, true
}
