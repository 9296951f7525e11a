package notify_test

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/notify"
)

const hostile = "<script>alert(1)</script>\r\nBcc: victim@example.com"

func TestRenderEveryKind(t *testing.T) {
	t.Parallel()
	f := newFixture(t, notify.Config{SiteName: "Acme Cloud"})
	expires := time.Date(2030, 3, 4, 5, 6, 0, 0, time.UTC)
	tests := []struct {
		data        notify.Data
		to          string
		subject     string   // for email kinds
		contains    []string // in the text body (or the SMS body)
		htmlHas     []string
		notInAnyOut []string
	}{
		{
			data:     notify.Invitation{Inviter: "Alice Smith", Organization: "Acme", Team: "Ops", AcceptURL: "https://app.example.com/accept?t=1&u=2", ExpiresAt: expires},
			to:       "bob@example.com",
			subject:  "Alice Smith invited you to join Acme on Acme Cloud",
			contains: []string{"Alice Smith has invited you", "organization Acme, team Ops, on Acme Cloud", "https://app.example.com/accept?t=1&u=2", "expires on 2030-03-04 05:06 UTC"},
			htmlHas:  []string{`<a href="https://app.example.com/accept?t=1&amp;u=2">`, "<strong>Alice Smith</strong>"},
		},
		{
			data:        notify.Invitation{Organization: "Acme", AcceptURL: "https://app.example.com/accept"},
			to:          "bob@example.com",
			subject:     "You are invited to join Acme on Acme Cloud",
			contains:    []string{"You have been invited"},
			notInAnyOut: []string{"expires"},
		},
		{
			data:     notify.PasswordReset{User: "bob", ResetURL: "https://app.example.com/reset/abc", ExpiresAt: expires, RequestedFrom: "192.0.2.7"},
			to:       "bob@example.com",
			subject:  "Reset your password on Acme Cloud",
			contains: []string{"Hello bob,", "(from 192.0.2.7)", "https://app.example.com/reset/abc", "2030-03-04 05:06 UTC"},
			htmlHas:  []string{`href="https://app.example.com/reset/abc"`},
		},
		{
			data:     notify.SystemError{Component: "SAML", Summary: "IdP certificate expired", Details: "line one\nline two", OccurredAt: expires, URL: "https://app.example.com/admin/saml"},
			to:       "admin@example.com",
			subject:  "[SAML] IdP certificate expired",
			contains: []string{"SAML failed on Acme Cloud at 2030-03-04 05:06 UTC", "line one\nline two", "https://app.example.com/admin/saml"},
			htmlHas:  []string{"<pre>line one\nline two</pre>"},
		},
		{
			data: notify.ExpiryWarning{
				Component: "SAML single sign-on", Item: `the IdP signing certificate "idp.example.com" (serial 42)`,
				ExpiresAt: expires, DaysLeft: 7, Action: "Ask the IdP's admin for its next certificate.",
				URL: "https://app.example.com/admin/saml?tab=1&x=2",
			},
			to:      "admin@example.com",
			subject: `[SAML single sign-on] the IdP signing certificate "idp.example.com" (serial 42) expires on 2030-03-04 05:06 UTC`,
			contains: []string{
				`SAML single sign-on on Acme Cloud depends on the IdP signing certificate "idp.example.com" (serial 42), which expires on 2030-03-04 05:06 UTC, in 7 days.`,
				"What to do:\nAsk the IdP's admin for its next certificate.", "Look at it here: https://app.example.com/admin/saml?tab=1&x=2",
			},
			htmlHas:     []string{`<a href="https://app.example.com/admin/saml?tab=1&amp;x=2">`, "the IdP signing certificate &#34;idp.example.com&#34; (serial 42)", "in 7 days"},
			notInAnyOut: []string{"expired"},
		},
		{
			data:        notify.ExpiryWarning{Component: "SAML", Item: "the SP certificate", ExpiresAt: expires, DaysLeft: 1, Action: "Rotate it."},
			to:          "admin@example.com",
			subject:     "[SAML] the SP certificate expires on 2030-03-04 05:06 UTC",
			contains:    []string{"which expires on 2030-03-04 05:06 UTC, in 1 day.", "Rotate it."},
			notInAnyOut: []string{"Look at it", "1 days"},
		},
		{
			data:     notify.ExpiryWarning{Component: "SAML", Item: "the IdP metadata", ExpiresAt: expires, DaysLeft: 0, Action: "Refresh it."},
			to:       "admin@example.com",
			subject:  "[SAML] the IdP metadata expires on 2030-03-04 05:06 UTC",
			contains: []string{"in less than a day."},
		},
		{
			data:        notify.ExpiryWarning{Component: "SAML", Item: "the IdP metadata", ExpiresAt: expires, DaysLeft: -2, Action: "Refresh it."},
			to:          "admin@example.com",
			subject:     "[SAML] the IdP metadata expired on 2030-03-04 05:06 UTC",
			contains:    []string{"which expired on 2030-03-04 05:06 UTC."},
			htmlHas:     []string{"<strong>expired on 2030-03-04 05:06 UTC</strong>"},
			notInAnyOut: []string{"expires", " in "},
		},
		{
			data:     notify.TestEmail{RequestedBy: "Carol"},
			to:       "carol@example.com",
			subject:  "Test email from Acme Cloud",
			contains: []string{"sent at the request of Carol"},
		},
		{
			data:     notify.TwoFactorCode{Code: "493817", ExpiresIn: 10 * time.Minute},
			to:       "+14155550100",
			contains: []string{"493817 is your Acme Cloud verification code. It expires in 10 minutes."},
		},
		{
			data:     notify.TestSMS{RequestedBy: "Carol"},
			to:       "+14155550100",
			contains: []string{"Test SMS from Acme Cloud, sent at the request of Carol."},
		},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprint(tt.data.Kind(), i), func(t *testing.T) {
			t.Parallel()
			msgs, rerrs, err := f.n.Render(tt.data, tt.to)
			require.NoError(t, err)
			require.Empty(t, rerrs)
			require.Len(t, msgs, 1)
			m := msgs[0]
			assert.Equal(t, tt.data.Kind(), m.Kind())
			assert.Equal(t, tt.to, m.To())
			assert.NotEmpty(t, m.Key())
			var outs []string
			if m.SMS != nil {
				assert.Nil(t, m.Email)
				for _, c := range tt.contains {
					assert.Contains(t, m.SMS.Body, c)
				}
				outs = []string{m.SMS.Body}
			} else {
				e := m.Email
				assert.Equal(t, tt.subject, e.Subject)
				for _, c := range tt.contains {
					assert.Contains(t, e.Text, c)
				}
				for _, c := range tt.htmlHas {
					assert.Contains(t, e.HTML, c)
				}
				assert.True(t, strings.HasPrefix(e.HTML, "<!DOCTYPE html>"))
				assert.Equal(t, "auto-generated", e.Headers["Auto-Submitted"])
				outs = []string{e.Subject, e.Text, e.HTML}
			}
			for _, out := range outs {
				for _, no := range tt.notInAnyOut {
					assert.NotContains(t, out, no)
				}
			}
		})
	}
}

