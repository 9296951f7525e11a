package twilio

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/siteadmin/integrations"
)

// FuzzStatusCallback feeds the verifier hostile queries, headers and
// bodies. It must never panic, must answer every refusal with a
// *WebhookError, and must accept only what the configured key signed.
func FuzzStatusCallback(f *testing.F) {
	const token = "fuzz-token"
	h, err := NewStatusHandler(StatusHandlerConfig{
		URL:        "https://app.example.com/hook?t=1",
		AuthToken:  token,
		SharedKeys: []SharedKey{{ID: "KS1", Secret: "shared", Algorithm: HMACSHA256}},
		OnStatus:   func(context.Context, Status) error { return nil },
		Now:        func() time.Time { return time.Unix(1e9, 0) },
	})
	if err != nil {
		f.Fatal(err)
	}
	form := url.Values{"MessageSid": {"SM0123456789abcdef0123456789abcdef"}, "MessageStatus": {"undelivered"}, "ErrorCode": {"30003"}}
	query := "t=1&notify_key=two_factor_code.00ff.1"
	sig, _ := Signature(HMACSHA1, token, "https://app.example.com/hook?"+query, form)
	sig256, _ := Signature(HMACSHA256, "shared", "https://app.example.com/hook?"+query, form)
	body := `{"MessageSid":"SM0123456789abcdef0123456789abcdef","MessageStatus":"sent"}`
	sum := sha256.Sum256([]byte(body))
	jsonQuery := query + "&bodySHA256=" + hex.EncodeToString(sum[:])
	jsonSig, _ := Signature(HMACSHA1, token, "https://app.example.com/hook?"+jsonQuery, nil)
	formCT := "application/x-www-form-urlencoded"

	f.Add(query, formCT, sig, "", form.Encode())
	f.Add(query, formCT+"; charset=utf-8", sig256, "key=KS1,algorithm=HMAC_SHA256", form.Encode())
	f.Add(jsonQuery, "application/json", jsonSig, "", body)
	f.Add(query, formCT, sig, "key=KS1,algorithm=HMAC_SHA1", form.Encode())
	f.Add("t=1;x", formCT, sig, "", "a=%zz&&=")
	f.Add("", "", "", "", "")
	f.Add(query+"&bodySHA256=00", "application/json", jsonSig, "key=,algorithm=", "null")
	f.Add(query, formCT, "====", "key=KS1,algorithm=HMAC_SHA256,key=KS1", "MessageSid=SM&MessageSid=SM")

	f.Fuzz(func(t *testing.T, query, contentType, signature, settings, body string) {
		req := webhookRequest{query: query, contentType: contentType, body: []byte(body)}
		if signature != "" {
			req.signature = []string{signature}
		}
		if settings != "" {
			req.settings = []string{settings}
		}
		st, err := h.verify(req)
		if err != nil {
			var we *WebhookError
			if !errors.As(err, &we) || we.Status < 400 {
				t.Fatalf("refusal %v is not a *WebhookError with a 4xx status", err)
			}
			return
		}
		if !validSID(st.MessageSID, "SM") && !validSID(st.MessageSID, "MM") || st.Status == "" {
			t.Fatalf("accepted an invalid status %+v", st)
		}
		if !signedByConfiguredKey(query, signature, body, token) {
			t.Fatalf("accepted a request no configured key signed: query %q settings %q", query, settings)
		}
	})
}

// signedByConfiguredKey recomputes, independently of verify's loop,
// whether one of the fuzz handler's keys signed the request.
func signedByConfiguredKey(query, signature, body, token string) bool {
	var params url.Values
	if q, err := url.ParseQuery(query); err != nil || !q.Has(BodySHA256Param) {
		params, _ = url.ParseQuery(body)
	}
	for _, host := range []string{"app.example.com", "app.example.com:443"} {
		full := "https://" + host + "/hook?" + query
		for _, k := range []struct {
			alg Algorithm
			key integrations.Secret
		}{{HMACSHA1, integrations.Secret(token)}, {HMACSHA256, "shared"}} {
			s, _ := Signature(k.alg, k.key, full, params)
			want, _ := base64.StdEncoding.DecodeString(s)
			got, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(signature))
			if bytes.Equal(want, got) {
				return true
			}
		}
	}
	return false
}

func FuzzParseSignatureSettings(f *testing.F) {
	for _, s := range []string{"key=KS1,algorithm=HMAC_SHA256", "algorithm=hmac_sha1,key=a", "key==,algorithm==", ",,,", "key=a,key=b", "=\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		id, alg, err := ParseSignatureSettings(v)
		if err == nil && (id == "" || alg != HMACSHA1 && alg != HMACSHA256) {
			t.Fatalf("accepted %q as key %q, algorithm %q", v, id, alg)
		}
	})
}
