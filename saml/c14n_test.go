package saml

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	dsig "github.com/russellhaering/goxmldsig"
)

// canonical returns the exclusive canonical form of the element of doc
// found by path (the root when empty), and the copy made on the way.
func canonical(t *testing.T, doc, path, inclusive string) (string, *etree.Element) {
	t.Helper()
	d, _, err := parseXML([]byte(doc))
	require.NoError(t, err)
	el := d.Root()
	if path != "" {
		el = d.FindElement(path)
		require.NotNil(t, el, path)
	}
	var b bytes.Buffer
	out, err := canonicalize(&b, el, nil, inclusive, 1<<20)
	require.NoError(t, err)
	return b.String(), out
}

// TestCanonicalizeSpecExamples checks the examples of Exclusive XML
// Canonicalization 1.0 (W3C Recommendation, 18 July 2002), section 2.2,
// and the rules of C14N 1.0 section 2.3 the SAML verifiers rely on.
func TestCanonicalizeSpecExamples(t *testing.T) {
	t.Parallel()
	const spec1 = `<n0:local xmlns:n0="foo:bar" xmlns:n3="ftp://example.org"><n1:elem2 xmlns:n1="http://example.net" xml:lang="en"><n3:stuff xmlns:n3="ftp://example.org"/></n1:elem2></n0:local>`
	const spec2 = `<n2:pdu xmlns:n1="http://example.com" xmlns:n2="http://foo.example" xml:lang="fr" xml:space="retain"><n1:elem2 xmlns:n1="http://example.net" xml:lang="en"><n3:stuff xmlns:n3="ftp://example.org"/></n1:elem2></n2:pdu>`
	cases := []struct {
		name, doc, path, inclusive, want string
	}{
		{"spec 2.2 first document", spec1, "//n1:elem2", "",
			`<n1:elem2 xmlns:n1="http://example.net" xml:lang="en"><n3:stuff xmlns:n3="ftp://example.org"></n3:stuff></n1:elem2>`},
		{"spec 2.2 second document", spec2, "//n1:elem2", "",
			`<n1:elem2 xmlns:n1="http://example.net" xml:lang="en"><n3:stuff xmlns:n3="ftp://example.org"></n3:stuff></n1:elem2>`},
		{"inclusive prefix from an ancestor", spec1, "//n1:elem2", "n0",
			`<n1:elem2 xmlns:n0="foo:bar" xmlns:n1="http://example.net" xml:lang="en"><n3:stuff xmlns:n3="ftp://example.org"></n3:stuff></n1:elem2>`},
		{"unused declarations dropped", `<a xmlns="urn:a" xmlns:u="urn:unused"><b/></a>`, "", "",
			`<a xmlns="urn:a"><b></b></a>`},
		{"default namespace undeclared below a rendered one", `<a xmlns="urn:a"><b xmlns=""><c/></b></a>`, "", "",
			`<a xmlns="urn:a"><b xmlns=""><c></c></b></a>`},
		{"no xmlns=\"\" when nothing was rendered", `<r xmlns="urn:r"><a xmlns=""/></r>`, "//a", "",
			`<a></a>`},
		{"redeclared with another URI", `<p:a xmlns:p="urn:1"><p:b xmlns:p="urn:2"/></p:a>`, "", "",
			`<p:a xmlns:p="urn:1"><p:b xmlns:p="urn:2"></p:b></p:a>`},
		{"same declaration not repeated", `<p:a xmlns:p="urn:1"><p:b xmlns:p="urn:1"/></p:a>`, "", "",
			`<p:a xmlns:p="urn:1"><p:b></p:b></p:a>`},
		{"attributes sorted by namespace URI, then local name", `<a xmlns:z="urn:a" xmlns:b="urn:b" b:x="1" z:y="2" c="3" a="4"/>`, "", "",
			`<a xmlns:b="urn:b" xmlns:z="urn:a" a="4" c="3" z:y="2" b:x="1"></a>`},
		{"xsi:type sorts before xml:lang", `<a xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xml:lang="en" xsi:type="t"/>`, "", "",
			`<a xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="t" xml:lang="en"></a>`},
		{"text escaping", "<a>&amp;&lt;&gt;\"'&#13;\t\n</a>", "", "",
			"<a>&amp;&lt;&gt;\"'&#xD;\t\n</a>"},
		{"attribute escaping", "<a v=\"&amp;&lt;&gt;&quot;'&#9;&#10;&#13;\"/>", "", "",
			"<a v=\"&amp;&lt;>&quot;'&#x9;&#xA;&#xD;\"></a>"},
		{"comments dropped, CDATA as text", `<a>x<!-- c -->y<![CDATA[<z>]]></a>`, "", "",
			`<a>xy&lt;z&gt;</a>`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, _ := canonical(t, c.doc, c.path, c.inclusive)
			assert.Equal(t, c.want, got)
		})
	}
}

