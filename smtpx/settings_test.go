package smtpx_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/smtpx"
)

func validSettings() smtpx.Settings {
	return smtpx.Settings{
		Enabled:        true,
		Sender:         "noreply@example.com",
		Host:           "smtp.example.com",
		Port:           587,
		Authentication: smtpx.AuthLogin,
		Username:       "app",
		Password:       "hunter2-hunter2",
	}
}

// problems returns field -> problem for every *FieldError in err.
func problems(err error) map[string]string {
	out := map[string]string{}
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return out
	}
	for _, e := range j.Unwrap() {
		var fe *smtpx.FieldError
		if errors.As(e, &fe) {
			out[fe.Field] = fe.Problem
		}
	}
	return out
}

func TestValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		edit func(*smtpx.Settings)
		want map[string]string // field -> part of the problem
	}{
		{"valid", func(s *smtpx.Settings) {}, nil},
		{"valid without auth", func(s *smtpx.Settings) {
			s.Authentication, s.Username, s.Password = smtpx.AuthNone, "", ""
		}, nil},
		{"empty authentication means none", func(s *smtpx.Settings) {
			s.Authentication, s.Username, s.Password = "", "", ""
		}, nil},
		{"disabled accepts anything", func(s *smtpx.Settings) { *s = smtpx.Settings{Port: -1} }, nil},
		{"display name", func(s *smtpx.Settings) { s.Sender = "Site Admin <noreply@example.com>" }, map[string]string{"sender": "without angle brackets or a display name"}},
		{"angle brackets", func(s *smtpx.Settings) { s.Sender = "<noreply@example.com>" }, map[string]string{"sender": "angle brackets"}},
		{"quoted name", func(s *smtpx.Settings) { s.Sender = `"Site" noreply@example.com` }, map[string]string{"sender": "bare address"}},
		{"comment", func(s *smtpx.Settings) { s.Sender = "noreply@example.com(Site)" }, map[string]string{"sender": "bare address"}},
		{"CRLF in sender", func(s *smtpx.Settings) { s.Sender = "a@example.com\r\nBcc: x@y" }, map[string]string{"sender": "line breaks"}},
		{"no sender", func(s *smtpx.Settings) { s.Sender = "" }, map[string]string{"sender": "required"}},
		{"everything wrong at once", func(s *smtpx.Settings) {
			*s = smtpx.Settings{Enabled: true, Sender: "nobody", Host: "smtp.example.com:587", Port: 0,
				Authentication: "cram-md5", TLS: "ssl"}
		}, map[string]string{"sender": "not a valid email address", "host": "port field", "port": "between 1 and 65535",
			"authentication": `"none", "plain" or "login"`, "tls": `"starttls", "tls" or "none"`}},
		{"auth without credentials", func(s *smtpx.Settings) { s.Username, s.Password = "", "" },
			map[string]string{"username": "required when authentication is login", "password": "required"}},
		{"no host", func(s *smtpx.Settings) { s.Host = "" }, map[string]string{"host": "required"}},
		{"URL as host", func(s *smtpx.Settings) { s.Host = "smtp://smtp.example.com" }, map[string]string{"host": "without a scheme"}},
		{"bracketed IPv6", func(s *smtpx.Settings) { s.Host = "[2001:db8::25]" }, map[string]string{"host": "without brackets"}},
		{"port too big", func(s *smtpx.Settings) { s.Port = 65536 }, map[string]string{"port": "between 1 and 65535"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := validSettings()
			tc.edit(&s)
			err := s.Validate()
			if tc.want == nil {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			got := problems(err)
			assert.Len(t, got, len(tc.want), "%v", got)
			for field, part := range tc.want {
				assert.Contains(t, got[field], part, field)
			}
			assert.NotContains(t, err.Error(), "hunter2")
		})
	}
}

func TestSettingsJSON(t *testing.T) {
	t.Parallel()
	s := validSettings()
	s.TLS = smtpx.TLSImplicit
	data, err := json.Marshal(s)
	require.NoError(t, err)
	assert.JSONEq(t, `{"enabled":true,"sender":"noreply@example.com","host":"smtp.example.com","port":587,
		"authentication":"login","username":"app","password":"hunter2-hunter2","tls":"tls"}`, string(data),
		"JSON is the storage format and keeps the password")
	var back smtpx.Settings
	require.NoError(t, json.Unmarshal(data, &back))
	assert.Equal(t, s, back)
}
