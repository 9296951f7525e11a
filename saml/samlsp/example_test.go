package samlsp_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/siteadmin/integrations/saml"
	"github.com/siteadmin/integrations/saml/samlsp"
	"github.com/siteadmin/integrations/saml/samltest"
)

// A Handler serves the whole login under /saml/: the host gives it a
// RequestTracker and a Login callback that starts its own session.
func ExampleNewHandler() {
	idp, _ := samltest.New()
	sp, _ := saml.NewServiceProvider(saml.Config{
		EntityID: "https://app.example.com/saml/metadata",
		ACSURL:   "https://app.example.com/saml/acs",
		IdP:      idp.IdentityProvider(),
	})
	h, err := samlsp.NewHandler(sp, samlsp.HandlerConfig{
		Tracker: &samlsp.CookieTracker{Key: []byte("use 32 random bytes from a vault")},
		Login: func(ctx context.Context, w http.ResponseWriter, r *http.Request, l *samlsp.Login) error {
			// Start the host's session for l.Assertion.NameID; l.Diff
			// is the team sync result when HandlerConfig.Mapping is set.
			return nil
		},
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/saml/", h)

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/saml/login?return_to=/orgs/acme", nil))
	fmt.Println(rec.Code, strings.HasPrefix(rec.Header().Get("Location"), idp.SSOURL+"?SAMLRequest="))
	cookie := rec.Result().Cookies()[0]
	fmt.Println(cookie.HttpOnly, cookie.Secure, cookie.SameSite == http.SameSiteNoneMode)
	// Output:
	// 302 true
	// true true true
}
