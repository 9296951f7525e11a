package samltest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/saml"
)

// The IdP's own logout messages read back through ReadRequest, signed in
// both bindings, and every edit of a signed one is refused.
func TestLogoutMessagesReadBack(t *testing.T) {
	t.Parallel()
	for _, k := range testKeys(t) {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			idp, err := New(WithKey(k.key), WithSLOURL("https://sp.example.com/slo"))
			require.NoError(t, err)
			for _, binding := range []string{saml.BindingHTTPRedirect, saml.BindingHTTPPOST} {
				m, err := idp.LogoutRequest(LogoutSpec{Destination: idp.SLOURL, Binding: binding, SessionIndex: "_s", RelayState: "rs"})
				require.NoError(t, err)
				got, err := idp.ReadRequest(m.Request(), idp.Certificate)
				require.NoError(t, err, binding)
				assert.Equal(t, "LogoutRequest", got.Kind)
				assert.True(t, got.Signed)
				assert.Equal(t, DefaultNameID, got.NameID)
				assert.Equal(t, []string{"_s"}, got.SessionIndexes)
				assert.Equal(t, "rs", got.RelayState)

				// Without a certificate to check it, a signed message is refused.
				_, err = idp.ReadRequest(m.Request())
				assert.Error(t, err)
			}
		})
	}
}

func TestReadRequestRefuses(t *testing.T) {
	t.Parallel()
	idp, err := New(WithSLOURL("https://sp.example.com/slo"))
	require.NoError(t, err)
	other, err := New()
	require.NoError(t, err)
	signed, err := idp.LogoutResponse(LogoutSpec{Destination: idp.SLOURL, InResponseTo: "_r", Binding: saml.BindingHTTPPOST})
	require.NoError(t, err)
	unsigned, err := idp.LogoutResponse(LogoutSpec{Destination: idp.SLOURL, InResponseTo: "_r", Unsigned: true})
	require.NoError(t, err)
	elsewhere, err := idp.LogoutResponse(LogoutSpec{Destination: "https://other.example.com/slo", Unsigned: true})
	require.NoError(t, err)
	edited := *signed
	edited.Form = map[string][]string{"SAMLResponse": {strings.Replace(signed.Form.Get("SAMLResponse"), "A", "B", 1)}}

	_, err = idp.ReadRequest(signed.Request(), other.Certificate)
	assert.Error(t, err, "wrong certificate")
	_, err = idp.ReadRequest(unsigned.Request(), idp.Certificate)
	assert.Error(t, err, "unsigned with certificates given")
	_, err = idp.ReadRequest(unsigned.Request())
	assert.NoError(t, err, "unsigned, no certificates")
	_, err = idp.ReadRequest(elsewhere.Request())
	assert.ErrorContains(t, err, "other.example.com")
	_, err = idp.ReadRequest(edited.Request(), idp.Certificate)
	assert.Error(t, err, "edited")
	_, err = idp.ReadRequest(httptest.NewRequest(http.MethodPut, "/", nil))
	assert.Error(t, err)
}

func TestParseSPMetadataRefuses(t *testing.T) {
	t.Parallel()
	for name, md := range map[string]string{
		"DOCTYPE":      `<!DOCTYPE x><md:EntityDescriptor xmlns:md="` + nsMetadata + `"/>`,
		"not metadata": `<x/>`,
		"no SP role":   `<md:EntityDescriptor xmlns:md="` + nsMetadata + `" entityID="sp"/>`,
		"no ACS":       `<md:EntityDescriptor xmlns:md="` + nsMetadata + `" entityID="sp"><md:SPSSODescriptor/></md:EntityDescriptor>`,
		"bad cert": `<md:EntityDescriptor xmlns:md="` + nsMetadata + `" entityID="sp"><md:SPSSODescriptor><md:KeyDescriptor><ds:KeyInfo xmlns:ds="` + nsDS +
			`"><ds:X509Data><ds:X509Certificate>AAAA</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor></md:SPSSODescriptor></md:EntityDescriptor>`,
		"not XML": `<`,
	} {
		_, err := ParseSPMetadata([]byte(md))
		assert.Error(t, err, name)
	}
}
