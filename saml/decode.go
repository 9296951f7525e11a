package saml

import (
	"bytes"
	"encoding/base64"
	"strings"

	"github.com/beevik/etree"
)

// Limits applied before any signature work. They bound what one message
// can cost: etree spends about 300 bytes and a microsecond on an element
// and 370 bytes on an attribute, and the verified copy about half as much
// again, so these caps keep the worst document within about 15 MB and
// 40 ms (BenchmarkHostileInput). Real responses stay far below: a 1 MB
// response of 5,000 Okta-style attribute values has 5,050 elements and
// 15,200 attributes.
const (
	maxDepth = 48 // real responses nest about 8 deep
	// maxElements and maxAttributesTotal cap the whole document, counted
	// in its bytes before etree builds anything.
	maxElements        = 25000
	maxAttributesTotal = 20000
	// Real responses put a handful of attributes (namespace declarations
	// included) on an element.
	maxAttributes = 64
)

// decodeResponse turns the SAMLResponse form value into XML bytes. It takes
// base64 as posted (line breaks and spaces inside allowed) or raw XML.
func decodeResponse(form string, maxSize int) ([]byte, error) {
	s := strings.TrimSpace(form)
	if s == "" {
		return nil, newError(CodeMalformed, "the SAMLResponse is empty")
	}
	if s[0] == '<' || strings.HasPrefix(s, "\ufeff<") {
		if len(s) > maxSize {
			return nil, newError(CodeMalformed, "the response is %d bytes, more than the %d allowed", len(s), maxSize)
		}
		return []byte(strings.TrimPrefix(s, "\ufeff")), nil
	}
	if base64.StdEncoding.DecodedLen(len(s)) > maxSize+maxSize/8+1024 {
		return nil, newError(CodeMalformed, "the response is about %d bytes, more than the %d allowed", base64.StdEncoding.DecodedLen(len(s)), maxSize)
	}
	if strings.ContainsAny(s, " \t\v\f") {
		// The decoder skips CR and LF itself; other spaces come from
		// forms and copy-paste.
		s = strings.Map(func(r rune) rune {
			switch r {
			case ' ', '\t', '\v', '\f':
				return -1
			}
			return r
		}, s)
	}
	raw := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
	n, err := base64.StdEncoding.Decode(raw, []byte(s))
	if err != nil {
		return nil, wrapError(CodeMalformed, err, "the SAMLResponse is neither base64 nor XML: %v", err)
	}
	raw = bytes.TrimPrefix(raw[:n], []byte("\ufeff"))
	if len(raw) > maxSize {
		return nil, newError(CodeMalformed, "the response is %d bytes, more than the %d allowed", len(raw), maxSize)
	}
	if len(raw) == 0 || raw[0] != '<' && !bytes.HasPrefix(bytes.TrimLeft(raw, " \t\r\n"), []byte("<")) {
		return nil, newError(CodeMalformed, "the decoded SAMLResponse is not XML (a deflated or encrypted value? the HTTP-POST binding sends plain base64)")
	}
	return raw, nil
}

// parseXML parses the response once and checks everything that can be
// checked without crypto: no DOCTYPE, entity or processing instruction,
// names that round-trip, declared namespace prefixes, no duplicate
// attributes, unique IDs, and bounds on depth, element and attribute
// counts. It also collects the elements the later steps look for.
func parseXML(raw []byte) (*etree.Document, *scanned, error) {
	return parseXMLWithin(raw, &markupBudget{elements: maxElements, attributes: maxAttributesTotal})
}

// markupBudget is what is left of maxElements and maxAttributesTotal. A
// response and the XML decrypted from it share one, so that an encrypted
// assertion cannot double what a message may cost.
type markupBudget struct{ elements, attributes int }

// parseXMLWithin is parseXML taking the elements and attributes of raw
// from budget.
func parseXMLWithin(raw []byte, budget *markupBudget) (*etree.Document, *scanned, error) {
	if budget == nil {
		budget = &markupBudget{elements: maxElements, attributes: maxAttributesTotal}
	}
	raw, err := budget.take(raw)
	if err != nil {
		return nil, nil, err
	}
	doc := etree.NewDocument()
	doc.ReadSettings = etree.ReadSettings{
		PreserveDuplicateAttrs: true, // so that scan can refuse them
		MaxDepth:               maxDepth,
	}
	if err := doc.ReadFromBytes(raw); err != nil {
		return nil, nil, wrapError(CodeMalformed, err, "the response is not well-formed XML: %v", err)
	}
	sc := newScan(maxElements)
	sc.budget = budget
	if err := sc.document(doc); err != nil {
		return nil, nil, err
	}
	return doc, sc, nil
}

