package saml_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/saml"
)

func TestParseIdPMetadataFixtures(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file, entityID string
		certs          int
	}{
		{"google_C02dfl1r1_metadata.xml", "https://accounts.google.com/o/saml2?idpid=C02dfl1r1", 1},
		{"okta_exkppsa1qwuFV4D7z0h7_metadata.xml", "http://www.okta.com/exkppsa1qwuFV4D7z0h7", 1},
		{"secureworks_metadata.xml", "https://idp.secureworks.com/SAML2", 1},
		{"testshib_metadata.xml", "https://idp.testshib.org/idp/shibboleth", 1},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile("testdata/trust/" + tc.file)
			require.NoError(t, err)
			idp, err := saml.ParseIdPMetadata(data, "")
			require.NoError(t, err)
			assert.Equal(t, tc.entityID, idp.EntityID)
			assert.Len(t, idp.Certificates, tc.certs)
			assert.NotEmpty(t, idp.SSOServices)
			byID, err := saml.ParseIdPMetadata(data, tc.entityID)
			require.NoError(t, err)
			assert.Equal(t, idp, byID)
		})
	}
}

func TestParseIdPMetadataFromSamltest(t *testing.T) {
	t.Parallel()
	idp, err := sharedIdP()
	require.NoError(t, err)
	got, err := saml.ParseIdPMetadata(idp.Metadata(), idp.EntityID)
	require.NoError(t, err)
	want := idp.IdentityProvider()
	assert.Equal(t, want.EntityID, got.EntityID)
	require.Len(t, got.Certificates, 1)
	assert.True(t, got.Certificates[0].Equal(idp.Certificate))
	assert.Equal(t, idp.SSOURL, got.SSOURL(saml.BindingHTTPRedirect))
	assert.Equal(t, idp.SSOURL, got.SSOURL(saml.BindingHTTPPOST))
	assert.Equal(t, "", got.SSOURL("urn:other"))
	assert.NotEmpty(t, got.SLOServices)
}

const mdNS = `xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#"`

// entity returns an EntityDescriptor for id with the given attributes and
// KeyDescriptors.
func entity(t *testing.T, id, attrs, keys string) string {
	return fmt.Sprintf(`<md:EntityDescriptor entityID=%q %s><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">%s`+
		`<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://%s/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>`,
		id, attrs, keys, strings.TrimPrefix(id, "https://"))
}

func keyDescriptor(t *testing.T, use string) string {
	idp, err := sharedIdP()
	require.NoError(t, err)
	der := idp.IdentityProvider().Certificates[0].Raw
	u := ""
	if use != "" {
		u = fmt.Sprintf(` use=%q`, use)
	}
	return fmt.Sprintf(`<md:KeyDescriptor%s><ds:KeyInfo><ds:X509Data><ds:X509Certificate>%s</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`,
		u, b64(der))
}

