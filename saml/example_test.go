package saml_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/siteadmin/integrations/saml"
	"github.com/siteadmin/integrations/saml/samltest"
)

// A host's ACS handler verifies the posted SAMLResponse against the IDs of
// the AuthnRequests it sent. Here a samltest IdP stands in for Okta.
func ExampleServiceProvider_Verify() {
	idp, err := samltest.New()
	if err != nil {
		panic(err)
	}
	sp, err := saml.NewServiceProvider(saml.Config{
		EntityID: "https://app.example.com/saml/metadata",
		ACSURL:   "https://app.example.com/saml/acs",
		IdP:      idp.IdentityProvider(), // or saml.ParseIdPMetadata(idp.Metadata(), "")
	})
	if err != nil {
		panic(err)
	}

	resp, err := idp.Response(samltest.ResponseSpec{
		ACSURL:       "https://app.example.com/saml/acs",
		Audience:     "https://app.example.com/saml/metadata",
		InResponseTo: "_request-1",
		Attributes:   []samltest.Attribute{{Name: "MemberOf", Values: []string{"engineering", "site-admins"}}},
	})
	if err != nil {
		panic(err)
	}

	// r.PostFormValue("SAMLResponse") in a real handler.
	a, err := sp.Verify(context.Background(), resp.Base64(), "_request-1")
	if err != nil {
		panic(err)
	}
	fmt.Println(a.NameID.Value, a.Attributes["MemberOf"])

	// The same response a second time is a replay.
	_, err = sp.Verify(context.Background(), resp.Base64(), "_request-1")
	fmt.Println(errors.Is(err, saml.ErrReplay))
	// Output:
	// alice@example.com [engineering site-admins]
	// true
}

// Every rejection says which rule failed, with what was expected and what
// came, so that the admin knows what to fix.
func ExampleError() {
	idp, _ := samltest.New()
	now := time.Now()
	sp, _ := saml.NewServiceProvider(saml.Config{
		EntityID: "https://app.example.com/saml/metadata",
		ACSURL:   samltest.DefaultACSURL,
		IdP:      idp.IdentityProvider(),
		Clock:    samltest.FixedClock(now),
	})
	resp, _ := idp.Response(samltest.ResponseSpec{Now: now, InResponseTo: "_r1"}) // for the default audience

	_, err := sp.Verify(context.Background(), resp.Base64(), "_r1")
	var se *saml.Error
	if errors.As(err, &se) {
		fmt.Println(se.Code)
		fmt.Println(se.Message)
	}
	// Output:
	// audience
	// the Assertion is for "https://sp.example.com/saml/metadata", this service provider is "https://app.example.com/saml/metadata"
}

// With Debug on (the admin's "Enable SAML debugging"), each result carries
// the report of every check.
func ExampleReport() {
	idp, _ := samltest.New()
	sp, _ := saml.NewServiceProvider(saml.Config{
		EntityID:          samltest.DefaultAudience,
		ACSURL:            samltest.DefaultACSURL,
		IdP:               idp.IdentityProvider(),
		AllowIdPInitiated: true,
		Debug:             true,
	})
	resp, _ := idp.Response(samltest.ResponseSpec{Issuer: "https://evil.example.com"})
	_, err := sp.Verify(context.Background(), resp.Base64())
	var se *saml.Error
	errors.As(err, &se)
	for _, c := range se.Report.Checks {
		fmt.Println(c.Name, c.OK)
	}
	// Output:
	// decode true
	// xml true
	// structure true
	// signed true
	// signature:assertion true
	// status true
	// issuer false
}

func ExampleParseIdPMetadata() {
	idp, _ := samltest.New(samltest.WithEntityID("https://idp.example.org/metadata"))
	md := idp.Metadata() // in a host: the file or URL the admin gives

	trusted, err := saml.ParseIdPMetadata(md, "https://idp.example.org/metadata")
	if err != nil {
		panic(err)
	}
	fmt.Println(trusted.EntityID)
	fmt.Println(len(trusted.Certificates), "signing certificate")
	fmt.Println(trusted.SSOURL(saml.BindingHTTPRedirect))
	// Output:
	// https://idp.example.org/metadata
	// 1 signing certificate
	// https://idp.example.com/sso
}
