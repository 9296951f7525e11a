package saml

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	dsig "github.com/russellhaering/goxmldsig"
)

// c14nGen builds random documents that stress what exclusive c14n decides
// on: namespace declarations (default undeclared with xmlns="", prefixes
// redeclared with the same or another URI in descendants, declarations
// nobody uses), prefixed and unprefixed attributes, xml: attributes,
// comments, CDATA, character and entity references in text and attribute
// values. One element carries ID="apex": the element canonicalized.
type c14nGen struct {
	r      *mrand.Rand
	b      strings.Builder
	apexAt int // the element number that gets ID="apex"
	n      int
	// literalWhitespace lets attribute values hold a literal tab or line
	// break, which XML attribute-value normalization turns into a space
	// in a conforming parser (and encoding/xml does not).
	literalWhitespace bool
	// goxmldsigSafe keeps to what goxmldsig v1.6.1 canonicalizes as the
	// specification says: no xmlns="" (goxmldsig renders it even when no
	// output ancestor rendered a default namespace) and at most one
	// prefixed attribute per element (goxmldsig sorts prefixed attributes
	// by local name, not by namespace URI).
	goxmldsigSafe bool
}

var (
	genPrefixes = []string{"", "a", "b", "c"}
	genURIs     = []string{"urn:1", "urn:2", "urn:x:3"}
	genText     = []string{"t", "u v", "&amp;", "&lt;", "&gt;", ">", "\"", "'", "&#13;", "&#xD;", "\r\n", "\n", "\t", " ",
		"<!--c-->", "<!---->", "<![CDATA[x]]>", "<![CDATA[<&>\"]]>", "]]&gt;", "é", "&#x10000;", "&#9;", "&#10;", "&quot;", "&apos;"}
	genValues = []string{"v", "", " ", "&amp;", "&lt;", ">", "&gt;", "&quot;", "'", "&#9;", "&#10;", "&#13;", "&#x20;", "é", "a b"}
)

func (g *c14nGen) pick(s []string) string { return s[g.r.IntN(len(s))] }

// document returns a random document.
func (g *c14nGen) document() string {
	g.b.Reset()
	g.n = 0
	g.apexAt = g.r.IntN(4)
	g.element(0, map[string]string{"": ""})
	return g.b.String()
}

func (g *c14nGen) element(depth int, scope map[string]string) {
	g.n++
	me := g.n
	inner := make(map[string]string, len(scope)+2)
	for k, v := range scope {
		inner[k] = v
	}
	prefix := g.pick(genPrefixes)
	var decls []string
	declare := func(p, uri string) {
		key := "xmlns"
		if p != "" {
			key += ":" + p
		}
		for _, d := range decls {
			if strings.HasPrefix(d, key+"=") {
				return
			}
		}
		decls = append(decls, key+`="`+uri+`"`)
		inner[p] = uri
	}
	// Random declarations, some redundant, some rebinding.
	for range g.r.IntN(3) {
		p := g.pick(genPrefixes)
		uri := g.pick(genURIs)
		if p == "" && !g.goxmldsigSafe && g.r.IntN(3) == 0 {
			uri = "" // xmlns=""
		}
		declare(p, uri)
	}
	if _, ok := inner[prefix]; !ok {
		declare(prefix, g.pick(genURIs))
	}
	name := prefix
	if name != "" {
		name += ":"
	}
	name += g.pick([]string{"e", "f"})
	g.b.WriteString("<" + name)
	for _, d := range decls {
		g.b.WriteString(" " + d)
	}
	used := map[string]bool{}
	prefixed := 0
	for range g.r.IntN(4) {
		var key string
		switch kind := g.r.IntN(4); {
		case kind == 0:
			key = g.pick([]string{"x", "y", "z"})
		case g.goxmldsigSafe && prefixed > 0:
			continue
		case kind == 1:
			prefixed++
			key = "xml:" + g.pick([]string{"lang", "space", "base", "id"})
		default:
			p := g.pick(genPrefixes[1:])
			if _, ok := inner[p]; !ok {
				continue
			}
			prefixed++
			key = p + ":" + g.pick([]string{"x", "y"})
		}
		if used[key] {
			continue
		}
		used[key] = true
		g.b.WriteString(" " + key + `="`)
		for range g.r.IntN(3) {
			v := g.pick(genValues)
			if g.literalWhitespace && g.r.IntN(4) == 0 {
				v = g.pick([]string{"\t", "\n", "\r\n"})
			}
			g.b.WriteString(v)
		}
		g.b.WriteString(`"`)
	}
	if me == g.apexAt+1 {
		g.b.WriteString(` ID="apex"`)
	}
	g.b.WriteString(">")
	for range g.r.IntN(4) {
		if depth < 4 && g.r.IntN(2) == 0 {
			g.element(depth+1, inner)
			continue
		}
		g.b.WriteString(g.pick(genText))
	}
	g.b.WriteString("</" + name + ">")
}