func TestRenderEscapesHostileNames(t *testing.T) {
	t.Parallel()
	f := newFixture(t, notify.Config{SiteName: "Acme\r\nX-Evil: 1"})
	tests := []notify.Data{
		notify.Invitation{Inviter: hostile, Organization: hostile, Team: hostile, AcceptURL: "https://app.example.com/accept"},
		notify.PasswordReset{User: hostile, ResetURL: "https://app.example.com/reset", RequestedFrom: hostile},
		// Details keeps its line breaks by design; it is escaped in HTML.
		notify.SystemError{Component: hostile, Summary: hostile, Details: "<script>alert(1)</script>"},
		// Action is text the sender writes; it is escaped in HTML too.
		notify.ExpiryWarning{Component: hostile, Item: hostile, ExpiresAt: time.Now(), Action: "<script>alert(1)</script>"},
		notify.TestEmail{RequestedBy: hostile},
	}
	for _, d := range tests {
		t.Run(string(d.Kind()), func(t *testing.T) {
			t.Parallel()
			msgs, _, err := f.n.Render(d, "bob@example.com")
			require.NoError(t, err)
			require.Len(t, msgs, 1)
			e := msgs[0].Email
			assert.NotContains(t, e.Subject, "\r")
			assert.NotContains(t, e.Subject, "\n")
			assert.NotContains(t, e.HTML, "<script>", "html/template must escape names")
			assert.Contains(t, e.HTML, "&lt;script&gt;")
			assert.NotContains(t, e.HTML, "X-Evil: 1\r")
			// Names are folded onto one line in the text body too, so a
			// name cannot fake a paragraph or a header-looking line.
			for _, line := range strings.Split(e.Text, "\n") {
				assert.False(t, strings.HasPrefix(line, "Bcc:"), "line %q", line)
			}
			assert.True(t, utf8.ValidString(e.Subject))
		})
	}
}

