package twilio

import (
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseReceipt(t *testing.T) {
	t.Parallel()
	const sid = "SM0123456789abcdef0123456789abcdef"
	tests := []struct {
		name    string
		body    string
		want    Receipt
		wantErr string
	}{
		{"segments as a string", `{"sid":"` + sid + `","status":"queued","num_segments":"2","error_code":null,"to":"+14155550100","from":"+15005550006","messaging_service_sid":null}`,
			Receipt{SID: sid, Status: "queued", Segments: 2, To: "+14155550100", From: "+15005550006"}, ""},
		{"segments as a number", `{"sid":"` + sid + `","num_segments":3}`, Receipt{SID: sid, Segments: 3}, ""},
		{"segments null", `{"sid":"` + sid + `","num_segments":null}`, Receipt{SID: sid}, ""},
		{"segments empty string", `{"sid":"` + sid + `","num_segments":""}`, Receipt{SID: sid}, ""},
		{"error code as a string", `{"sid":"` + sid + `","error_code":"30007","error_message":"filtered"}`, Receipt{SID: sid, ErrorCode: 30007, ErrorMessage: "filtered"}, ""},
		{"extra fields ignored", `{"sid":"` + sid + `","price":null,"subresource_uris":{"media":"/x"}}`, Receipt{SID: sid}, ""},
		{"segments not a number reads as 0", `{"sid":"` + sid + `","num_segments":"two"}`, Receipt{SID: sid}, ""},
		{"segments a float reads as 0", `{"sid":"` + sid + `","num_segments":1.5}`, Receipt{SID: sid}, ""},
		{"segments an object reads as 0", `{"sid":"` + sid + `","num_segments":{"a":1}}`, Receipt{SID: sid}, ""},
		{"no sid", `{"status":"queued"}`, Receipt{Status: "queued"}, ""},
		{"sid not a string", `{"sid":42,"status":"sent"}`, Receipt{Status: "sent"}, ""},
		{"not JSON", `<html>ok</html>`, Receipt{}, "not Twilio's JSON"},
		{"empty", ``, Receipt{}, "not Twilio's JSON"},
		{"null", `null`, Receipt{}, "not Twilio's JSON"},
		{"array", `[{"sid":"x"}]`, Receipt{}, "not Twilio's JSON"},
		{"control characters quoted", "\x1b[2J<html>", Receipt{}, `"[2J<html>"`},
	}
	for _, tt := range tests {
		got, err := parseReceipt([]byte(tt.body), redactor{})
		if tt.wantErr != "" {
			assert.ErrorContains(t, err, tt.wantErr, tt.name)
			continue
		}
		require.NoError(t, err, tt.name)
		assert.Equal(t, tt.want, got, tt.name)
	}
}

func TestParseError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		body   string
		want   Error
	}{
		{"twilio JSON", 400, `{"code": 21211, "message": "The 'To' number 123 is not a valid phone number.", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}`,
			Error{Status: 400, Code: 21211, Message: "The 'To' number 123 is not a valid phone number.", MoreInfo: "https://www.twilio.com/docs/errors/21211"}},
		{"code as a string", 401, `{"code":"20003","message":"Authenticate"}`, Error{Status: 401, Code: 20003, Message: "Authenticate"}},
		{"HTTP status wins over the JSON's", 429, `{"code":20429,"message":"Too Many Requests","status":400}`, Error{Status: 429, Code: 20429, Message: "Too Many Requests"}},
		{"HTML", 502, "<html>\r\n<body>Bad Gateway</body>\n</html>", Error{Status: 502, Body: "<html> <body>Bad Gateway</body> </html>"}},
		{"JSON of another shape", 400, `{"error":"bad"}`, Error{Status: 400, Body: `{"error":"bad"}`}},
		{"empty", 503, ``, Error{Status: 503}},
		{"control characters and bidi overrides", 400, "{\"code\":1,\"message\":\"a\\u001b[31m\\u202eb\\r\\nForged: yes\"}", Error{Status: 400, Code: 1, Message: "a [31m b Forged: yes"}},
		{"invalid UTF-8", 500, "oops\xff\xfe", Error{Status: 500, Body: "oops"}},
		{"code not a number", 400, `{"code":"abc","message":"m"}`, Error{Status: 400, Message: "m"}},
		{"message not a string", 400, `{"code":5,"message":["m"]}`, Error{Status: 400, Code: 5}},
	}
	for _, tt := range tests {
		got := parseError(tt.status, []byte(tt.body), redactor{})
		assert.Equal(t, tt.want, *got, tt.name)
	}

	long := parseError(502, []byte(strings.Repeat("é", 10000)), redactor{})
	assert.LessOrEqual(t, len(long.Body), 200)
	assert.True(t, strings.HasPrefix(long.Body, "éé"), "cut on a character boundary")
}