// take counts the start tags and attributes of raw, reading its bytes
// only, and takes them from the budget, refusing raw when they exceed it:
// building a tree is what costs, so the count comes first. Comments, CDATA
// sections, processing instructions and end tags are skipped; markup they
// hide is not counted. The count is exact for well-formed XML, and
// anything else the parser refuses anyway.
//
// It returns raw with attribute values normalized as XML 1.0 section
// 3.3.3 says (a literal tab, CR, LF or CRLF in a quoted value reads as one
// space), which encoding/xml does not do: without it, a value signed by
// libxml2 or xmlsec1 as "a b" would be canonicalized here as "a&#xA;b"
// and its digest would differ. raw itself is returned when nothing needs
// normalizing, a copy otherwise.
func (b *markupBudget) take(raw []byte) ([]byte, error) {
	elements, attrs := 0, 0
	var out []byte // raw[:copied] normalized, once a value needs it
	copied := 0
	for i := 0; i < len(raw); {
		lt := bytes.IndexByte(raw[i:], '<')
		if lt < 0 {
			break
		}
		i += lt + 1
		rest := raw[i:]
		switch {
		case len(rest) == 0:
		case bytes.HasPrefix(rest, []byte("!--")):
			i += skipPast(rest, "-->")
		case bytes.HasPrefix(rest, []byte("![CDATA[")):
			i += skipPast(rest, "]]>")
		case rest[0] == '?':
			i += skipPast(rest, "?>")
		case rest[0] == '/' || rest[0] == '!':
			i += skipPast(rest, ">")
		default:
			elements++
			n, a, spaced := startTag(rest)
			if spaced {
				out = append(out, raw[copied:i]...)
				out = appendNormalizedTag(out, rest[:n])
				copied = i + n
			}
			i += n
			attrs += a
		}
		if elements > b.elements {
			return nil, newError(CodeMalformed, "the XML has more than %d elements (decrypted parts included)", b.elements)
		}
		if attrs > b.attributes {
			return nil, newError(CodeMalformed, "the XML has more than %d attributes, namespace declarations and decrypted parts included", b.attributes)
		}
	}
	b.elements -= elements
	b.attributes -= attrs
	if out != nil {
		return append(out, raw[copied:]...), nil
	}
	return raw, nil
}

// skipPast returns the length of b up to and including the first end, or
// len(b) when there is none.
func skipPast(b []byte, end string) int {
	if j := bytes.Index(b, []byte(end)); j >= 0 {
		return j + len(end)
	}
	return len(b)
}

// startTag returns the length of the start tag at the beginning of b (up
// to its '>'), the number of attributes in it (the '=' outside quoted
// values), and whether a quoted value holds a tab, CR or LF.
func startTag(b []byte) (n, attrs int, spaced bool) {
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '>':
			return i + 1, attrs, spaced
		case '=':
			attrs++
		case '"', '\'':
			j := bytes.IndexByte(b[i+1:], b[i])
			if j < 0 {
				return len(b), attrs, spaced
			}
			spaced = spaced || bytes.ContainsAny(b[i+1:i+1+j], "\t\r\n")
			i += j + 1
		}
	}
	return len(b), attrs, spaced
}

// appendNormalizedTag appends the start tag tag to out with every tab, CR,
// LF and CRLF inside its quoted values replaced by one space.
func appendNormalizedTag(out, tag []byte) []byte {
	var quote byte
	for i := 0; i < len(tag); i++ {
		c := tag[i]
		switch {
		case quote == 0:
			if c == '"' || c == '\'' {
				quote = c
			}
		case c == quote:
			quote = 0
		case c == '\r' && i+1 < len(tag) && tag[i+1] == '\n':
			continue // CRLF is one line end: its LF becomes the space
		case c == '\t' || c == '\r' || c == '\n':
			c = ' '
		}
		out = append(out, c)
	}
	return out
}

// scanned holds what one walk over the tree found.
type scanned struct {
	elements   int
	limit      int                 // the most elements allowed
	budget     *markupBudget       // what is left for decrypted parts
	ns         *nsScope            // the namespaces in scope during the walk
	ids        []string            // every ID and Id attribute value
	idSet      map[string]struct{} // the same as a set, once there are many
	assertions []*etree.Element    // saml:Assertion and saml:EncryptedAssertion, anywhere
	signatures []*etree.Element    // ds:Signature, anywhere
}

// newScan returns a scan that allows at most limit elements.
func newScan(limit int) *scanned { return &scanned{limit: limit, ns: newNSScope()} }

func (sc *scanned) document(doc *etree.Document) error {
	root := 0
	for i, t := range doc.Child {
		switch t := t.(type) {
		case *etree.Element:
			root++
			if err := sc.walk(t); err != nil {
				return err
			}
		case *etree.ProcInst:
			if t.Target != "xml" || i != 0 {
				return newError(CodeMalformed, "processing instruction <?%s?> is not allowed", t.Target)
			}
		case *etree.Directive:
			return newError(CodeMalformed, "DOCTYPE and other directives are not allowed in SAML messages")
		case *etree.CharData:
			if !t.IsWhitespace() {
				return newError(CodeMalformed, "text outside the root element")
			}
		}
	}
	if root != 1 {
		return newError(CodeMalformed, "the document has %d root elements, want 1", root)
	}
	return nil
}