func TestRenderRejectsBadData(t *testing.T) {
	t.Parallel()
	f := newFixture(t, notify.Config{})
	tests := []struct {
		name  string
		data  notify.Data
		field string
	}{
		{"javascript link", notify.Invitation{Organization: "Acme", AcceptURL: "javascript:alert(1)"}, "AcceptURL"},
		{"relative link", notify.PasswordReset{ResetURL: "/reset/abc"}, "ResetURL"},
		{"control character in link", notify.PasswordReset{ResetURL: "https://a.example.com/\r\nx"}, "ResetURL"},
		{"no organization", notify.Invitation{AcceptURL: "https://a.example.com/"}, "Organization"},
		{"no summary", notify.SystemError{Component: "SAML"}, "Summary"},
		{"data: link", notify.SystemError{Component: "SAML", Summary: "x", URL: "data:text/html,hi"}, "URL"},
		{"expiry without item", notify.ExpiryWarning{Component: "SAML", ExpiresAt: time.Now(), Action: "x"}, "Item"},
		{"expiry without time", notify.ExpiryWarning{Component: "SAML", Item: "x", Action: "x"}, "ExpiresAt"},
		{"expiry without action", notify.ExpiryWarning{Component: "SAML", Item: "x", ExpiresAt: time.Now()}, "Action"},
		{"expiry javascript link", notify.ExpiryWarning{Component: "SAML", Item: "x", ExpiresAt: time.Now(), Action: "x", URL: "javascript:alert(1)"}, "URL"},
		{"no code", notify.TwoFactorCode{}, "Code"},
		{"code with markup", notify.TwoFactorCode{Code: "12<b>"}, "Code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			to := "bob@example.com"
			if tt.data.Kind() == notify.KindTwoFactorCode {
				to = "+14155550100"
			}
			msgs, _, err := f.n.Render(tt.data, to)
			require.Error(t, err)
			assert.Empty(t, msgs)
			var fe *notify.FieldError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tt.field, fe.Field)
			assert.NotContains(t, err.Error(), "abc", "a link's token is not quoted back")
		})
	}
}

func TestRenderRecipients(t *testing.T) {
	t.Parallel()
	f := newFixture(t, notify.Config{})
	msgs, rerrs, err := f.n.Render(notify.TestEmail{},
		"a@example.com", "Bob <b@example.com>", "a@example.com", "c@example.com\r\nBcc: x@example.com", "d@example.com")
	require.NoError(t, err)
	require.Len(t, msgs, 2, "the duplicate and the two invalid addresses are left out")
	assert.Equal(t, "a@example.com", msgs[0].To())
	assert.Equal(t, "d@example.com", msgs[1].To())
	assert.NotEqual(t, msgs[0].Key(), msgs[1].Key())
	require.Len(t, rerrs, 2)
	for _, e := range rerrs {
		assert.ErrorIs(t, e, notify.ErrInvalidRecipient)
		assert.NotContains(t, e.Error(), "\r\n", "a hostile address is quoted, not printed raw")
	}

	_, rerrs, err = f.n.Render(notify.TestSMS{}, "+14155550100", "4155550100", "+0123456789", "+1415555010a")
	require.NoError(t, err)
	assert.Len(t, rerrs, 3)

	_, _, err = f.n.Render(notify.TestSMS{})
	assert.ErrorContains(t, err, "no recipients")
}

// The Notifier takes the numbers twilio.ValidateE164 takes (issue 4: "+",
// 2 to 15 digits, the first not 0), so it never refuses a number the
// transport would send to, nor passes one it would refuse.
func TestRenderSMSRecipientsFollowE164(t *testing.T) {
	t.Parallel()
	f := newFixture(t, notify.Config{})
	for _, tc := range []struct {
		to string
		ok bool
	}{
		{"+12", true},
		{"+441", true},
		{"+123456", true},
		{"+123456789012345", true},
		{"+14155550100", true},
		{"", false},
		{"+", false},
		{"+1", false},
		{"+1234567890123456", false},
		{"+0123456789", false},
		{"+02", false},
		{"12", false},
		{"+1 415", false},
		{"+1415\r\n", false},
	} {
		msgs, rerrs, err := f.n.Render(notify.TestSMS{}, tc.to)
		require.NoError(t, err, tc.to)
		if tc.ok {
			assert.Len(t, msgs, 1, "%q is E.164", tc.to)
			assert.Empty(t, rerrs, tc.to)
		} else {
			assert.Empty(t, msgs, "%q is not E.164", tc.to)
			require.Len(t, rerrs, 1, tc.to)
			assert.ErrorIs(t, rerrs[0], notify.ErrInvalidRecipient, tc.to)
		}
	}
}

