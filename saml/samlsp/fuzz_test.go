package samlsp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/siteadmin/integrations/saml/samlsp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzSafeRedirect checks that SafeRedirect returns the fallback or a
// target a browser resolves to this site or an allowed origin.
func FuzzSafeRedirect(f *testing.F) {
	for _, s := range []string{"/a", "//evil.com", "/\\evil.com", "https://app.example.com/x", "https://evil.com",
		"/\t/evil.com", "javascript:x", "https://app.example.com@evil.com", "http://app.example.com:443/",
		"https://app.example.Com/x", "https://APP.example.com:443/y"} {
		f.Add(s)
	}
	allowed := []string{"https://app.example.com"}
	base, _ := url.Parse("https://app.example.com/start/page")
	f.Fuzz(func(t *testing.T, target string) {
		got := samlsp.SafeRedirect(target, allowed, "/fallback")
		if got == "/fallback" {
			return
		}
		assert.Equal(t, target, got)
		u, err := url.Parse(got)
		require.NoError(t, err)
		resolved := base.ResolveReference(u)
		// Host names are case-insensitive and 443 is https's default
		// port: SafeRedirect rightly accepts both spellings.
		assert.True(t, strings.EqualFold(resolved.Hostname(), "app.example.com"), "%q resolves to %q", got, resolved)
		assert.Contains(t, []string{"", "443"}, resolved.Port(), "%q resolves to %q", got, resolved)
		assert.True(t, strings.EqualFold(resolved.Scheme, "https"), "%q resolves to %q", got, resolved)
		assert.Nil(t, resolved.User)
		assert.False(t, strings.ContainsAny(got, "\\\t\r\n "), "%q", got)
	})
}

// FuzzCookieTracker feeds cookie values to the tracker: nothing panics,
// and only a cookie it made yields a request.
func FuzzCookieTracker(f *testing.F) {
	tr := &samlsp.CookieTracker{Key: trackerKey, Clock: func() time.Time { return testNow }}
	rec := httptest.NewRecorder()
	require.NoError(f, tr.Track(context.Background(), rec, httptest.NewRequest(http.MethodGet, "/", nil), samlsp.TrackedRequest{ID: "_real", ReturnTo: "/x"}))
	real := rec.Result().Cookies()[0]
	f.Add(real.Name, real.Value)
	f.Add(real.Name, real.Value+"x")
	f.Add(real.Name, "e30.AAAA")
	f.Add(samlsp.DefaultCookiePrefix+"x", "")
	f.Fuzz(func(t *testing.T, name, value string) {
		r := httptest.NewRequest(http.MethodPost, "/saml/acs", nil)
		r.Header.Set("Cookie", name+"="+value)
		got, err := tr.Outstanding(context.Background(), r)
		require.NoError(t, err)
		for _, req := range got {
			assert.Equal(t, "_real", req.ID)
			assert.Equal(t, "/x", req.ReturnTo)
		}
	})
}
