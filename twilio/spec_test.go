package twilio_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/twilio"
	"github.com/siteadmin/integrations/twilio/twiliotest"
)

// The parts of Twilio's OpenAPI description (testdata/twilio_api_v2010.json)
// that the tests below read.
type openAPI struct {
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas         map[string]schema `json:"schemas"`
		SecuritySchemes map[string]struct {
			Type   string `json:"type"`
			Scheme string `json:"scheme"`
		} `json:"securitySchemes"`
	} `json:"components"`
}

type operation struct {
	OperationID string                `json:"operationId"`
	Parameters  []parameter           `json:"parameters"`
	Security    []map[string][]string `json:"security"`
	RequestBody struct {
		Content map[string]struct {
			Schema schema `json:"schema"`
		} `json:"content"`
	} `json:"requestBody"`
	Responses map[string]struct {
		Content map[string]struct {
			Schema   schema `json:"schema"`
			Examples map[string]struct {
				Value json.RawMessage `json:"value"`
			} `json:"examples"`
		} `json:"content"`
	} `json:"responses"`
}

type parameter struct {
	Name     string `json:"name"`
	In       string `json:"in"`
	Required bool   `json:"required"`
	Schema   schema `json:"schema"`
}

type schema struct {
	Ref        string            `json:"$ref"`
	Type       string            `json:"type"`
	Format     string            `json:"format"`
	Pattern    string            `json:"pattern"`
	MinLength  *int              `json:"minLength"`
	MaxLength  *int              `json:"maxLength"`
	Nullable   bool              `json:"nullable"`
	Enum       []string          `json:"enum"`
	Properties map[string]schema `json:"properties"`
	Required   []string          `json:"required"`
}

const messagesPath = "/2010-04-01/Accounts/{AccountSid}/Messages.json"

func loadSpec(t *testing.T) (openAPI, operation) {
	t.Helper()
	data, err := os.ReadFile("testdata/twilio_api_v2010.json")
	require.NoError(t, err)
	var spec openAPI
	require.NoError(t, json.Unmarshal(data, &spec))
	raw, ok := spec.Paths[messagesPath]["post"]
	require.True(t, ok, "the description has POST %s", messagesPath)
	var op operation
	require.NoError(t, json.Unmarshal(raw, &op))
	require.Equal(t, "CreateMessage", op.OperationID)
	return spec, op
}

// resolve follows a "#/components/schemas/NAME" reference.
func (spec openAPI) resolve(t *testing.T, s schema) schema {
	t.Helper()
	if s.Ref == "" {
		return s
	}
	name, ok := strings.CutPrefix(s.Ref, "#/components/schemas/")
	require.True(t, ok, s.Ref)
	target, ok := spec.Components.Schemas[name]
	require.True(t, ok, s.Ref)
	return target
}

// checkString checks a value against a string schema's constraints.
func checkString(t *testing.T, name, value string, s schema) {
	t.Helper()
	assert.Equal(t, "string", s.Type, name)
	if s.Pattern != "" {
		assert.Regexp(t, regexp.MustCompile(s.Pattern), value, name)
	}
	if s.MinLength != nil {
		assert.GreaterOrEqual(t, len(value), *s.MinLength, name)
	}
	if s.MaxLength != nil {
		assert.LessOrEqual(t, len(value), *s.MaxLength, name)
	}
	if len(s.Enum) > 0 {
		assert.Contains(t, s.Enum, value, name)
	}
	switch s.Format {
	case "phone-number":
		assert.NoError(t, twilio.ValidateE164(value), name)
	case "uri":
		u, err := url.Parse(value)
		if assert.NoError(t, err, name) {
			assert.True(t, u.IsAbs() && u.Host != "", "%s: %q is an absolute URI", name, value)
		}
	}
}

// captured is one request as the recording server saw it.
type captured struct {
	method, path, contentType, user, pass string
	form                                  url.Values
}