// TestCanonicalizeLeavesOutTheSignature checks the enveloped-signature
// transform and that the copy holds neither the signature nor comments.
func TestCanonicalizeLeavesOutTheSignature(t *testing.T) {
	t.Parallel()
	d, _, err := parseXML([]byte(`<r xmlns:ds="http://www.w3.org/2000/09/xmldsig#" ID="x"><i>a<!---->b</i><ds:Signature><ds:SignedInfo/></ds:Signature><t/></r>`))
	require.NoError(t, err)
	sig := d.FindElement("//ds:Signature")
	var b bytes.Buffer
	out, err := canonicalize(&b, d.Root(), sig, "", 1<<20)
	require.NoError(t, err)
	assert.Equal(t, `<r ID="x"><i>ab</i><t></t></r>`, b.String())
	assert.Nil(t, out.FindElement("//Signature"))
	require.NotNil(t, out.FindElement("i"))
	assert.Len(t, out.FindElement("i").Child, 1, "text split by a comment is one text node in the copy")
	assert.Nil(t, out.Parent(), "the copy is detached")
}

// TestCanonicalizeRefuses checks what canonicalization refuses.
func TestCanonicalizeRefuses(t *testing.T) {
	t.Parallel()
	for name, src := range map[string]string{
		"undeclared element prefix":   `<p:a/>`,
		"undeclared attribute prefix": `<a p:x="1"/>`,
		"rebound xml prefix":          `<a xmlns:xml="urn:x"/>`,
		"xmlns prefix declared":       `<a xmlns:xmlns="urn:x"/>`,
		"prefix bound to xml's URI":   `<a xmlns:p="http://www.w3.org/XML/1998/namespace"/>`,
		"prefix undeclared":           `<a xmlns:p="urn:p"><b xmlns:p=""/></a>`,
		"one name twice":              `<a xmlns:p="urn:x" xmlns:q="urn:x" p:n="1" q:n="2"/>`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			doc := etree.NewDocument()
			require.NoError(t, doc.ReadFromString(src))
			_, err := canonicalize(&bytes.Buffer{}, doc.Root(), nil, "", 1<<20)
			assert.Error(t, err)
			_, _, err = parseXML([]byte(src))
			assert.Error(t, err, "the scan refuses it before any signature work")
		})
	}
}

// TestCanonicalizeOutputCap checks that a namespace declared once and
// rendered on every element that uses it cannot make the output
// unbounded.
func TestCanonicalizeOutputCap(t *testing.T) {
	t.Parallel()
	doc := `<a xmlns:p="urn:` + strings.Repeat("u", 1000) + `">` + strings.Repeat("<b><p:c/></b>", 200) + `</a>`
	d, _, err := parseXML([]byte(doc))
	require.NoError(t, err)
	_, err = canonicalize(&bytes.Buffer{}, d.Root(), nil, "", 100<<10)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "canonical form of <a> is more than")
	_, err = canonicalize(&bytes.Buffer{}, d.Root(), nil, "", 300<<10)
	assert.NoError(t, err)
}

