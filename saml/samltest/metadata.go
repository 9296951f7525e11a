package samltest

import (
	"encoding/base64"

	"github.com/siteadmin/integrations/saml"
)

const nsMetadata = "urn:oasis:names:tc:SAML:2.0:metadata"

// Metadata returns the IdP's SAML metadata: an md:EntityDescriptor with
// one IDPSSODescriptor that holds a KeyDescriptor use="signing" with the
// certificate, SingleLogoutService for the HTTP-Redirect and HTTP-POST
// bindings, NameIDFormat emailAddress, and SingleSignOnService for both
// bindings, in the schema's order. It has no validUntil and is not signed.
func (idp *IdP) Metadata() []byte {
	w := &xmlWriter{}
	w.raw(`<?xml version="1.0" encoding="UTF-8"?>`)
	w.raw(`<md:EntityDescriptor xmlns:md="` + nsMetadata + `"`)
	w.attr("entityID", idp.EntityID)
	w.raw(`><md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="` + nsProtocol + `">`)
	w.raw(`<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="` + nsDS + `"><ds:X509Data><ds:X509Certificate>`)
	w.raw(base64.StdEncoding.EncodeToString(idp.Certificate.Raw))
	w.raw(`</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`)
	for _, b := range []string{saml.BindingHTTPRedirect, saml.BindingHTTPPOST} {
		w.raw(`<md:SingleLogoutService`)
		w.attr("Binding", b)
		w.attr("Location", idp.SLOURL)
		w.raw(`/>`)
	}
	w.raw(`<md:NameIDFormat>` + NameIDFormatEmail + `</md:NameIDFormat>`)
	for _, b := range []string{saml.BindingHTTPRedirect, saml.BindingHTTPPOST} {
		w.raw(`<md:SingleSignOnService`)
		w.attr("Binding", b)
		w.attr("Location", idp.SSOURL)
		w.raw(`/>`)
	}
	w.raw(`</md:IDPSSODescriptor></md:EntityDescriptor>`)
	// w.err is ignored: a value XML cannot carry is written escaped anyway,
	// and the metadata parser under test will say what is wrong with it.
	return []byte(w.b.String())
}
