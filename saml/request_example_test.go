package saml_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/siteadmin/integrations/saml"
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
