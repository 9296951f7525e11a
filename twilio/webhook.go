package twilio

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/siteadmin/integrations"
)

// Algorithm is a signing algorithm of Twilio's webhooks, spelled as the
// X-Twilio-Webhooks-Signature-Settings header spells it.
type Algorithm string

// The algorithms Twilio signs webhooks with. Without a Webhooks Rule it
// is always HMACSHA1 with the account's auth token.
const (
	HMACSHA1   Algorithm = "HMAC_SHA1"
	HMACSHA256 Algorithm = "HMAC_SHA256"
)

// Headers and parameters of Twilio's webhooks.
const (
	// SignatureHeader carries the base64 HMAC of the request.
	SignatureHeader = "X-Twilio-Signature"
	// SignatureSettingsHeader names the shared key and the algorithm
	// ("key=...,algorithm=HMAC_SHA256") when a Webhooks Rule of the
	// account matches the URL; without it Twilio signed with the auth
	// token and HMAC-SHA1.
	SignatureSettingsHeader = "X-Twilio-Webhooks-Signature-Settings"
	// BodySHA256Param is the query parameter Twilio adds to the URL of a
	// webhook with a JSON body: the hex SHA-256 of the raw body, which
	// the signature then covers through the URL.
	BodySHA256Param = "bodySHA256"
	// CallbackKeyParam is the query parameter the Client adds to
	// Config.StatusCallback for each message: the message's idempotency
	// key, so that a status callback names the outbox message it is
	// about. The signature covers it, so it cannot be forged.
	CallbackKeyParam = "notify_key"
)

// DefaultMaxWebhookBody bounds the body a StatusHandler reads. Twilio's
// status callbacks are well under 2 KiB; the bound keeps the cost of a
// hostile request (parsing, sorting and a few HMACs over the body) under
// a millisecond.
const DefaultMaxWebhookBody = 16 << 10

// maxSettingsHeader, maxSignature and maxParams bound what is parsed
// before any HMAC is computed: a SHA-256 signature is 44 base64
// characters, and a status callback has about 15 parameters (an inbound
// message webhook about 40).
const (
	maxSettingsHeader = 512
	maxSignature      = 128
	maxParams         = 256
)

// Sentinels for errors.Is on a *WebhookError.
var (
	// ErrUnsigned: the request has no X-Twilio-Signature.
	ErrUnsigned = errors.New("twilio: webhook is not signed")
	// ErrSignature: the signature matches none of the configured keys for
	// the URL and parameters received.
	ErrSignature = errors.New("twilio: webhook signature does not match")
	// ErrAlgorithm: the request names a key or algorithm the handler was
	// not configured with (or one that expired), or was signed with the
	// auth token while none is configured.
	ErrAlgorithm = errors.New("twilio: webhook signed with a key or algorithm that is not configured")
	// ErrWebhookBody: the request is not a status callback the handler
	// can read (method, size, content type, form or fields).
	ErrWebhookBody = errors.New("twilio: malformed webhook")
)

// WebhookError is a refused webhook: Err is one of the sentinels above,
// Problem says what was wrong without any secret, and Status is the HTTP
// status the handler answered with.
type WebhookError struct {
	Err     error
	Problem string
	Status  int
}

// Error returns the sentinel's text and the problem.
func (e *WebhookError) Error() string { return e.Err.Error() + ": " + e.Problem }

// Unwrap returns Err.
func (e *WebhookError) Unwrap() error { return e.Err }

func refuse(sentinel error, status int, format string, args ...any) *WebhookError {
	return &WebhookError{Err: sentinel, Status: status, Problem: fmt.Sprintf(format, args...)}
}