// walk visits el and its descendants, with their namespaces in scope. The
// recursion is as deep as the tree, which the parser caps at maxDepth.
func (sc *scanned) walk(el *etree.Element) error {
	mark, err := sc.ns.enter(el)
	if err != nil {
		return err
	}
	defer sc.ns.leave(mark)
	if err := sc.element(el); err != nil {
		return err
	}
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.Element:
			if err := sc.walk(t); err != nil {
				return err
			}
		case *etree.Directive:
			return newError(CodeMalformed, "directives are not allowed in SAML messages")
		case *etree.ProcInst:
			return newError(CodeMalformed, "processing instruction <?%s?> is not allowed", t.Target)
		}
	}
	return nil
}

func (sc *scanned) element(el *etree.Element) error {
	sc.elements++
	if sc.elements > sc.limit {
		return newError(CodeMalformed, "the document has more than %d elements", sc.limit)
	}
	if !validName(el.Space, el.Tag) {
		return newError(CodeMalformed, "element name %q is not a valid XML name", el.FullTag())
	}
	uri, err := sc.ns.resolve(el, el.Space, el.Tag)
	if err != nil {
		return err
	}
	if len(el.Attr) > maxAttributes {
		return newError(CodeMalformed, "<%s> has %d attributes, more than the %d allowed", el.FullTag(), len(el.Attr), maxAttributes)
	}
	for i := range el.Attr {
		a := &el.Attr[i]
		if !validName(a.Space, a.Key) {
			return newError(CodeMalformed, "attribute name %q on <%s> is not a valid XML name", a.FullKey(), el.FullTag())
		}
		if a.Space != "" && a.Space != "xmlns" {
			if _, err := sc.ns.resolve(el, a.Space, a.Key); err != nil {
				return err
			}
		}
		if a.Space == "" && (a.Key == "ID" || a.Key == "Id") {
			if err := sc.id(a.Value); err != nil {
				return err
			}
		}
	}
	if sc.duplicateAttr(el) {
		return newError(CodeMalformed, "an attribute appears twice on <%s>", el.FullTag())
	}
	switch {
	case (el.Tag == "Assertion" || el.Tag == "EncryptedAssertion") && uri == nsAssertion:
		sc.assertions = append(sc.assertions, el)
	case el.Tag == "Signature" && uri == nsDSig:
		sc.signatures = append(sc.signatures, el)
	}
	return nil
}

// id records one ID value and refuses a repeated one. A handful of IDs is
// usual, so a slice alone serves until a hostile document brings many; ids
// keeps every value either way.
func (sc *scanned) id(v string) error {
	if sc.idSet != nil {
		if _, dup := sc.idSet[v]; dup {
			return duplicateID(v)
		}
		sc.idSet[v] = struct{}{}
		sc.ids = append(sc.ids, v)
		return nil
	}
	for _, id := range sc.ids {
		if id == v {
			return duplicateID(v)
		}
	}
	sc.ids = append(sc.ids, v)
	if len(sc.ids) > 16 {
		sc.idSet = make(map[string]struct{}, 2*len(sc.ids))
		for _, id := range sc.ids {
			sc.idSet[id] = struct{}{}
		}
	}
	return nil
}

func duplicateID(v string) error {
	return newError(CodeStructure, "the ID %q appears on more than one element (a signature wrapping attempt?)", v)
}

// duplicateAttr reports whether el has two attributes of one name, which
// etree keeps (ReadSettings.PreserveDuplicateAttrs) so that we can refuse
// them: parsers disagree on which one wins. Two prefixes bound to one
// namespace make one name too (p:a and q:a).
func (sc *scanned) duplicateAttr(el *etree.Element) bool {
	same := func(a, b *etree.Attr) bool {
		if a.Key != b.Key {
			return false
		}
		if a.Space == b.Space {
			return true
		}
		if a.Space == "" || b.Space == "" || a.Space == "xmlns" || b.Space == "xmlns" {
			return false
		}
		ua, _ := sc.ns.lookup(a.Space)
		ub, _ := sc.ns.lookup(b.Space)
		return ua == ub
	}
	if len(el.Attr) <= 16 {
		for i := range el.Attr {
			for j := range i {
				if same(&el.Attr[j], &el.Attr[i]) {
					return true
				}
			}
		}
		return false
	}
	seen := make(map[[2]string]struct{}, len(el.Attr))
	for _, a := range el.Attr {
		space := a.Space
		if space != "" && space != "xmlns" {
			space, _ = sc.ns.lookup(space) // a URI: it has a colon, so no prefix equals it
		}
		k := [2]string{space, a.Key}
		if _, dup := seen[k]; dup {
			return true
		}
		seen[k] = struct{}{}
	}
	return false
}

// validName reports whether a prefix and local name, as etree split them,
// are NCNames that a re-serialization cannot reinterpret (CVE-2020-29509,
// CVE-2020-29511: colons that encoding/xml splits inconsistently).
func validName(space, local string) bool {
	if local == "" || strings.IndexByte(local, ':') >= 0 || strings.IndexByte(space, ':') >= 0 {
		return false
	}
	return space != "" || !strings.HasPrefix(local, "xmlns:")
}