func TestParseIdPMetadataRules(t *testing.T) {
	t.Parallel()
	signing := keyDescriptor(t, "signing")
	noUse := keyDescriptor(t, "")
	encryption := keyDescriptor(t, "encryption")
	one := entity(t, "https://a.example", mdNS, signing)
	for _, tc := range []struct {
		name, xml, entityID string
		wantErr             string
		check               func(*testing.T, *saml.IdentityProvider)
	}{
		{name: "single", xml: one, check: func(t *testing.T, idp *saml.IdentityProvider) {
			assert.Equal(t, "https://a.example", idp.EntityID)
			assert.Equal(t, "https://a.example/sso", idp.SSOURL(saml.BindingHTTPRedirect))
		}},
		{name: "wrong entity", xml: one, entityID: "https://b.example", wantErr: `not "https://b.example"`},
		{name: "key without use", xml: entity(t, "https://a.example", mdNS, noUse), check: func(t *testing.T, idp *saml.IdentityProvider) {
			assert.Len(t, idp.Certificates, 1)
		}},
		{name: "encryption key only", xml: entity(t, "https://a.example", mdNS, encryption), wantErr: "no signing certificate"},
		{name: "duplicate certificates kept once", xml: entity(t, "https://a.example", mdNS, signing+noUse), check: func(t *testing.T, idp *saml.IdentityProvider) {
			assert.Len(t, idp.Certificates, 1)
		}},
		{name: "aggregate by entity id",
			xml:      `<md:EntitiesDescriptor ` + mdNS + ` validUntil="2030-01-01T00:00:00Z">` + entity(t, "https://a.example", "", signing) + entity(t, "https://b.example", `validUntil="2029-01-01T00:00:00Z"`, signing) + `</md:EntitiesDescriptor>`,
			entityID: "https://b.example",
			check: func(t *testing.T, idp *saml.IdentityProvider) {
				assert.Equal(t, "https://b.example", idp.EntityID)
				assert.True(t, idp.ValidUntil.Equal(time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)), "the earliest validUntil wins")
			}},
		{name: "aggregate outer validUntil",
			xml:      `<md:EntitiesDescriptor ` + mdNS + ` validUntil="2028-01-01T00:00:00Z"><md:EntitiesDescriptor>` + entity(t, "https://b.example", `validUntil="2029-01-01T00:00:00Z"`, signing) + `</md:EntitiesDescriptor></md:EntitiesDescriptor>`,
			entityID: "https://b.example",
			check: func(t *testing.T, idp *saml.IdentityProvider) {
				assert.True(t, idp.ValidUntil.Equal(time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)))
			}},
		{name: "aggregate needs an entity id", xml: `<md:EntitiesDescriptor ` + mdNS + `>` + entity(t, "https://a.example", "", signing) + entity(t, "https://b.example", "", signing) + `</md:EntitiesDescriptor>`, wantErr: "say which entity ID"},
		{name: "aggregate missing entity", xml: `<md:EntitiesDescriptor ` + mdNS + `>` + entity(t, "https://a.example", "", signing) + `</md:EntitiesDescriptor>`, entityID: "https://c.example", wantErr: `no entity "https://c.example"`},
		{name: "doctype", xml: `<!DOCTYPE x [<!ENTITY e "x">]>` + one, wantErr: "DOCTYPE"},
		{name: "not xml", xml: "hello", wantErr: "saml: metadata"},
		{name: "unclosed", xml: "<md:EntityDescriptor", wantErr: "not well-formed"},
		{name: "sp metadata", xml: `<md:EntityDescriptor entityID="https://sp" ` + mdNS + `><md:SPSSODescriptor/></md:EntityDescriptor>`, wantErr: "no IDPSSODescriptor"},
		{name: "other root", xml: `<x/>`, wantErr: "want md:EntityDescriptor"},
		{name: "bad certificate", xml: entity(t, "https://a.example", mdNS, `<md:KeyDescriptor><ds:KeyInfo><ds:X509Data><ds:X509Certificate>AAAA</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`), wantErr: "signing certificate"},
		{name: "bad validUntil", xml: entity(t, "https://a.example", mdNS+` validUntil="soon"`, signing), wantErr: "validUntil"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			idp, err := saml.ParseIdPMetadata([]byte(tc.xml), tc.entityID)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			tc.check(t, idp)
		})
	}
}

func FuzzParseIdPMetadata(f *testing.F) {
	for _, name := range []string{"google_C02dfl1r1_metadata.xml", "secureworks_metadata.xml", "testshib_metadata.xml"} {
		data, err := os.ReadFile("testdata/trust/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, "")
	}
	f.Add([]byte(`<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"><md:EntityDescriptor entityID="x"/></md:EntitiesDescriptor>`), "x")
	f.Fuzz(func(t *testing.T, data []byte, entityID string) {
		idp, err := saml.ParseIdPMetadata(data, entityID)
		if err != nil {
			return
		}
		if idp.EntityID == "" || len(idp.Certificates) == 0 {
			t.Fatalf("accepted metadata without entity ID or certificate: %+v", idp)
		}
	})
}