func TestErrorText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  Error
		want []string
	}{
		{Error{Status: 400, Code: 21211, Message: "The 'To' number 123 is not a valid phone number.", MoreInfo: "https://www.twilio.com/docs/errors/21211"},
			[]string{"HTTP 400 Bad Request", "error 21211", "not a valid phone number", "E.164", "https://www.twilio.com/docs/errors/21211"}},
		{Error{Status: 400, Code: 21608, Message: "unverified"}, []string{"21608", "trial account", "Verified Caller IDs"}},
		{Error{Status: 400, Code: 21610, Message: "Attempt to send to unsubscribed recipient"}, []string{"21610", "STOP", "START"}},
		{Error{Status: 401, Code: 20003, Message: "Authenticate"}, []string{"HTTP 401", "20003", "Account SID and Auth Token"}},
		{Error{Status: 401}, []string{"HTTP 401", "Account SID and Auth Token"}},
		{Error{Status: 429, Code: 20429, Attempts: 4}, []string{"HTTP 429", "rate", "after 4 attempts"}},
		{Error{Status: 502, Body: "<html>Bad Gateway</html>"}, []string{"HTTP 502", "not Twilio's JSON", `"<html>Bad Gateway</html>"`, "may or may not have been sent"}},
		{Error{Status: 404, Body: "404 page not found"}, []string{"HTTP 404", "base URL"}},
		{Error{Status: 302}, []string{"HTTP 302", "base URL"}},
	}
	for _, tt := range tests {
		msg := tt.err.Error()
		for _, w := range tt.want {
			assert.Contains(t, msg, w)
		}
	}
}

func FuzzParseReceipt(f *testing.F) {
	for _, s := range []string{`{"sid":"SMx","num_segments":"1"}`, `{"sid":"SMx","num_segments":2,"error_code":"3"}`, `{}`, `null`, `[`, `{"sid":null}`, `{"num_segments":"99999999999999999999999"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := parseReceipt(data, redactor{})
		if err != nil && r != (Receipt{}) {
			t.Fatalf("an error with a receipt: %+v", r)
		}
		if err != nil && strings.ContainsAny(err.Error(), "\r\n\x00") {
			t.Fatalf("control characters in %q", err.Error())
		}
	})
}

func FuzzParseError(f *testing.F) {
	f.Add(400, []byte(`{"code":21211,"message":"m","more_info":"u","status":400}`))
	f.Add(502, []byte("<html>\r\n</html>"))
	f.Add(429, []byte(`{"code":"20429"}`))
	f.Add(500, []byte("\x00\xff\u202e"))
	f.Fuzz(func(t *testing.T, status int, data []byte) {
		e := parseError(status, data, redactor{})
		if e.Status != status || len(e.Body) > 200 || len(e.Message) > 1000 || len(e.MoreInfo) > 300 {
			t.Fatalf("%+v", e)
		}
		for _, s := range []string{e.Message, e.MoreInfo, e.Body, e.Error()} {
			for _, r := range s {
				if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
					t.Fatalf("control character %U in %q", r, s)
				}
			}
		}
	})
}
