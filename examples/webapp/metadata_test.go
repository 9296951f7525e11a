package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMetadataURL switches the SAML settings to the test IdP's metadata
// URL: the page shows the refresh status and the certificates in use,
// "Refresh now" refreshes, a login still works, and an unreachable URL is
// reported without breaking the logins the stored copy serves.
func TestMetadataURL(t *testing.T) {
	t.Parallel()
	a, base := startApp(t)
	admin := newUser(t, base)
	admin.breakGlass()

	p := admin.get("/admin/saml")
	require.Equal(t, http.StatusOK, p.status)
	assert.Contains(t, p.body, `id="certificates"`, "the certificates in use are shown without a URL too")
	assert.Contains(t, p.body, "IdP signing")
	assert.NotContains(t, p.body, "refresh-now")

	form := settingsForm(t, p.body)
	form.Set("idp-metadata-url", base+"/idp/metadata")
	form.Set("idp-metadata", "") // no stored copy: the first fetch must work
	p = admin.post("/admin/saml", form)
	require.Contains(t, p.body, "Saved.", p.body)
	assert.Contains(t, p.body, "IdP metadata from <code>"+base+"/idp/metadata</code> (url;")
	assert.Contains(t, p.body, "TLS alone vouches")
	assert.Contains(t, p.body, `id="refresh-now"`)
	a.mu.RLock()
	stored := a.samlSet.IdPMetadata
	a.mu.RUnlock()
	assert.True(t, strings.HasPrefix(stored, "<?xml"), "the fetched metadata is stored as the backing copy")

	before := a.source.Status().LastAttempt
	p = admin.post("/admin/saml/refresh", url.Values{})
	require.Equal(t, http.StatusOK, p.status)
	assert.Contains(t, p.body, `id="refresh-ok"`)
	assert.False(t, a.source.Status().LastAttempt.Before(before))

	// A login works through the metadata from the URL.
	login := newUser(t, base).get("/saml/login")
	assert.Contains(t, login.body, "signed with")

	// A URL that does not answer is refused when nothing is stored...
	form = settingsForm(t, admin.get("/admin/saml").body)
	form.Set("idp-metadata-url", base+"/nowhere")
	form.Set("idp-metadata", "")
	p = admin.post("/admin/saml", form)
	assert.Contains(t, p.body, `<a href="#f-idp-metadata-url">IdP metadata URL</a>`)
	// ...and with a stored copy, it serves while the refreshes fail.
	form.Set("idp-metadata", stored)
	p = admin.post("/admin/saml", form)
	require.Contains(t, p.body, "Saved.", p.body)
	p = admin.post("/admin/saml/refresh", url.Values{})
	assert.Contains(t, p.body, `id="refresh-error"`)
	assert.Contains(t, p.body, "404")
	assert.Contains(t, newUser(t, base).get("/saml/login").body, "signed with")

	// A cross-site post is refused.
	req, err := http.NewRequest(http.MethodPost, base+"/admin/saml/refresh", nil)
	require.NoError(t, err)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
}