// SharedKey is a signing key of a Twilio Webhook Setting. When a Webhooks
// Rule matches the callback URL, Twilio signs with the rule's key and
// algorithm instead of the auth token, and names both in the
// X-Twilio-Webhooks-Signature-Settings header.
type SharedKey struct {
	// ID is the key as the header's "key=" names it. Required, unique.
	ID string
	// Secret is the key's secret, as Twilio returned it when the key was
	// created. Required.
	Secret integrations.Secret
	// Algorithm is the one the Webhook Setting signs with; a request
	// naming another algorithm for this key is refused. Required.
	Algorithm Algorithm
	// Expires, when set, is when the key stops being accepted: during a
	// rotation, configure the new key and the old one with the time the
	// old one is retired. Default: never.
	Expires time.Time
}

// StatusHandlerConfig configures a StatusHandler. URL, OnStatus and at
// least one of AuthToken and SharedKeys are required.
type StatusHandlerConfig struct {
	// URL is the public URL Twilio calls: the Config.StatusCallback given
	// to the Client, exactly, since Twilio signs the URL it calls and a
	// proxy in front of the host may change what the server sees (scheme,
	// host, port, path). The handler uses its scheme, host and path with
	// the query the request arrived with, which must begin with URL's own
	// query. Required.
	URL string
	// AuthToken is the account's auth token, with which Twilio signs
	// (HMAC-SHA1) unless a Webhooks Rule applies. Leave it empty to
	// accept only SharedKeys.
	AuthToken integrations.Secret
	// PreviousAuthToken is accepted besides AuthToken until
	// PreviousAuthTokenExpires, for callbacks already under way when
	// the token was rotated. Default: none.
	PreviousAuthToken integrations.Secret
	// PreviousAuthTokenExpires is when PreviousAuthToken stops being
	// accepted. Required with PreviousAuthToken.
	PreviousAuthTokenExpires time.Time
	// SharedKeys are the keys of the account's Webhook Settings that may
	// sign these callbacks. Default: none, and a request naming a key is
	// refused.
	SharedKeys []SharedKey
	// OnStatus receives each verified status; the handler answers 204
	// when it returns nil and 500 (so the failure shows in Twilio's
	// debugger) otherwise. Required. See RecordStatus for the outbox.
	OnStatus func(ctx context.Context, st Status) error
	// MaxBody bounds the body read. Default: DefaultMaxWebhookBody.
	MaxBody int64
	// Now is the clock for key expiry and Status.Received. Default:
	// time.Now.
	Now func() time.Time
	// Logger receives one line per refused request (why, never a secret)
	// and one per status at debug level. Default: silent.
	Logger *slog.Logger
}

// StatusHandler is an http.Handler for Twilio's message status callbacks.
// It verifies each request exactly as Twilio signs it, refuses anything
// unsigned, wrongly signed or signed with a key or algorithm it was not
// given, and hands the host a typed Status. Create it with
// NewStatusHandler; it is safe for concurrent use.
type StatusHandler struct {
	scheme, host, path, query string // of the public URL
	authTokens                []tokenKey
	shared                    []SharedKey
	onStatus                  func(context.Context, Status) error
	maxBody                   int64
	now                       func() time.Time
	log                       *slog.Logger
}

// tokenKey is an auth token and when it stops being accepted.
type tokenKey struct {
	secret  integrations.Secret
	expires time.Time
}

