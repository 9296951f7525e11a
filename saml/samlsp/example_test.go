package samlsp_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/siteadmin/integrations/saml"
	"github.com/siteadmin/integrations/saml/samlsp"
	"github.com/siteadmin/integrations/saml/samltest"
)

// A login starts with an AuthnRequest. In the HTTP-Redirect binding it is
// a URL at the IdP; Send redirects the browser there.
func ExampleServiceProvider_AuthnRequest() {
	idp, _ := samltest.New()
	sp, err := saml.NewServiceProvider(saml.Config{
		EntityID: "https://app.example.com/saml/metadata",
		ACSURL:   "https://app.example.com/saml/acs",
		IdP:      idp.IdentityProvider(),
	})
	if err != nil {
		panic(err)
	}
	m, err := sp.AuthnRequest(saml.AuthnRequestOptions{RelayState: "/orgs/acme"})
	if err != nil {
		panic(err)
	}
	// Remember m.ID for this browser (see RequestTracker), then
	// m.Send(w, r).
	fmt.Println(strings.HasPrefix(m.URL, "https://idp.example.com/sso?SAMLRequest="))
	fmt.Println(strings.Contains(m.URL, "&RelayState=%2Forgs%2Facme"))
	fmt.Println(len(m.ID), m.ID[0] == '_')
	// Output:
	// true
	// true
	// 41 true
}

// The SP metadata is what the admin gives the IdP.
func ExampleServiceProvider_Metadata() {
	idp, _ := samltest.New()
	sp, _ := saml.NewServiceProvider(saml.Config{
		EntityID: "https://app.example.com/saml/metadata",
		ACSURL:   "https://app.example.com/saml/acs",
		SLOURL:   "https://app.example.com/saml/slo",
		IdP:      idp.IdentityProvider(),
	})
	md, err := sp.Metadata(saml.MetadataOptions{ValidUntil: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		panic(err)
	}
	fmt.Print(string(md))
	// Output:
	// <?xml version="1.0" encoding="UTF-8"?>
	// <md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://app.example.com/saml/metadata" validUntil="2030-01-01T00:00:00Z">
	//   <md:SPSSODescriptor AuthnRequestsSigned="false" WantAssertionsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
	//     <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://app.example.com/saml/slo"/>
	//     <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://app.example.com/saml/slo"/>
	//     <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://app.example.com/saml/acs" index="0" isDefault="true"/>
	//   </md:SPSSODescriptor>
	// </md:EntityDescriptor>
}

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