func TestRenderKeysAreFreshAndSafe(t *testing.T) {
	t.Parallel()
	f := newFixture(t, notify.Config{Rand: nil})
	seen := map[string]bool{}
	for range 50 {
		msgs, _, err := f.n.Render(notify.TestEmail{}, "a@example.com", "b@example.com")
		require.NoError(t, err)
		for _, m := range msgs {
			k := m.Key()
			assert.False(t, seen[k], "key %s repeated", k)
			seen[k] = true
			for _, r := range k {
				assert.True(t, r == '.' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9', "key %q holds %q", k, r)
			}
		}
	}
}

func TestSMSLengthLimit(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", notify.MaxSMSLength) // characters, not bytes
	tests := []struct {
		name    string
		by      string
		wantErr bool
	}{
		{"short", "Carol", false},
		{"far too long", long, true},
	}
	f := newFixture(t, notify.Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := f.n.Render(notify.TestSMS{RequestedBy: tt.by}, "+14155550100")
			if tt.wantErr {
				assert.ErrorIs(t, err, notify.ErrTooLong)
				assert.ErrorContains(t, err, "limit is 1600")
			} else {
				assert.NoError(t, err)
			}
		})
	}

	// The limit counts characters: exactly MaxSMSLength is fine.
	body := strings.Repeat("é", notify.MaxSMSLength)
	g := newFixture(t, notify.Config{Templates: fstest.MapFS{"test_sms.txt": {Data: []byte(body)}}})
	msgs, _, err := g.n.Render(notify.TestSMS{}, "+14155550100")
	require.NoError(t, err)
	assert.Equal(t, notify.MaxSMSLength, utf8.RuneCountInString(msgs[0].SMS.Body))
	// A template that is always too long fails at construction.
	_, err = notify.New(notify.Config{SMSSender: g.sms, Templates: fstest.MapFS{"test_sms.txt": {Data: []byte(body + "x")}}})
	assert.ErrorIs(t, err, notify.ErrTooLong)
}

func TestSubjectIsFoldedAndCut(t *testing.T) {
	t.Parallel()
	f := newFixture(t, notify.Config{})
	msgs, _, err := f.n.Render(notify.SystemError{Component: "a\tb\r\n\r\nc\u2028d", Summary: strings.Repeat("x", 500)}, "a@example.com")
	require.NoError(t, err)
	s := msgs[0].Email.Subject
	assert.True(t, strings.HasPrefix(s, "[a b c d] xxx"), s)
	assert.Equal(t, notify.MaxSubjectLength, utf8.RuneCountInString(s))
	assert.True(t, strings.HasSuffix(s, "…"))
}

func TestTemplateOverrides(t *testing.T) {
	t.Parallel()
	overrides := fstest.MapFS{
		"invitation.subject.txt": {Data: []byte("Join {{.Organization}}\r\nBcc: x@example.com")},
		"invitation.html":        {Data: []byte(`<p>{{.Inviter}} <a href="{{.AcceptURL}}">go</a></p>`)},
		"two_factor_code.txt":    {Data: []byte("Code: {{.Code.Reveal}}")},
		"README.md":              {Data: []byte("not a template, ignored")},
		"old/invitation.txt":     {Data: []byte("{{ broken")}, // subdirectories are ignored
	}
	f := newFixture(t, notify.Config{Templates: overrides})
	msgs, _, err := f.n.Render(notify.Invitation{Inviter: "<b>Eve</b>", Organization: "Acme", AcceptURL: "https://a.example.com/x"}, "bob@example.com")
	require.NoError(t, err)
	e := msgs[0].Email
	assert.Equal(t, "Join Acme Bcc: x@example.com", e.Subject, "an override's subject is folded too")
	assert.Equal(t, `<p>&lt;b&gt;Eve&lt;/b&gt; <a href="https://a.example.com/x">go</a></p>`, e.HTML)
	assert.Contains(t, e.Text, "has invited you", "parts not overridden keep the built-in")

	msgs, _, err = f.n.Render(notify.TwoFactorCode{Code: "123456"}, "+14155550100")
	require.NoError(t, err)
	assert.Equal(t, "Code: 123456", msgs[0].SMS.Body)
}