// NewStatusHandler checks cfg (every problem at once) and returns a
// handler.
func NewStatusHandler(cfg StatusHandlerConfig) (*StatusHandler, error) {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("twilio: StatusHandlerConfig."+format, args...))
	}
	u, err := url.Parse(cfg.URL)
	switch {
	case cfg.URL == "":
		add("URL: is required: the public URL given as Config.StatusCallback")
	case err != nil || u.Host == "" || u.Scheme != "https" && u.Scheme != "http":
		add("URL: must be an absolute http or https URL, got %s", quoteInput(cfg.URL))
	case u.User != nil || u.Fragment != "" || strings.Contains(cfg.URL, "#"):
		add("URL: must have no credentials and no fragment, got %s", quoteInput(cfg.URL))
	case u.Query().Has(CallbackKeyParam):
		add("URL: must not hold the %s parameter, which the Client adds", CallbackKeyParam)
	}
	if cfg.AuthToken.IsZero() && len(cfg.SharedKeys) == 0 {
		add("AuthToken: is required unless SharedKeys are set: copy it from the Twilio console")
	}
	if !cfg.PreviousAuthToken.IsZero() && cfg.PreviousAuthTokenExpires.IsZero() {
		add("PreviousAuthTokenExpires: is required with PreviousAuthToken: say when the old token stops being accepted")
	}
	seen := map[string]bool{}
	for i, k := range cfg.SharedKeys {
		switch {
		case k.ID == "" || seen[k.ID]:
			add("SharedKeys[%d].ID: must be set and unique", i)
		case k.Secret.IsZero():
			add("SharedKeys[%d].Secret: is required", i)
		case k.Algorithm != HMACSHA1 && k.Algorithm != HMACSHA256:
			add("SharedKeys[%d].Algorithm: must be %s or %s, got %s", i, HMACSHA256, HMACSHA1, quoteInput(string(k.Algorithm)))
		}
		seen[k.ID] = true
	}
	if cfg.OnStatus == nil {
		add("OnStatus: is required: it receives each verified status")
	}
	if cfg.MaxBody < 0 {
		add("MaxBody: is negative: use 0 for the default of %d bytes", DefaultMaxWebhookBody)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	h := &StatusHandler{
		scheme:   u.Scheme,
		host:     u.Host,
		path:     pathOf(cfg.URL),
		query:    u.RawQuery,
		shared:   slices.Clone(cfg.SharedKeys),
		onStatus: cfg.OnStatus,
		maxBody:  orDefault(cfg.MaxBody, DefaultMaxWebhookBody),
		now:      cfg.Now,
		log:      cfg.Logger,
	}
	if !cfg.AuthToken.IsZero() {
		h.authTokens = append(h.authTokens, tokenKey{secret: cfg.AuthToken})
	}
	if !cfg.PreviousAuthToken.IsZero() {
		h.authTokens = append(h.authTokens, tokenKey{secret: cfg.PreviousAuthToken, expires: cfg.PreviousAuthTokenExpires})
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h, nil
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// pathOf returns the URL's path exactly as written (escapes included),
// between the authority and the query.
func pathOf(raw string) string {
	rest := raw[strings.Index(raw, "://")+3:]
	i := strings.IndexAny(rest, "/?#")
	if i < 0 || rest[i] != '/' {
		return ""
	}
	rest = rest[i:]
	if j := strings.IndexAny(rest, "?#"); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// ServeHTTP verifies the request and passes its status to OnStatus. It
// answers 204 on success, 403 for a missing or wrong signature or an
// unconfigured key or algorithm, 405 for a method other than POST, 413
// for a body over MaxBody, 415 for a content type other than a form or
// JSON, 400 for a malformed body, and 500 when OnStatus fails. A 403
// says no more than "Forbidden": why a signature failed goes to the Logger.
func (h *StatusHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	st, err := h.Verify(w, r)
	if err != nil {
		var we *WebhookError
		if !errors.As(err, &we) {
			we = &WebhookError{Err: ErrWebhookBody, Problem: err.Error(), Status: http.StatusBadRequest}
		}
		h.log.WarnContext(r.Context(), "twilio: status callback refused", "reason", we.Error(), "remote", r.RemoteAddr)
		if we.Status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", http.MethodPost)
		}
		msg := http.StatusText(we.Status)
		if we.Status != http.StatusForbidden {
			// Why a signature failed (which key, which algorithm, an
			// expiry) is for the host's log, not for whoever posted.
			msg += ": " + we.Problem
		}
		http.Error(w, msg, we.Status)
		return
	}
	h.log.DebugContext(r.Context(), "twilio: status callback", "sid", st.MessageSID, "status", st.Status, "error_code", st.ErrorCode, "key", st.Key)
	if err := h.onStatus(r.Context(), st); err != nil {
		h.log.ErrorContext(r.Context(), "twilio: recording a status failed", "sid", st.MessageSID, "key", st.Key, "error", err.Error())
		http.Error(w, "could not record the status", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// Verify reads r's body (at most MaxBody; w may be nil), checks its
// signature and returns the status it carries. The error is a
// *WebhookError. ServeHTTP calls it; call it yourself to answer in
// another way.
func (h *StatusHandler) Verify(w http.ResponseWriter, r *http.Request) (Status, error) {
	if r.Method != http.MethodPost {
		return Status{}, refuse(ErrWebhookBody, http.StatusMethodNotAllowed, "method %s: Twilio posts status callbacks", r.Method)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return Status{}, refuse(ErrWebhookBody, http.StatusRequestEntityTooLarge, "body over %d bytes", h.maxBody)
		}
		return Status{}, refuse(ErrWebhookBody, http.StatusBadRequest, "unreadable body: %v", err)
	}
	req := webhookRequest{
		query:       r.URL.RawQuery,
		contentType: r.Header.Get("Content-Type"),
		signature:   r.Header.Values(SignatureHeader),
		settings:    r.Header.Values(SignatureSettingsHeader),
		body:        body,
	}
	return h.verify(req)
}

// webhookRequest is what verification reads of a request.
type webhookRequest struct {
	query       string
	contentType string
	signature   []string
	settings    []string
	body        []byte
}

func (h *StatusHandler) verify(req webhookRequest) (Status, error) {
	now := h.now()
	sig, err := decodeSignature(req.signature)
	if err != nil {
		return Status{}, err
	}
	keys, err := h.keysFor(req.settings, now)
	if err != nil {
		return Status{}, err
	}
	if h.query != "" && req.query != h.query && !strings.HasPrefix(req.query, h.query+"&") {
		return Status{}, refuse(ErrSignature, http.StatusForbidden, "the query does not begin with the configured URL's query")
	}
	if strings.Count(req.query, "&") >= maxParams {
		return Status{}, refuse(ErrWebhookBody, http.StatusBadRequest, "more than %d query parameters", maxParams)
	}
	query, err := url.ParseQuery(req.query)
	if err != nil {
		return Status{}, refuse(ErrWebhookBody, http.StatusBadRequest, "malformed query: %v", err)
	}
	params, jsonBody, err := bodyParams(req, query)
	if err != nil {
		return Status{}, err
	}
	if !h.signatureMatches(sig, keys, req.query, params) {
		return Status{}, refuse(ErrSignature, http.StatusForbidden, "no configured key signs this URL and body as received (check that the handler's URL is the public URL Twilio calls)")
	}
	fields := params
	if jsonBody {
		if fields, err = jsonFields(req.body); err != nil {
			return Status{}, err
		}
	}
	st, err := parseStatus(fields)
	if err != nil {
		return Status{}, err
	}
	st.Key = query.Get(CallbackKeyParam)
	st.Received = now
	return st, nil
}

// decodeSignature takes the one X-Twilio-Signature value.
func decodeSignature(values []string) ([]byte, error) {
	switch {
	case len(values) == 0 || len(values) == 1 && strings.TrimSpace(values[0]) == "":
		return nil, refuse(ErrUnsigned, http.StatusForbidden, "no %s header", SignatureHeader)
	case len(values) > 1:
		return nil, refuse(ErrSignature, http.StatusForbidden, "%d %s headers; Twilio sends one", len(values), SignatureHeader)
	case len(values[0]) > maxSignature:
		return nil, refuse(ErrSignature, http.StatusForbidden, "%s is %d bytes long", SignatureHeader, len(values[0]))
	}
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(values[0]))
	if err != nil {
		return nil, refuse(ErrSignature, http.StatusForbidden, "%s is not base64", SignatureHeader)
	}
	return sig, nil
}

// signingKey is one key that may have signed the request.
type signingKey struct {
	secret integrations.Secret
	alg    Algorithm
}

// keysFor returns the keys the request may be signed with: the auth
// tokens (HMAC-SHA1) without a settings header, the one shared key it
// names otherwise, and only if the handler has it with that algorithm.
func (h *StatusHandler) keysFor(settings []string, now time.Time) ([]signingKey, error) {
	if len(settings) == 0 {
		var keys []signingKey
		for _, t := range h.authTokens {
			if t.expires.IsZero() || now.Before(t.expires) {
				keys = append(keys, signingKey{t.secret, HMACSHA1})
			}
		}
		if len(keys) == 0 {
			return nil, refuse(ErrAlgorithm, http.StatusForbidden, "signed with the auth token (no %s header), and no current auth token is configured", SignatureSettingsHeader)
		}
		return keys, nil
	}
	if len(settings) > 1 {
		return nil, refuse(ErrAlgorithm, http.StatusForbidden, "%d %s headers; Twilio sends one", len(settings), SignatureSettingsHeader)
	}
	id, alg, err := ParseSignatureSettings(settings[0])
	if err != nil {
		return nil, refuse(ErrAlgorithm, http.StatusForbidden, "%v", err)
	}
	for _, k := range h.shared {
		if k.ID != id {
			continue
		}
		switch {
		case k.Algorithm != alg:
			return nil, refuse(ErrAlgorithm, http.StatusForbidden, "key %s is configured for %s, the request names %s", quoteInput(id), k.Algorithm, quoteInput(string(alg)))
		case !k.Expires.IsZero() && !now.Before(k.Expires):
			return nil, refuse(ErrAlgorithm, http.StatusForbidden, "key %s expired at %s", quoteInput(id), k.Expires.UTC().Format(time.RFC3339))
		}
		return []signingKey{{k.Secret, k.Algorithm}}, nil
	}
	return nil, refuse(ErrAlgorithm, http.StatusForbidden, "key %s is not configured", quoteInput(id))
}

// ParseSignatureSettings reads an X-Twilio-Webhooks-Signature-Settings
// value, "key=ID,algorithm=ALG" in either order with optional spaces,
// and returns the key's ID and the algorithm. Each of the two must appear
// exactly once; other parameters are ignored; the algorithm must be one
// this package knows.
func ParseSignatureSettings(v string) (id string, alg Algorithm, err error) {
	if len(v) > maxSettingsHeader {
		return "", "", fmt.Errorf("%s is %d bytes long", SignatureSettingsHeader, len(v))
	}
	var haveKey, haveAlg bool
	for part := range strings.SplitSeq(v, ",") {
		name, value, ok := strings.Cut(part, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok {
			return "", "", fmt.Errorf("%s: %s is not name=value", SignatureSettingsHeader, quoteInput(part))
		}
		switch strings.ToLower(name) {
		case "key":
			if haveKey || value == "" {
				return "", "", fmt.Errorf("%s: key must appear once, with a value", SignatureSettingsHeader)
			}
			id, haveKey = value, true
		case "algorithm":
			if haveAlg {
				return "", "", fmt.Errorf("%s: algorithm must appear once", SignatureSettingsHeader)
			}
			alg, haveAlg = Algorithm(strings.ToUpper(value)), true
		}
	}
	switch {
	case !haveKey || !haveAlg:
		return "", "", fmt.Errorf("%s: needs key= and algorithm=, got %s", SignatureSettingsHeader, quoteInput(v))
	case alg != HMACSHA1 && alg != HMACSHA256:
		return "", "", fmt.Errorf("%s: algorithm %s is not one this handler knows (%s, %s)", SignatureSettingsHeader, quoteInput(string(alg)), HMACSHA256, HMACSHA1)
	}
	return id, alg, nil
}

// bodyParams returns the parameters the signature covers after the URL:
// the form's, or none for a JSON body, whose SHA-256 the URL carries
// instead (then jsonBody is true and the hash has been checked).
func bodyParams(req webhookRequest, query url.Values) (params url.Values, jsonBody bool, err error) {
	media, _, _ := mime.ParseMediaType(req.contentType)
	if hashes, ok := query[BodySHA256Param]; ok {
		want, err := hex.DecodeString(hashes[0])
		if len(hashes) != 1 || err != nil || len(want) != sha256.Size {
			return nil, false, refuse(ErrSignature, http.StatusForbidden, "%s must appear once, as 64 hex digits", BodySHA256Param)
		}
		if media != "application/json" {
			return nil, false, refuse(ErrWebhookBody, http.StatusUnsupportedMediaType, "content type %s with %s; Twilio sends application/json", quoteInput(req.contentType), BodySHA256Param)
		}
		got := sha256.Sum256(req.body)
		if !hmac.Equal(got[:], want) {
			return nil, false, refuse(ErrSignature, http.StatusForbidden, "the body's SHA-256 is not the %s the URL carries", BodySHA256Param)
		}
		return nil, true, nil
	}
	switch media {
	case "application/x-www-form-urlencoded":
	case "application/json":
		return nil, false, refuse(ErrSignature, http.StatusForbidden, "a JSON body without %s in the URL: its signature would not cover the body", BodySHA256Param)
	default:
		return nil, false, refuse(ErrWebhookBody, http.StatusUnsupportedMediaType, "content type %s; Twilio posts application/x-www-form-urlencoded", quoteInput(req.contentType))
	}
	if bytes.Count(req.body, []byte("&")) >= maxParams {
		return nil, false, refuse(ErrWebhookBody, http.StatusBadRequest, "more than %d form parameters", maxParams)
	}
	params, err = url.ParseQuery(string(req.body))
	if err != nil {
		return nil, false, refuse(ErrWebhookBody, http.StatusBadRequest, "malformed form: %v", err)
	}
	return params, false, nil
}

// signatureMatches computes the expected signature with each key, over
// the public URL as configured and with its default port toggled (Twilio
// has signed both forms), and compares in constant time.
func (h *StatusHandler) signatureMatches(sig []byte, keys []signingKey, rawQuery string, params url.Values) bool {
	signed := canonicalParams(params)
	ok := false
	for _, host := range hostForms(h.scheme, h.host) {
		full := h.scheme + "://" + host + h.path
		if rawQuery != "" {
			full += "?" + rawQuery
		}
		for _, k := range keys {
			mac, err := computeMAC(k.alg, k.secret, full, signed)
			// No early return: every candidate costs the same.
			ok = err == nil && hmac.Equal(mac, sig) || ok
		}
	}
	return ok
}

// hostForms returns host as written, and with the scheme's default port
// added or removed.
func hostForms(scheme, host string) []string {
	def := ":443"
	if scheme == "http" {
		def = ":80"
	}
	if trimmed, ok := strings.CutSuffix(host, def); ok {
		return []string{host, trimmed}
	}
	if strings.HasSuffix(host, "]") || !strings.Contains(host, ":") {
		return []string{host, host + def}
	}
	return []string{host}
}

// Signature computes what Twilio sends as X-Twilio-Signature for a POST
// of params to fullURL (query string included), signed with key: the
// base64 HMAC, with alg's hash, of the URL followed by each parameter's
// name and value, sorted by name (then by value), with no separators.
// For a JSON body, params is nil and fullURL carries bodySHA256. It is
// the computation StatusHandler checks, for tests and fakes such as
// twiliotest.
func Signature(alg Algorithm, key integrations.Secret, fullURL string, params url.Values) (string, error) {
	mac, err := computeMAC(alg, key, fullURL, canonicalParams(params))
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(mac), nil
}

func computeMAC(alg Algorithm, key integrations.Secret, fullURL string, signedParams []byte) ([]byte, error) {
	var newHash func() hash.Hash
	switch alg {
	case HMACSHA1:
		newHash = sha1.New
	case HMACSHA256:
		newHash = sha256.New
	default:
		return nil, fmt.Errorf("twilio: unknown signature algorithm %s", quoteInput(string(alg)))
	}
	m := hmac.New(newHash, []byte(key.Reveal()))
	io.WriteString(m, fullURL)
	m.Write(signedParams)
	return m.Sum(nil), nil
}

// canonicalParams is what the signature covers after the URL: each
// parameter's name and value, sorted by name, then value, without
// separators.
func canonicalParams(params url.Values) []byte {
	names := make([]string, 0, len(params))
	size := 0
	for name, values := range params {
		names = append(names, name)
		for _, v := range values {
			size += len(name) + len(v)
		}
	}
	slices.Sort(names)
	out := make([]byte, 0, size)
	for _, name := range names {
		values := params[name]
		if len(values) > 1 {
			values = slices.Clone(values)
			slices.Sort(values)
		}
		for _, v := range values {
			out = append(out, name...)
			out = append(out, v...)
		}
	}
	return out
}

// jsonFields reads a JSON object's string and number members as fields;
// other members are ignored.
func jsonFields(body []byte) (url.Values, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil || obj == nil {
		return nil, refuse(ErrWebhookBody, http.StatusBadRequest, "the JSON body is not an object")
	}
	fields := url.Values{}
	for name, v := range obj {
		switch v := v.(type) {
		case string:
			fields.Set(name, v)
		case json.Number:
			fields.Set(name, v.String())
		}
	}
	return fields, nil
}

// parseStatus reads a message status callback's fields: MessageSid and
// MessageStatus (SmsSid and SmsStatus, their older names, as fallbacks),
// and the optional AccountSid, ErrorCode, To and From.
func parseStatus(f url.Values) (Status, error) {
	one := func(names ...string) (string, error) {
		for _, n := range names {
			switch v := f[n]; len(v) {
			case 0:
				continue
			case 1:
				return v[0], nil
			default:
				return "", refuse(ErrWebhookBody, http.StatusBadRequest, "%s appears %d times", n, len(v))
			}
		}
		return "", nil
	}
	var st Status
	var code string
	var err error
	for _, field := range []struct {
		dst   *string
		names []string
	}{
		{&st.MessageSID, []string{"MessageSid", "SmsSid"}},
		{(*string)(&st.Status), []string{"MessageStatus", "SmsStatus"}},
		{&st.AccountSID, []string{"AccountSid"}},
		{&code, []string{"ErrorCode"}},
		{&st.To, []string{"To"}},
		{&st.From, []string{"From"}},
	} {
		if *field.dst, err = one(field.names...); err != nil {
			return Status{}, err
		}
	}
	switch {
	case !validSID(st.MessageSID, "SM") && !validSID(st.MessageSID, "MM"):
		return Status{}, refuse(ErrWebhookBody, http.StatusBadRequest, "MessageSid %s is not SM or MM and 32 hex digits", quoteInput(st.MessageSID))
	case st.Status == "" || len(st.Status) > 32:
		return Status{}, refuse(ErrWebhookBody, http.StatusBadRequest, "MessageStatus is missing or too long")
	}
	if code != "" {
		n, err := strconv.Atoi(code)
		if err != nil || n < 0 || n > 999999 {
			return Status{}, refuse(ErrWebhookBody, http.StatusBadRequest, "ErrorCode %s is not a Twilio error code", quoteInput(code))
		}
		st.ErrorCode = n
	}
	st.To, st.From = printable(st.To, 64), printable(st.From, 64)
	return st, nil
}

// statusCallbackURL is base with the message's key added as
// CallbackKeyParam, before any fragment.
func statusCallbackURL(base, key string) string {
	if key == "" {
		return base
	}
	frag := ""
	if i := strings.IndexByte(base, '#'); i >= 0 {
		base, frag = base[:i], base[i:]
	}
	sep := "&"
	switch {
	case !strings.Contains(base, "?"):
		sep = "?"
	case strings.HasSuffix(base, "?") || strings.HasSuffix(base, "&"):
		sep = ""
	}
	return base + sep + CallbackKeyParam + "=" + url.QueryEscape(key) + frag
}
