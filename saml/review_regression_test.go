package saml

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Regression tests from the security review of the signature rewrite:
// each failed before its fix (attribute values normalized in
// markupBudget.take; metadata counted there before its tree is built).

// TestReviewAttributeValueWhitespaceNormalized: XML 1.0 section
// 3.3.3 turns a literal tab, line feed or carriage return (after line-end
// normalization, so CRLF is one) in an attribute value into a space;
// character references (&#9; &#10; &#13;) stay what they say. libxml2,
// and so xmlsec1, Shibboleth, SimpleSAMLphp (xmlseclibs) and every other
// signer on it, canonicalize the normalized value; encoding/xml does not
// normalize, so our canonical form has &#x9;/&#xA; where theirs has a
// space and a signature over such a document never verifies here, and
// values read from unsigned parts differ from what other parsers read.
// Fail-closed, so interoperability rather than a bypass.
func TestReviewAttributeValueWhitespaceNormalized(t *testing.T) {
	t.Parallel()
	const doc = "<r ID=\"apex\" x=\"1\t2\n3\r\n4\r5\" y=\"&#9;&#10;&#13;\"><c/></r>"
	got, out := canonical(t, doc, "", "")
	assert.Equal(t, `<r ID="apex" x="1 2 3 4 5" y="&#x9;&#xA;&#xD;"><c></c></r>`, got)
	x, _ := attr(out, "x")
	assert.Equal(t, "1 2 3 4 5", x, "the value read from the verified copy")
	t.Run("xmlsec1 agrees", func(t *testing.T) {
		t.Parallel()
		newXmlsec1Canonicalizer(t).compare(t, doc, "")
	})
}

// TestReviewMetadataCountedBeforeTree: responses, logout messages
// and decrypted parts have their elements and attributes counted on the
// raw bytes before etree builds anything (markupBudget.take), but metadata
// is built whole and counted afterwards (parseMetadataXML). 2 MB of "<a/>"
// makes etree allocate about 136 MiB (a million objects) before the
// 100,000-element cap refuses it: at MetadataSourceConfig's default 10 MB
// that is about 700 MiB, and ParseIdPMetadata takes up to 64 MB (about
// 4.4 GiB). The metadata host, or whoever can serve its URL, can exhaust
// the SP's memory on every refresh, before the metadata signature (meant
// to make that host untrusted) is looked at. Fix: count data with
// markupBudget{elements: maxMetadataElements, attributes: a metadata
// attribute cap}.take before ReadFromBytes.
//
// Not parallel: it counts allocations.
func TestReviewMetadataCountedBeforeTree(t *testing.T) {
	doc := []byte(`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com">` +
		strings.Repeat("<a/>", 500000) + `</md:EntityDescriptor>`)
	var err error
	allocs := testing.AllocsPerRun(1, func() { _, err = ParseIdPMetadata(doc, "") })
	require.Error(t, err)
	assert.Less(t, allocs, 10000.0, "objects allocated refusing %d bytes of metadata with too many elements", len(doc))
}