// TestRequestsMatchTheSpec sends every kind of request the client makes and
// checks each against CreateMessage: the path and its AccountSid pattern,
// the content type, Basic auth, and that every form field is declared, has
// a value its schema allows, and that the required ones are there.
func TestRequestsMatchTheSpec(t *testing.T) {
	t.Parallel()
	spec, op := loadSpec(t)

	form, ok := op.RequestBody.Content["application/x-www-form-urlencoded"]
	require.True(t, ok, "CreateMessage takes a form")
	declared := form.Schema.Properties
	require.Contains(t, declared, "To")

	var accountSID schema
	for _, p := range op.Parameters {
		if p.Name == "AccountSid" && p.In == "path" {
			accountSID = p.Schema
		}
	}
	require.NotEmpty(t, accountSID.Pattern)
	require.Len(t, op.Security, 1)
	for name := range op.Security[0] {
		assert.Equal(t, "basic", spec.Components.SecuritySchemes[name].Scheme)
	}

	var mu sync.Mutex
	var got []captured
	example := op.Responses["201"].Content["application/json"].Examples["create"].Value
	require.NotEmpty(t, example)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		require.NoError(t, r.ParseForm())
		mu.Lock()
		got = append(got, captured{r.Method, r.URL.Path, r.Header.Get("Content-Type"), user, pass, r.PostForm})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(example)
	}))
	t.Cleanup(srv.Close)

	base := twilio.Settings{Enabled: true, AccountSID: twiliotest.AccountSID, AuthToken: twiliotest.AuthToken,
		FromNumber: twiliotest.FromNumber, BaseURL: srv.URL}
	withService := base
	withService.FromNumber, withService.MessagingServiceSID = "", twiliotest.MessagingServiceSID
	withKey := base
	withKey.APIKeySID, withKey.APIKeySecret = twiliotest.APIKeySID, twiliotest.APIKeySecret
	for _, tc := range []struct {
		settings twilio.Settings
		cfg      twilio.Config
	}{
		{base, twilio.Config{}},
		{base, twilio.Config{StatusCallback: "https://app.example.com/hooks/twilio?tenant=1"}},
		{withService, twilio.Config{}},
		{withKey, twilio.Config{}},
	} {
		c := newClient(t, tc.settings, tc.cfg)
		_, err := c.Send(t.Context(), notify.SMS{To: recipient, Body: "Code: 123456 – ünïcödé 👍 & = +"})
		require.NoError(t, err)
		_, err = c.SendTest(t.Context(), recipient)
		require.NoError(t, err)
	}

	require.Len(t, got, 8)
	pathRE := regexp.MustCompile(`^/2010-04-01/Accounts/([^/]+)/Messages\.json$`)
	for _, req := range got {
		assert.Equal(t, http.MethodPost, req.method)
		m := pathRE.FindStringSubmatch(req.path)
		if assert.NotNil(t, m, req.path) {
			checkString(t, "AccountSid", m[1], accountSID)
		}
		assert.Equal(t, "application/x-www-form-urlencoded", req.contentType)
		assert.NotEmpty(t, req.user)
		assert.NotEmpty(t, req.pass)
		for _, name := range form.Schema.Required {
			assert.NotEmpty(t, req.form.Get(name), "required field %s", name)
		}
		for name, values := range req.form {
			prop, ok := declared[name]
			if !assert.True(t, ok, "field %s is declared for CreateMessage", name) {
				continue
			}
			require.Len(t, values, 1, name)
			checkString(t, name, values[0], spec.resolve(t, prop))
		}
		assert.True(t, req.form.Has("From") != req.form.Has("MessagingServiceSid"), "From or MessagingServiceSid: %v", req.form)
	}
}

// TestSpecExamplesParse serves each of CreateMessage's example 201
// responses and checks the client reads it into a Receipt.
func TestSpecExamplesParse(t *testing.T) {
	t.Parallel()
	_, op := loadSpec(t)
	examples := op.Responses["201"].Content["application/json"].Examples
	require.NotEmpty(t, examples)
	for name, ex := range examples {
		var want struct {
			SID         string  `json:"sid"`
			Status      string  `json:"status"`
			NumSegments string  `json:"num_segments"`
			To          *string `json:"to"`
		}
		require.NoError(t, json.Unmarshal(ex.Value, &want), name)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write(ex.Value)
		}))
		s := twilio.Settings{Enabled: true, AccountSID: twiliotest.AccountSID, AuthToken: twiliotest.AuthToken, FromNumber: twiliotest.FromNumber, BaseURL: srv.URL}
		rec, err := newClient(t, s, twilio.Config{}).Send(t.Context(), code2FA(recipient))
		srv.Close()
		require.NoError(t, err, name)
		assert.Equal(t, want.SID, rec.SID, name)
		assert.Equal(t, want.Status, rec.Status, name)
		segments, err := strconv.Atoi(want.NumSegments)
		require.NoError(t, err, name)
		assert.Equal(t, segments, rec.Segments, name)
		if want.To != nil {
			assert.Equal(t, *want.To, rec.To, name)
		}
	}
}

// TestFakeAnswersMatchTheSpec checks that twiliotest's 201 has the shape of
// the spec's message resource: only declared properties, each of its
// declared type (num_segments a string), enums respected.
func TestFakeAnswersMatchTheSpec(t *testing.T) {
	t.Parallel()
	spec, op := loadSpec(t)
	resource := spec.resolve(t, op.Responses["201"].Content["application/json"].Schema)
	require.NotEmpty(t, resource.Properties)

	srv := newServer(t)
	for _, s := range []twilio.Settings{srv.Settings(), func() twilio.Settings {
		s := srv.Settings()
		s.FromNumber, s.MessagingServiceSID = "", twiliotest.MessagingServiceSID
		return s
	}()} {
		s.BaseURL = srv.URL
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/2010-04-01/Accounts/"+twiliotest.AccountSID+"/Messages.json",
			strings.NewReader(url.Values{"To": {recipient}, "Body": {"hi"}, "From": {s.FromNumber}, "MessagingServiceSid": {s.MessagingServiceSID}}.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(twiliotest.AccountSID, twiliotest.AuthToken)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		var body map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
		resp.Body.Close()
		require.Equal(t, http.StatusCreated, resp.StatusCode, "%v", body)

		for name, v := range body {
			prop, ok := resource.Properties[name]
			if !assert.True(t, ok, "property %s is declared", name) {
				continue
			}
			prop = spec.resolve(t, prop)
			switch v := v.(type) {
			case nil:
				assert.True(t, prop.Nullable || prop.Type == "", "%s may be null", name)
			case string:
				checkString(t, name, v, prop)
			case float64:
				assert.Equal(t, "integer", prop.Type, name)
			case map[string]any:
				assert.Equal(t, "object", prop.Type, name)
			default:
				t.Errorf("%s: unexpected %T", name, v)
			}
		}
	}
}