// goxmldsigC14N is goxmldsig's exclusive c14n of el, on a detached copy
// carrying every declaration in scope (as goxmldsig's own validation
// does with NSDetatch).
func goxmldsigC14N(el *etree.Element, prefixList string) (string, error) {
	out, err := dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList(prefixList).Canonicalize(detachedCopy(el))
	return string(out), err
}

// genPrefixLists are InclusiveNamespaces PrefixLists: none, #default,
// declared and undeclared prefixes, xml, odd whitespace.
var genPrefixLists = []string{"", "", "#default", "a", "b a", "#default c", "xml", "d", " a\t#default "}

// goxmldsigComparable reports whether goxmldsig v1.6.1 canonicalizes doc
// with list as the specification says (see c14nGen.goxmldsigSafe), so
// that any difference is a bug on one side.
func goxmldsigComparable(doc *etree.Document, list string) bool {
	if strings.Contains(list, "#default") {
		return false // goxmldsig does not read #default
	}
	for _, el := range doc.FindElements("//*") {
		prefixed := 0
		for _, a := range el.Attr {
			if a.Space == "" && a.Key == "xmlns" && a.Value == "" {
				return false
			}
			if _, decl := nsDeclaration(a); !decl && a.Space != "" {
				prefixed++
			}
		}
		if prefixed > 1 {
			return false
		}
	}
	return true
}

// checkAgainstGoxmldsig compares our canonical form of the root of doc,
// and of its element with ID="apex" when there is one, with goxmldsig's.
func checkAgainstGoxmldsig(t *testing.T, doc, list string) {
	t.Helper()
	d, _, err := parseXML([]byte(doc))
	if err != nil || !goxmldsigComparable(d, list) {
		return
	}
	for _, el := range []*etree.Element{d.Root(), d.FindElement("//[@ID='apex']")} {
		if el == nil {
			continue
		}
		var ours bytes.Buffer
		_, err := canonicalize(&ours, el, nil, list, 1<<20)
		require.NoError(t, err, "%q", doc)
		theirs, err := goxmldsigC14N(el, list)
		require.NoError(t, err, "%q", doc)
		require.Equal(t, theirs, ours.String(), "<%s> of %q, PrefixList %q", el.FullTag(), doc, list)
	}
}

// TestCanonicalizeMatchesGoxmldsigOnRandomDocuments compares our exclusive
// c14n with goxmldsig's, an independent implementation, on thousands of
// random documents in the part of the specification goxmldsig follows.
// TestCanonicalizeMatchesXmlsec1 covers the rest.
func TestCanonicalizeMatchesGoxmldsigOnRandomDocuments(t *testing.T) {
	t.Parallel()
	g := &c14nGen{r: mrand.New(mrand.NewPCG(1, 2)), goxmldsigSafe: true}
	for range 3000 {
		list := g.pick(genPrefixLists)
		if strings.Contains(list, "#default") {
			list = ""
		}
		checkAgainstGoxmldsig(t, g.document(), list)
	}
}

// FuzzCanonicalizeMatchesGoxmldsig is the differential fuzz target: any
// document parseXML accepts, in the part of the specification goxmldsig
// follows, must canonicalize to goxmldsig's bytes.
func FuzzCanonicalizeMatchesGoxmldsig(f *testing.F) {
	g := &c14nGen{r: mrand.New(mrand.NewPCG(7, 8)), goxmldsigSafe: true}
	for i := range 40 {
		f.Add(g.document(), genPrefixLists[i%len(genPrefixLists)])
	}
	f.Add(`<n0:local xmlns:n0="foo:bar" xmlns:n3="ftp://example.org"><n1:elem2 xmlns:n1="http://example.net" xml:lang="en" ID="apex"><n3:stuff xmlns:n3="ftp://example.org"/></n1:elem2></n0:local>`, "n3")
	f.Fuzz(func(t *testing.T, doc, list string) {
		if len(prefixList(list)) > maxPrefixList {
			return
		}
		checkAgainstGoxmldsig(t, doc, list)
	})
}

// xmlsec1Canonicalizer runs xmlsec1 (libxmlsec1 on libxml2, the reference
// most IdPs sign with) to get its exclusive c14n of an element: it signs a
// document whose signature template references #apex and prints the
// pre-digest data (--store-references).
type xmlsec1Canonicalizer struct{ bin, dir, key string }

func newXmlsec1Canonicalizer(t *testing.T) *xmlsec1Canonicalizer {
	t.Helper()
	bin, err := exec.LookPath("xmlsec1")
	if err != nil {
		const msg = "xmlsec1 is not installed (apt-get install xmlsec1): the c14n cross-check against libxml2 is skipped"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + "; with CI=true a skip is a failure")
		}
		t.Skip(msg)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600))
	return &xmlsec1Canonicalizer{bin: bin, dir: dir, key: keyFile}
}

