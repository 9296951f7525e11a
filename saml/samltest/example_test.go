package samltest_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/siteadmin/integrations/saml/samltest"
)

func ExampleIdP_Response() {
	idp, err := samltest.New()
	if err != nil {
		panic(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	resp, err := idp.Response(samltest.ResponseSpec{
		Now:          now,
		InResponseTo: "_request-1",
		NameID:       "bob@example.com",
		Attributes: []samltest.Attribute{
			{Name: "groups", Values: []string{"admins", "engineering"}},
		},
		Sign: samltest.SignBoth,
	})
	if err != nil {
		panic(err)
	}
	// A host test posts resp.PostForm("") (or resp.Base64()) to its ACS,
	// with the service provider trusting idp.IdentityProvider() and its
	// clock at samltest.FixedClock(now).
	xml := string(resp.XML)
	fmt.Println(strings.Count(xml, "<ds:Signature "), "signatures")
	fmt.Println(strings.Contains(xml, `IssueInstant="2026-01-02T03:04:05Z"`))
	fmt.Println(strings.Contains(xml, `NotOnOrAfter="2026-01-02T03:09:05Z"`))
	fmt.Println(idp.IdentityProvider().EntityID)
	// Output:
	// 2 signatures
	// true
	// true
	// https://idp.example.com/metadata
}

func ExampleIdP_SignXML() {
	idp, err := samltest.New()
	if err != nil {
		panic(err)
	}
	// Build an unsigned response, edit it by hand, then sign what was
	// edited: here the NameID gets a comment inside, as in the 2018
	// comment-injection attacks.
	resp, err := idp.Response(samltest.ResponseSpec{Sign: samltest.SignNone, NameID: "alice@example.com.evil.com"})
	if err != nil {
		panic(err)
	}
	edited := strings.Replace(string(resp.XML), "alice@example.com.evil.com", "alice@example.com<!---->.evil.com", 1)
	signed, err := idp.SignXML([]byte(edited), resp.AssertionID)
	if err != nil {
		panic(err)
	}
	fmt.Println(strings.Contains(string(signed), "alice@example.com<!---->.evil.com"))
	// Output: true
}
