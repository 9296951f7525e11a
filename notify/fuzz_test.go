package notify_test

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/notify"
)

// hostileData returns one value of every kind built from s.
func hostileData(s string) []notify.Data {
	return []notify.Data{
		notify.Invitation{Inviter: s, Organization: "Acme " + s, Team: s, AcceptURL: "https://a.example.com/i"},
		notify.PasswordReset{User: s, ResetURL: "https://a.example.com/r", RequestedFrom: s},
		notify.SystemError{Component: "c" + s, Summary: "s" + s, Details: s},
		notify.ExpiryWarning{Component: "c" + s, Item: "i" + s, ExpiresAt: time.Unix(int64(len(s))<<20, 0), DaysLeft: len(s) - 3, Action: "a" + s},
		notify.TestEmail{RequestedBy: s},
		notify.TwoFactorCode{Code: "123456"},
		notify.TestSMS{RequestedBy: s},
	}
}

// checkRendered holds for anything the Notifier renders.
func checkRendered(t *testing.T, n *notify.Notifier, d notify.Data) {
	to := "a@example.com"
	if d.Kind() == notify.KindTwoFactorCode || d.Kind() == notify.KindTestSMS {
		to = "+14155550100"
	}
	msgs, _, err := n.Render(d, to)
	if err != nil {
		// Only a too-long SMS may fail once the templates are accepted.
		require.ErrorIs(t, err, notify.ErrTooLong)
		return
	}
	require.Len(t, msgs, 1)
	if e := msgs[0].Email; e != nil {
		assert.NotEmpty(t, e.Subject)
		assert.LessOrEqual(t, utf8.RuneCountInString(e.Subject), notify.MaxSubjectLength)
		assert.False(t, strings.ContainsFunc(e.Subject, unicode.IsControl), "subject %q", e.Subject)
		assert.True(t, utf8.ValidString(e.Subject))
	} else {
		assert.LessOrEqual(t, utf8.RuneCountInString(msgs[0].SMS.Body), notify.MaxSMSLength)
	}
}

// FuzzTemplateOverride loads one fuzzed override file: New either
// rejects it with an error or returns a Notifier whose output keeps
// every rule (one-line subject, SMS limit), whatever the data.
func FuzzTemplateOverride(f *testing.F) {
	names := notify.TemplateNames()
	f.Add(uint8(0), "{{.Organization}}", "Eve")
	f.Add(uint8(1), "{{oneline .Inviter}}\r\nBcc: x@example.com", "<script>")
	f.Add(uint8(2), `<a href="{{.AcceptURL}}">{{.Inviter}}</a>`, "\r\n")
	f.Add(uint8(3), "{{range .}}{{end}}", "")
	f.Add(uint8(4), "{{template \"x\"}}", "a")
	f.Add(uint8(5), "{{define \"x\"}}{{end}}{{.User}}", "b")
	f.Add(uint8(12), "{{.Code.Reveal}}{{.Code.Reveal}}", "c")
	f.Add(uint8(13), strings.Repeat("{{.RequestedBy}}", 100), "d")
	f.Add(uint8(7), "{{with site}}{{.}}{{end}} {{datetime .OccurredAt}} {{duration 90000000000}}", "e")
	f.Fuzz(func(t *testing.T, which uint8, content, value string) {
		name := names[int(which)%len(names)]
		n, err := notify.New(notify.Config{
			Mailer:    notify.MailerFunc(nil),
			SMSSender: notify.SMSSenderFunc(nil),
			Templates: fstest.MapFS{name: {Data: []byte(content)}},
		})
		if err != nil {
			assert.Nil(t, n)
			assert.Contains(t, err.Error(), "notify: ")
			return
		}
		for _, d := range hostileData(value) {
			checkRendered(t, n, d)
		}
	})
}

// FuzzRender renders every kind with fuzzed names on the built-in
// templates, and fuzzed recipients: a recipient that is accepted holds
// no line break.
func FuzzRender(f *testing.F) {
	f.Add("<script>alert(1)</script>", "bob@example.com")
	f.Add("Eve\r\nBcc: victim@example.com", "a@example.com\r\nBcc: b@example.com")
	f.Add(strings.Repeat("é", 2000), "+14155550100")
	f.Add("\xff\xfe\u2028\u2029\x00", "\"a b\"@example.com")
	n, err := notify.New(notify.Config{Mailer: notify.MailerFunc(nil), SMSSender: notify.SMSSenderFunc(nil), SiteName: "Acme"})
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, value, recipient string) {
		for _, d := range hostileData(value) {
			checkRendered(t, n, d)
		}
		for _, d := range []notify.Data{notify.TestEmail{}, notify.TestSMS{}} {
			msgs, rerrs, err := n.Render(d, recipient)
			require.NoError(t, err)
			if len(msgs) == 1 {
				assert.False(t, strings.ContainsAny(msgs[0].To(), "\r\n"), "recipient %q accepted", recipient)
			} else {
				require.Len(t, rerrs, 1)
				assert.True(t, errors.Is(rerrs[0], notify.ErrInvalidRecipient))
			}
		}
	})
}