func TestTemplateOverrideErrorsAtConstruction(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		files fstest.MapFS
		want  []string
	}{
		{"parse error", fstest.MapFS{"invitation.txt": {Data: []byte("{{.Inviter")}}, []string{"template override invitation.txt does not parse"}},
		{"unknown field", fstest.MapFS{"password_reset.html": {Data: []byte("{{.Inviter}}")}}, []string{"password_reset", "Inviter"}},
		{"unknown function", fstest.MapFS{"test_sms.txt": {Data: []byte("{{shout .RequestedBy}}")}}, []string{"test_sms.txt", `"shout" not defined`}},
		{"misspelt name", fstest.MapFS{"invitaton.txt": {Data: []byte("hi")}}, []string{`"invitaton.txt" is not a template name`, "invitation.txt"}},
		{"SMS kind has no HTML", fstest.MapFS{"two_factor_code.html": {Data: []byte("hi")}}, []string{"two_factor_code.html"}},
		{"empty subject", fstest.MapFS{"test_email.subject.txt": {Data: []byte("{{/* nothing */}}\r\n")}}, []string{"empty subject"}},
		{"unescapable HTML", fstest.MapFS{"test_email.html": {Data: []byte(`<a href="{{.RequestedBy}}`)}}, []string{"test_email.html"}},
		{"too large", fstest.MapFS{"test_email.txt": {Data: []byte(strings.Repeat("x", notify.MaxTemplateSize+1))}}, []string{"larger than 65536 bytes"}},
		{"range over a duration", fstest.MapFS{"two_factor_code.txt": {Data: []byte("{{range .ExpiresIn}}{{end}}{{.Code.Reveal}}")}}, []string{"two_factor_code.txt", "line 1: {{range}} is not allowed"}},
		{"templates calling each other", fstest.MapFS{"test_email.txt": {Data: []byte(`{{define "x"}}{{template "x" .}}{{end}}hi {{template "x" .}}`)}}, []string{"{{template}} and {{block}} are not allowed"}},
		{"template in a branch", fstest.MapFS{"test_email.html": {Data: []byte("{{if 1}}{{with 2}}{{else}}{{block \"b\" .}}{{end}}{{end}}{{end}}")}}, []string{"test_email.html", "{{block}} are not allowed"}},
		{"output too large", fstest.MapFS{"test_email.txt": {Data: []byte(`{{printf "%0999999d" 1}}{{printf "%0999999d" 1}}`)}}, []string{"template test_email.txt wrote more than 1048576 bytes"}},
		{"two errors at once", fstest.MapFS{"invitation.txt": {Data: []byte("{{")}, "test_sms.txt": {Data: []byte("{{")}}, []string{"invitation.txt", "test_sms.txt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n, err := notify.New(notify.Config{Mailer: notify.MailerFunc(nil), Templates: tt.files})
			require.Error(t, err)
			assert.Nil(t, n)
			for _, w := range tt.want {
				assert.ErrorContains(t, err, w)
			}
		})
	}
}

func TestTemplateNames(t *testing.T) {
	t.Parallel()
	names := notify.TemplateNames()
	assert.Len(t, names, 5*3+2)
	assert.Contains(t, names, "expiry_warning.html")
	assert.Contains(t, names, "invitation.subject.txt")
	assert.Contains(t, names, "two_factor_code.txt")
	assert.NotContains(t, names, "two_factor_code.html")
	assert.IsNonDecreasing(t, names)
}

func BenchmarkRenderInvitation(b *testing.B) {
	n, err := notify.New(notify.Config{Mailer: notify.MailerFunc(nil), SiteName: "Acme Cloud"})
	require.NoError(b, err)
	d := notify.Invitation{Inviter: "Alice <Smith>", Organization: "Acme", Team: "Ops", AcceptURL: "https://app.example.com/accept/8f3a", ExpiresAt: epoch}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := n.Render(d, "bob@example.com"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderTwoFactorCode(b *testing.B) {
	n, err := notify.New(notify.Config{SMSSender: notify.SMSSenderFunc(nil)})
	require.NoError(b, err)
	d := notify.TwoFactorCode{Code: "493817", ExpiresIn: 5 * time.Minute}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := n.Render(d, "+14155550100"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := notify.New(notify.Config{Mailer: notify.MailerFunc(nil)}); err != nil {
			b.Fatal(err)
		}
	}
}
