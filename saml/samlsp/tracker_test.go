package samlsp_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/siteadmin/integrations/saml/samlsp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var trackerKey = []byte("0123456789abcdef0123456789abcdef")

// browser keeps the cookies a browser would between requests.
type browser struct{ cookies map[string]*http.Cookie }

func newBrowser() *browser { return &browser{cookies: map[string]*http.Cookie{}} }

func (b *browser) request() *http.Request {
	r := httptest.NewRequest(http.MethodPost, "https://sp.example.com/saml/acs", nil)
	for _, c := range b.cookies {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	return r
}

func (b *browser) keep(rec *httptest.ResponseRecorder) {
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
}

func ids(reqs []samlsp.TrackedRequest) []string {
	var out []string
	for _, r := range reqs {
		out = append(out, r.ID)
	}
	sort.Strings(out)
	return out
}

func TestCookieTracker(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := testNow
	tr := &samlsp.CookieTracker{Key: trackerKey, Clock: func() time.Time { return now }}
	b := newBrowser()

	// Two tabs start logins one after the other; both stay answerable.
	for _, id := range []string{"_tab1", "_tab2"} {
		rec := httptest.NewRecorder()
		require.NoError(t, tr.Track(ctx, rec, b.request(), samlsp.TrackedRequest{ID: id, ReturnTo: "/" + id}))
		c := rec.Result().Cookies()[0]
		assert.True(t, c.HttpOnly)
		assert.True(t, c.Secure)
		assert.Equal(t, http.SameSiteNoneMode, c.SameSite)
		assert.Equal(t, int(samlsp.DefaultRequestLifetime/time.Second), c.MaxAge)
		assert.Equal(t, "/saml/", c.Path)
		b.keep(rec)
	}
	got, err := tr.Outstanding(ctx, b.request())
	require.NoError(t, err)
	assert.Equal(t, []string{"_tab1", "_tab2"}, ids(got))

	// Another browser sees none of them.
	got, err = tr.Outstanding(ctx, newBrowser().request())
	require.NoError(t, err)
	assert.Empty(t, got)

	// Forget drops one.
	rec := httptest.NewRecorder()
	require.NoError(t, tr.Forget(ctx, rec, b.request(), "_tab1"))
	b.keep(rec)
	got, err = tr.Outstanding(ctx, b.request())
	require.NoError(t, err)
	assert.Equal(t, []string{"_tab2"}, ids(got))
	assert.Equal(t, "/_tab2", got[0].ReturnTo)

	// After the lifetime, nothing is outstanding even if the browser
	// keeps the cookie.
	now = now.Add(samlsp.DefaultRequestLifetime)
	got, err = tr.Outstanding(ctx, b.request())
	require.NoError(t, err)
	assert.Empty(t, got)
}

// Concurrent logins in many tabs never overwrite each other, and the
// oldest are dropped beyond MaxRequests.
func TestCookieTrackerManyTabs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := testNow
	tr := &samlsp.CookieTracker{Key: trackerKey, MaxRequests: 3, Clock: func() time.Time { return now }}
	b := newBrowser()
	for i := range 5 {
		now = now.Add(time.Second)
		rec := httptest.NewRecorder()
		require.NoError(t, tr.Track(ctx, rec, b.request(), samlsp.TrackedRequest{ID: fmt.Sprintf("_r%d", i)}))
		b.keep(rec)
	}
	got, err := tr.Outstanding(ctx, b.request())
	require.NoError(t, err)
	assert.Equal(t, []string{"_r2", "_r3", "_r4"}, ids(got))

	// Two tabs that start at the same moment from the same cookies both
	// keep their request: each has a cookie of its own.
	b2 := newBrowser()
	recA, recB := httptest.NewRecorder(), httptest.NewRecorder()
	require.NoError(t, tr.Track(ctx, recA, b2.request(), samlsp.TrackedRequest{ID: "_a"}))
	require.NoError(t, tr.Track(ctx, recB, b2.request(), samlsp.TrackedRequest{ID: "_b"}))
	b2.keep(recA)
	b2.keep(recB)
	got, err = tr.Outstanding(ctx, b2.request())
	require.NoError(t, err)
	assert.Equal(t, []string{"_a", "_b"}, ids(got))
}

