package main

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/smtpx/smtptest"
	"github.com/siteadmin/integrations/twilio/twiliotest"
)

// TestReview2StoredTokenStaysWithItsServer: the admin pages never show a
// stored secret, so a blank secret field must not carry the stored one
// to a server the form has just named. Otherwise anyone with the admin
// pages (or a hijacked admin session) reads the stored auth token by
// pointing Base URL at a server of theirs and pressing "Send Test SMS",
// or by saving that Base URL and waiting for the next SMS.
func TestReview2StoredTokenStaysWithItsServer(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []string
	capture := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, token, ok := r.BasicAuth(); ok {
			mu.Lock()
			seen = append(seen, token)
			mu.Unlock()
		}
		http.Error(w, `{"code":20003,"message":"Authenticate","status":401}`, http.StatusUnauthorized)
	}))
	t.Cleanup(capture.Close)

	a, base := startApp(t)
	b := newUser(t, base)
	b.breakGlass()
	for _, action := range []string{"test", "save"} {
		form := settingsForm(t, b.get("/admin/twilio").body)
		require.Empty(t, form.Get("auth-token"), "the page never shows the stored token")
		form.Set("base-url", capture.URL)
		form.Set("action", action)
		form.Set("test-to", "+14155550150")
		p := b.post("/admin/twilio", form)
		assert.True(t, strings.Contains(p.body, `id="f-auth-token" aria-invalid="true"`), "%s: the token must be typed again for another server", action)
		assert.True(t, strings.Contains(p.body, retypeSecret), action)
		assert.False(t, strings.Contains(p.body, twiliotest.AuthToken), action)
	}
	a.mu.RLock()
	saved := a.twilio
	a.mu.RUnlock()
	assert.NotEqual(t, capture.URL, saved.BaseURL, "saved with the stored token and another server")
	mu.Lock()
	assert.NotContains(t, seen, twiliotest.AuthToken, "the stored auth token reached the server named in the form")
	mu.Unlock()

	// Typed again, the token goes where the form says; and a blank field
	// still keeps the stored token for the server it was saved for.
	form := settingsForm(t, b.get("/admin/twilio").body)
	form.Set("base-url", capture.URL)
	form.Set("auth-token", "0123456789abcdef0123456789abcdef")
	form.Set("action", "save")
	assert.True(t, strings.Contains(b.post("/admin/twilio", form).body, `id="saved"`))
	form = settingsForm(t, b.get("/admin/twilio").body)
	form.Set("action", "save")
	assert.True(t, strings.Contains(b.post("/admin/twilio", form).body, `id="saved"`))
	a.mu.RLock()
	assert.Equal(t, "0123456789abcdef0123456789abcdef", a.twilio.AuthToken.Reveal())
	assert.Equal(t, capture.URL, a.twilio.BaseURL)
	a.mu.RUnlock()
}

// TestReview2StoredPasswordStaysWithItsServer is the same for the SMTP
// password: another host or port needs it typed again.
func TestReview2StoredPasswordStaysWithItsServer(t *testing.T) {
	t.Parallel()
	other := smtptest.NewServer(smtptest.Config{Username: "app", Password: "other"})
	t.Cleanup(other.Close)
	a, base := startApp(t)
	b := newUser(t, base)
	b.breakGlass()
	for _, action := range []string{"test", "save"} {
		form := settingsForm(t, b.get("/admin/smtp").body)
		form.Set("port", strconv.Itoa(other.Port()))
		form.Set("action", action)
		form.Set("test-to", "admin@example.com")
		p := b.post("/admin/smtp", form)
		assert.True(t, strings.Contains(p.body, `id="f-password" aria-invalid="true"`), action)
		assert.True(t, strings.Contains(p.body, retypeSecret), action)
	}
	a.mu.RLock()
	assert.Equal(t, a.smtpServer.Port(), a.smtpSet.Port)
	a.mu.RUnlock()
}

// TestReview2InviteAfterSessionEnded: requireAdmin and adminInvitations
// each read the session; one that ends between the two (a logout in
// another tab, an IdP logout) left adminInvitations with a nil session,
// which it dereferenced.
func TestReview2InviteAfterSessionEnded(t *testing.T) {
	t.Parallel()
	a, _ := startApp(t)
	form := url.Values{"organization": {"acme"}, "emails": {"new@example.com"}}
	req := httptest.NewRequest(http.MethodPost, a.base+"/admin/invitations", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: "ended"})
	w := httptest.NewRecorder()
	require.NotPanics(t, func() { a.adminInvitations(w, req) })
	assert.Equal(t, http.StatusForbidden, w.Code)
}
