package notifypg

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations"
	"github.com/siteadmin/integrations/notify"
)

// encodeLikeEnqueue writes m as Enqueue stores it.
func encodeLikeEnqueue(t testing.TB, m notify.Message) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(m))
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

func decodeSeeds(t testing.TB) [][]byte {
	msgs := []notify.Message{
		{Email: &notify.Email{Kind: notify.KindPasswordReset, To: "a@example.com", Subject: "Réinitialiser", Text: "line 1\nline \"2\"\t\\",
			HTML: `<p class="x">a & b</p>`, Headers: map[string]string{"X-A": "1", "X-B": ""}, Key: "k1"},
			Sensitive: []integrations.Secret{"https://x/reset?t=1", "\u2028"}, Attempts: 3, Lease: "l"},
		{SMS: &notify.SMS{Kind: notify.KindTwoFactorCode, To: "+15005550006", Body: "Your code: 123456 \U0001F600", Key: "k2"}},
		{Email: &notify.Email{Key: "k3", Headers: map[string]string{}}, Sensitive: []integrations.Secret{}},
	}
	var seeds [][]byte
	for _, m := range msgs {
		seeds = append(seeds, encodeLikeEnqueue(t, m))
		b, err := json.Marshal(m)
		require.NoError(t, err)
		seeds = append(seeds, b)
	}
	for _, s := range []string{
		`{}`, `null`, `[]`, `{"email":null,"sms":null,"sensitive":null}`,
		`{"email":{"Key":"a"},"email":{"To":"b"}}`,            // merged by encoding/json
		`{"email":{"Headers":{"a":"1"},"Headers":{"b":"2"}}}`, // merged too
		`{"EMAIL":{"key":"a"}}`,                               // case-insensitive keys
		`{"email":{"Key":"a","Other":1}}`,                     // unknown keys
		`{"attempts":-1}`, `{"attempts":1e2}`, `{"attempts":01}`, `{"attempts":null}`,
		`{"email":{"To":"\ud83d\ude00 \u00e9 \/"}}`, // escapes and surrogates
		"{\"email\":{\"To\":\"\xff\"}}",             // invalid UTF-8
		"{\"email\":{\"To\":\"a\x01\"}}",            // control character
		`{"email":{"To":"a"}} x`, ` { "sms" : { "Body" : "b" } } `, `{"sensitive":["a",]}`,
		`{"email":{"To":null}}`, `{"email":{"Headers":{"a":null}}}`, `{"lease":"\"}`,
	} {
		seeds = append(seeds, []byte(s))
	}
	return seeds
}

// The fast path decodes what Enqueue writes without falling back, and to
// what encoding/json decodes.
func TestDecodeMessageFastPath(t *testing.T) {
	t.Parallel()
	for i, raw := range decodeSeeds(t) {
		var want, got notify.Message
		wantErr := json.Unmarshal(raw, &want)
		err := decodeMessage(raw, &got)
		if wantErr != nil {
			assert.Error(t, err, "%d: %s", i, raw)
			continue
		}
		require.NoError(t, err, "%d: %s", i, raw)
		assert.Equal(t, want, got, "%d: %s", i, raw)
	}
	m := notify.Message{Email: &notify.Email{Kind: notify.KindInvitation, To: "b@example.com", Subject: "s", Text: "t", HTML: "<b>h</b>", Key: "k"}}
	var d decoder
	d.b = encodeLikeEnqueue(t, m)
	var got notify.Message
	require.True(t, d.message(&got) && d.end(), "what Enqueue writes takes the fast path")
	assert.Equal(t, m, got)
}

// FuzzDecodeMessage holds the fast path to encoding/json's answer for any
// input: the same error or no error, and the same message.
func FuzzDecodeMessage(f *testing.F) {
	for _, s := range decodeSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var want, got notify.Message
		wantErr := json.Unmarshal(raw, &want)
		err := decodeMessage(raw, &got)
		if (wantErr == nil) != (err == nil) {
			t.Fatalf("%q: encoding/json says %v, decodeMessage %v", raw, wantErr, err)
		}
		if err == nil {
			assert.Equal(t, want, got, "%q", raw)
		}
	})
}

func BenchmarkDecodeMessage(b *testing.B) {
	raw := encodeLikeEnqueue(b, notify.Message{Email: &notify.Email{Kind: notify.KindPasswordReset, To: "user000001@example.com",
		Subject: "Reset your password", Text: "Hello,\n\nOpen this link within 30 minutes:\n\nhttps://app.example.com/reset?token=0123\n",
		HTML: `<p>Hello,</p><p>Open <a href="https://app.example.com/reset?token=0123">this link</a> within 30 minutes.</p>`, Key: "bench-1"},
		Sensitive: []integrations.Secret{"https://app.example.com/reset?token=0123"}})
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var m notify.Message
			if err := decodeMessage(raw, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var m notify.Message
			if err := json.Unmarshal(raw, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
}