// canonicalize returns xmlsec1's canonical form of the element with
// ID="apex" in doc, which must hold diffSignatureTemplate; idAttr names
// that element for --id-attr ("uri:local" or "local").
func (x *xmlsec1Canonicalizer) canonicalize(doc, idAttr string) (string, error) {
	f, err := os.CreateTemp(x.dir, "doc*.xml")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(doc); err != nil {
		return "", err
	}
	f.Close()
	out, err := exec.Command(x.bin, "--sign", "--privkey-pem", x.key, "--id-attr:ID", idAttr,
		"--store-references", "--output", os.DevNull, f.Name()).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("xmlsec1: %v: %s", err, out)
	}
	const start, end = "== PreDigest data - start buffer:\n", "\n== PreDigest data - end buffer"
	i := bytes.Index(out, []byte(start))
	j := bytes.Index(out, []byte(end))
	if i < 0 || j < i {
		return "", fmt.Errorf("xmlsec1 printed no pre-digest data: %s", out)
	}
	return string(out[i+len(start) : j]), nil
}

// diffSignatureTemplate is an enveloped signature template referencing
// #apex with exclusive c14n and the given PrefixList.
func diffSignatureTemplate(prefixList string) string {
	incl := ""
	if prefixList != "" {
		incl = `<ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="` + prefixList + `"/>`
	}
	return `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>` +
		`<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>` +
		`<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI="#apex"><ds:Transforms>` +
		`<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>` +
		`<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#">` + incl + `</ds:Transform></ds:Transforms>` +
		`<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference>` +
		`</ds:SignedInfo><ds:SignatureValue/></ds:Signature>`
}

// compare puts a signature template as the last child of doc's root,
// canonicalizes the element with ID="apex" with both implementations (the
// enveloped signature left out when the apex is the root) and reports
// whether doc was comparable.
func (x *xmlsec1Canonicalizer) compare(t *testing.T, doc, list string) bool {
	t.Helper()
	end := strings.LastIndex(doc, "</")
	doc = doc[:end] + diffSignatureTemplate(list) + doc[end:]
	d, _, err := parseXML([]byte(doc))
	if err != nil {
		return false
	}
	apex, sig := d.FindElement("//[@ID='apex']"), d.FindElement("//Signature")
	if apex == nil || sig == nil {
		return false
	}
	var ours bytes.Buffer
	_, err = canonicalize(&ours, apex, sig, list, 1<<20)
	require.NoError(t, err, "%q", doc)
	idAttr := apex.Tag
	if ns := apex.NamespaceURI(); ns != "" {
		idAttr = ns + ":" + apex.Tag
	}
	theirs, err := x.canonicalize(doc, idAttr)
	require.NoError(t, err)
	assert.Equal(t, theirs, ours.String(), "<%s> of %q, PrefixList %q", apex.FullTag(), doc, list)
	return true
}

// TestCanonicalizeMatchesXmlsec1 compares our exclusive c14n with
// xmlsec1's on random documents: default namespaces undeclared and
// redeclared, prefixes rebound in descendants, #default and other
// PrefixLists, xml: attributes, comments, CDATA, character references.
// goxmldsig departs from the specification on several of these; the named
// cases are those, where we agree with xmlsec1. It runs when xmlsec1 is
// installed (.ci/run installs it).
func TestCanonicalizeMatchesXmlsec1(t *testing.T) {
	t.Parallel()
	x := newXmlsec1Canonicalizer(t)
	named := []struct{ doc, list string }{
		// goxmldsig renders xmlns="" with no default namespace rendered above.
		{`<r xmlns:p="urn:p"><p:a><e xmlns="" ID="apex"><f/></e></p:a></r>`, ""},
		{`<p:a xmlns:p="urn:p" ID="apex"><e xmlns=""><f/></e></p:a>`, ""},
		// goxmldsig sorts prefixed attributes by local name.
		{`<e xmlns:a="urn:z" xmlns:b="urn:a" a:x="1" b:y="2" xml:lang="en" ID="apex"></e>`, ""},
		// goxmldsig ignores #default.
		{`<r xmlns="urn:d"><p:a xmlns:p="urn:p" ID="apex"><p:b/></p:a></r>`, "#default"},
		{`<r xmlns="urn:d"><p:a xmlns:p="urn:p" ID="apex"><b xmlns=""/></p:a></r>`, "#default p"},
		// A listed prefix declared on an ancestor.
		{`<r xmlns:q="urn:q"><p:a xmlns:p="urn:p" ID="apex"><p:b/></p:a></r>`, "q"},
	}
	for _, c := range named {
		assert.True(t, x.compare(t, c.doc, c.list), "%q", c.doc)
	}
	g := &c14nGen{r: mrand.New(mrand.NewPCG(3, 4))}
	compared := 0
	for compared < 120 {
		if x.compare(t, g.document(), g.pick(genPrefixLists)) {
			compared++
		}
	}
}