func TestCookieTrackerForgeries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tr := &samlsp.CookieTracker{Key: trackerKey, Clock: func() time.Time { return testNow }}
	rec := httptest.NewRecorder()
	require.NoError(t, tr.Track(ctx, rec, httptest.NewRequest(http.MethodGet, "/", nil), samlsp.TrackedRequest{ID: "_real"}))
	real := rec.Result().Cookies()[0]
	payload, mac, _ := strings.Cut(real.Value, ".")

	otherKey := &samlsp.CookieTracker{Key: []byte("ffffffffffffffffffffffffffffffff"), Clock: tr.Clock}
	rec = httptest.NewRecorder()
	require.NoError(t, otherKey.Track(ctx, rec, httptest.NewRequest(http.MethodGet, "/", nil), samlsp.TrackedRequest{ID: "_real"}))
	forged := rec.Result().Cookies()[0]

	cases := map[string]*http.Cookie{
		"other key":        {Name: real.Name, Value: forged.Value},
		"flipped mac":      {Name: real.Name, Value: payload + "." + strings.Map(func(r rune) rune { return r ^ 1 }, mac)},
		"no mac":           {Name: real.Name, Value: payload},
		"empty":            {Name: real.Name, Value: ""},
		"moved":            {Name: samlsp.DefaultCookiePrefix + "0000000000000000", Value: real.Value},
		"huge":             {Name: real.Name, Value: strings.Repeat("A", 5000) + "." + mac},
		"not base64":       {Name: real.Name, Value: "!!!." + mac},
		"unprefixed":       {Name: "other", Value: real.Value},
		"expired by clock": nil,
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/saml/acs", nil)
			tracker := tr
			if c == nil {
				c = real
				tracker = &samlsp.CookieTracker{Key: trackerKey, Clock: func() time.Time { return testNow.Add(time.Hour) }}
			}
			r.AddCookie(c)
			got, err := tracker.Outstanding(ctx, r)
			require.NoError(t, err)
			assert.Empty(t, got)
		})
	}

	short := &samlsp.CookieTracker{Key: []byte("short")}
	assert.ErrorIs(t, short.Track(ctx, httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil), samlsp.TrackedRequest{ID: "_x"}), samlsp.ErrTrackerKey)
	_, err := short.Outstanding(ctx, httptest.NewRequest(http.MethodGet, "/", nil))
	assert.ErrorIs(t, err, samlsp.ErrTrackerKey)
	assert.Error(t, tr.Track(ctx, httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil), samlsp.TrackedRequest{}))
}

// Cross-site GETs of the login URL with the longest return_to a page can
// send leave a bounded Cookie header, scoped to the SAML prefix (issue 13,
// finding 4: nine such GETs used to leave 8 cookies of ~2.9 KB with
// Path=/, a ~23 KB Cookie header on every request to the host).
func TestTrackingCookieBomb(t *testing.T) {
	t.Parallel()
	hh := newHandlerHost(t)
	b := newBrowser()
	long := "/" + strings.Repeat("a", 2040)
	for range 9 {
		r := httptest.NewRequest(http.MethodGet, "/saml/login?return_to="+url.QueryEscape(long), nil)
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		rec := hh.serve(b, r)
		require.Equal(t, http.StatusFound, rec.Code)
	}
	header := 0
	for _, c := range b.cookies {
		assert.Equal(t, "/saml/", c.Path, "tracking cookies reach only the SAML endpoints")
		header += len(c.Name) + 1 + len(c.Value) + 2
	}
	assert.LessOrEqual(t, len(b.cookies), samlsp.DefaultMaxTrackedRequests)
	assert.Less(t, header, 1024, "a long return_to is not kept: the login goes to DefaultRedirect")

	// The worst a host's own long paths can do stays well under 4 KB.
	b = newBrowser()
	longest := "/" + strings.Repeat("a", samlsp.MaxTrackedReturnTo-1)
	for range 9 {
		rec := hh.serve(b, httptest.NewRequest(http.MethodGet, "/saml/login?return_to="+url.QueryEscape(longest), nil))
		require.Equal(t, http.StatusFound, rec.Code)
	}
	header = 0
	for _, c := range b.cookies {
		header += len(c.Name) + 1 + len(c.Value) + 2
	}
	assert.Less(t, header, 2600, "the Cookie header of %d tracking cookies", len(b.cookies))
}

func TestCookieTrackerRefusesLongReturnTo(t *testing.T) {
	t.Parallel()
	tr := &samlsp.CookieTracker{Key: trackerKey}
	err := tr.Track(t.Context(), httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil),
		samlsp.TrackedRequest{ID: "_x", ReturnTo: "/" + strings.Repeat("a", samlsp.MaxTrackedReturnTo)})
	assert.ErrorContains(t, err, "MaxTrackedReturnTo")
}