// TestCanonicalizeAgreesWithGoxmldsig compares the canonical form of every
// signed element of the real responses in testdata with goxmldsig's, an
// independent implementation, on a detached copy.
func TestCanonicalizeAgreesWithGoxmldsig(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/valid/*")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	compared := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		if strings.HasSuffix(f, ".b64") {
			raw, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(raw)), ""))
			require.NoError(t, err)
		}
		_, sc, err := parseXML(raw)
		require.NoError(t, err, f)
		for _, sig := range sc.signatures {
			signed := sig.Parent()
			list := ""
			if tr := sig.FindElement("./SignedInfo/Reference/Transforms/Transform[2]/InclusiveNamespaces"); tr != nil {
				list = tr.SelectAttrValue("PrefixList", "")
			}
			var ours bytes.Buffer
			_, err := canonicalize(&ours, signed, sig, list, 1<<20)
			require.NoError(t, err, f)
			detached := detachedCopy(signed)
			for _, s := range detached.FindElements("./Signature") {
				detached.RemoveChild(s)
			}
			theirs, err := dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList(list).Canonicalize(detached)
			require.NoError(t, err, f)
			assert.Equal(t, string(theirs), ours.String(), "%s: <%s>", f, signed.Tag)
			compared++
		}
	}
	assert.Greater(t, compared, 20)
}

// detachedCopy copies el with every namespace declaration in scope.
func detachedCopy(el *etree.Element) *etree.Element {
	out := el.Copy()
	seen := map[string]bool{}
	for _, a := range el.Attr {
		if _, ok := nsDeclaration(a); ok {
			seen[a.FullKey()] = true
		}
	}
	for p := el.Parent(); p != nil; p = p.Parent() {
		for _, a := range p.Attr {
			if _, ok := nsDeclaration(a); ok && !seen[a.FullKey()] {
				seen[a.FullKey()] = true
				out.CreateAttr(a.FullKey(), a.Value)
			}
		}
	}
	return out
}

// FuzzCanonicalize checks properties of canonicalization on any document
// parseXML accepts: the output is well-formed, canonicalizing it again
// gives the same bytes, and so does canonicalizing the copy, which is
// therefore exactly what the bytes say.
func FuzzCanonicalize(f *testing.F) {
	for _, s := range []string{
		`<n0:local xmlns:n0="foo:bar" xmlns:n3="ftp://example.org"><n1:elem2 xmlns:n1="http://example.net" xml:lang="en"><n3:stuff xmlns:n3="ftp://example.org"/></n1:elem2></n0:local>`,
		`<a xmlns="urn:a"><b xmlns=""><c x="1" y="&amp;&#9;"/>t&#13;<!-- c --></b></a>`,
		`<a xmlns:p="urn:x" xmlns:q="urn:y" q:n="1" p:n="2"><p:b/><![CDATA[<&>]]></a>`,
	} {
		f.Add(s, "")
		f.Add(s, "#default p")
	}
	f.Fuzz(func(t *testing.T, doc, inclusive string) {
		d, _, err := parseXML([]byte(doc))
		if err != nil {
			return
		}
		if len(prefixList(inclusive)) > maxPrefixList {
			return
		}
		var first bytes.Buffer
		out, err := canonicalize(&first, d.Root(), nil, inclusive, 1<<20)
		if err != nil {
			return
		}
		again, _, err := parseXML(first.Bytes())
		require.NoError(t, err, "canonical output is not well-formed: %q", first.String())
		var second bytes.Buffer
		_, err = canonicalize(&second, again.Root(), nil, inclusive, 1<<20)
		require.NoError(t, err)
		assert.Equal(t, first.String(), second.String(), "not idempotent")
		var fromCopy bytes.Buffer
		_, err = canonicalize(&fromCopy, out, nil, inclusive, 1<<20)
		require.NoError(t, err)
		assert.Equal(t, first.String(), fromCopy.String(), "the copy differs from the bytes")
	})
}
