package saml

import (
	"bytes"
	"encoding/base64"
	"strings"

	"github.com/beevik/etree"
)

// Limits applied before any signature work.
const (
	maxDepth    = 48     // real responses nest about 8 deep
	maxElements = 100000 // about 30 bytes per element at the default size cap
	// Real responses put a handful of attributes (namespace declarations
	// included) on an element; the cap keeps per-element work such as
	// inheritNamespaces, which is quadratic in it, small.
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
// names that round-trip, no duplicate attributes, unique IDs, and bounds on
// depth and element count. It also collects the elements the later steps
// look for.
func parseXML(raw []byte) (*etree.Document, *scanned, error) {
	doc := etree.NewDocument()
	doc.ReadSettings = etree.ReadSettings{
		PreserveDuplicateAttrs: true, // so that scan can refuse them
		MaxDepth:               maxDepth,
	}
	if err := doc.ReadFromBytes(raw); err != nil {
		return nil, nil, wrapError(CodeMalformed, err, "the response is not well-formed XML: %v", err)
	}
	sc := &scanned{}
	if err := sc.document(doc); err != nil {
		return nil, nil, err
	}
	return doc, sc, nil
}

// scanned holds what one walk over the tree found.
type scanned struct {
	elements   int
	ids        []string            // every ID and Id attribute value
	idSet      map[string]struct{} // the same as a set, once there are many
	assertions []*etree.Element    // saml:Assertion and saml:EncryptedAssertion, anywhere
	signatures []*etree.Element    // ds:Signature, anywhere
}

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

// walk visits el and its descendants without recursion.
func (sc *scanned) walk(root *etree.Element) error {
	stack := make([]*etree.Element, 1, maxDepth)
	stack[0] = root
	for len(stack) > 0 {
		el := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if err := sc.element(el); err != nil {
			return err
		}
		for i := len(el.Child) - 1; i >= 0; i-- {
			switch t := el.Child[i].(type) {
			case *etree.Element:
				stack = append(stack, t)
			case *etree.Directive:
				return newError(CodeMalformed, "directives are not allowed in SAML messages")
			case *etree.ProcInst:
				return newError(CodeMalformed, "processing instruction <?%s?> is not allowed", t.Target)
			}
		}
	}
	return nil
}

func (sc *scanned) element(el *etree.Element) error {
	sc.elements++
	if sc.elements > maxElements {
		return newError(CodeMalformed, "the response has more than %d elements", maxElements)
	}
	if !validName(el.Space, el.Tag) {
		return newError(CodeMalformed, "element name %q is not a valid XML name", el.FullTag())
	}
	if len(el.Attr) > maxAttributes {
		return newError(CodeMalformed, "<%s> has %d attributes, more than the %d allowed", el.FullTag(), len(el.Attr), maxAttributes)
	}
	for i := range el.Attr {
		a := &el.Attr[i]
		if !validName(a.Space, a.Key) {
			return newError(CodeMalformed, "attribute name %q on <%s> is not a valid XML name", a.FullKey(), el.FullTag())
		}
		if a.Space == "" && (a.Key == "ID" || a.Key == "Id") {
			if err := sc.id(a.Value); err != nil {
				return err
			}
		}
	}
	if duplicateAttr(el) {
		return newError(CodeMalformed, "an attribute appears twice on <%s>", el.FullTag())
	}
	switch el.Tag {
	case "Assertion", "EncryptedAssertion":
		if el.NamespaceURI() == nsAssertion {
			sc.assertions = append(sc.assertions, el)
		}
	case "Signature":
		if el.NamespaceURI() == nsDSig {
			sc.signatures = append(sc.signatures, el)
		}
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
// them: parsers disagree on which one wins.
func duplicateAttr(el *etree.Element) bool {
	if len(el.Attr) <= 16 {
		for i := range el.Attr {
			for j := range i {
				if el.Attr[j].Space == el.Attr[i].Space && el.Attr[j].Key == el.Attr[i].Key {
					return true
				}
			}
		}
		return false
	}
	seen := make(map[[2]string]struct{}, len(el.Attr))
	for _, a := range el.Attr {
		k := [2]string{a.Space, a.Key}
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
