package saml

import (
	"io"
	"slices"
	"strings"

	"github.com/beevik/etree"
)

// The namespaces XML reserves (Namespaces in XML 1.0, section 3).
const (
	nsXML   = "http://www.w3.org/XML/1998/namespace"
	nsXMLNS = "http://www.w3.org/2000/xmlns/"
)

// nsScope is the set of namespace bindings in scope during a walk down a
// tree: for each prefix, a stack of URIs, innermost last. Entering an
// element pushes its declarations and leaving pops them, so resolving a
// prefix is one map lookup however many declarations are in scope.
// goxmldsig instead copies every binding in scope at every element it
// visits, which a namespace-declaration bomb (issue 13: 30 nested elements
// of 60 declarations each, then a thousand empty elements) turns into half
// a gigabyte of garbage per pinned certificate.
type nsScope struct {
	uris   map[string][]string
	pushed []string // prefixes in the order they were pushed, for leave
}

func newNSScope() *nsScope { return &nsScope{uris: make(map[string][]string, 8)} }

// enter pushes the namespace declarations of el and returns the mark to
// pass to leave. A declaration XML forbids is an error: rebinding xml or
// xmlns, binding a prefix to either of their URIs, or undeclaring a prefix
// (xmlns:p="", which only XML 1.1 has).
func (s *nsScope) enter(el *etree.Element) (int, error) {
	mark := len(s.pushed)
	for _, a := range el.Attr {
		prefix, ok := nsDeclaration(a)
		if !ok {
			continue
		}
		switch {
		case prefix == "xml" && a.Value == nsXML:
			continue // allowed, and always in scope anyway
		case prefix == "xml" || prefix == "xmlns" || a.Value == nsXML || a.Value == nsXMLNS:
			return mark, newError(CodeMalformed, "<%s> declares the reserved namespace prefix or URI %q=%q", el.FullTag(), a.FullKey(), a.Value)
		case prefix != "" && a.Value == "":
			return mark, newError(CodeMalformed, "<%s> undeclares the namespace prefix %q, which XML 1.0 does not allow", el.FullTag(), prefix)
		}
		s.uris[prefix] = append(s.uris[prefix], a.Value)
		s.pushed = append(s.pushed, prefix)
	}
	return mark, nil
}

// leave pops what enter pushed since mark.
func (s *nsScope) leave(mark int) {
	for _, prefix := range s.pushed[mark:] {
		stack := s.uris[prefix]
		s.uris[prefix] = stack[:len(stack)-1]
	}
	s.pushed = s.pushed[:mark]
}

// enterAncestors pushes the declarations of el's ancestors, outermost
// first, so that el can be walked in the context it has in its document.
func (s *nsScope) enterAncestors(el *etree.Element) error {
	var chain []*etree.Element
	for p := el.Parent(); p != nil; p = p.Parent() {
		chain = append(chain, p)
	}
	for i := len(chain) - 1; i >= 0; i-- {
		if _, err := s.enter(chain[i]); err != nil {
			return err
		}
	}
	return nil
}

// lookup returns the URI prefix is bound to. The default namespace ("")
// is always bound, to "" when none is declared; xml is bound to its URI.
func (s *nsScope) lookup(prefix string) (string, bool) {
	if prefix == "xml" {
		return nsXML, true
	}
	if stack := s.uris[prefix]; len(stack) > 0 {
		return stack[len(stack)-1], true
	}
	return "", prefix == ""
}

// resolve returns the namespace URI of the name prefix:local on el, or an
// error naming what is undeclared.
func (s *nsScope) resolve(el *etree.Element, prefix, local string) (string, error) {
	uri, ok := s.lookup(prefix)
	if !ok {
		return "", newError(CodeMalformed, "<%s> uses the undeclared namespace prefix %q in %q", el.FullTag(), prefix, prefix+":"+local)
	}
	return uri, nil
}

// nsDeclaration reports whether a is a namespace declaration, and the
// prefix it declares ("" for the default namespace).
func nsDeclaration(a etree.Attr) (string, bool) {
	switch {
	case a.Space == "xmlns":
		return a.Key, true
	case a.Space == "" && a.Key == "xmlns":
		return "", true
	}
	return "", false
}

// canonicalizer writes the exclusive canonical form (Exclusive XML
// Canonicalization 1.0, without comments: the only canonicalization this
// package accepts) of an element of a parsed tree, and builds at the same
// time a detached copy of exactly what it wrote. The copy is the verified
// element values are read from: it holds what the digest covered and
// nothing else (no comment, no enveloped signature), as a fresh parse of
// the canonical bytes would, without the cost of a second parse.
//
// Its cost is linear in the size of the subtree: namespace bindings live
// in an nsScope, and the namespaces output ancestors rendered in a second
// one.
type canonicalizer struct {
	w         io.Writer
	buf       []byte
	inclusive []string       // the InclusiveNamespaces PrefixList, "" for #default
	exclude   *etree.Element // the enveloped signature, left out; or nil
	scope     *nsScope       // bindings in scope in the document
	rendered  *nsScope       // bindings rendered by output ancestors
	used      []string       // scratch: the prefixes an element renders
	attrs     []canonicalAttr
	err       error  // the first write error
	limit     int    // the most bytes to write
	name      string // the element canonicalized, for errors
	written   int

	// The copy is carved out of slabs sized by a first count, one
	// allocation each instead of one per node.
	elements []etree.Element
	texts    []etree.CharData
	tokens   []etree.Token
	attrSlab []etree.Attr
	keys     map[[2]string]string // "p:name" of each prefixed name, made once
}

type canonicalAttr struct {
	uri  string
	attr etree.Attr
}

// canonicalize writes the exclusive canonical form of el, in the namespace
// context of its ancestors, to w, leaving out exclude and its descendants
// (the enveloped-signature transform), and returns the copy. inclusive is
// the InclusiveNamespaces PrefixList. Writing more than limit bytes, or an
// element or attribute in an undeclared or reserved namespace, is an
// error.
func canonicalize(w io.Writer, el, exclude *etree.Element, inclusive string, limit int) (*etree.Element, error) {
	c := &canonicalizer{
		w:         w,
		limit:     limit,
		name:      el.FullTag(),
		buf:       make([]byte, 0, canonicalFlush),
		inclusive: prefixList(inclusive),
		exclude:   exclude,
		scope:     newNSScope(),
		rendered:  newNSScope(),
		keys:      map[[2]string]string{},
	}
	if err := c.scope.enterAncestors(el); err != nil {
		return nil, err
	}
	var n nodeCount
	n.count(el, exclude, len(c.inclusive)+1)
	c.elements = make([]etree.Element, n.elements)
	c.texts = make([]etree.CharData, n.texts)
	c.tokens = make([]etree.Token, 0, n.tokens)
	c.attrSlab = make([]etree.Attr, 0, n.attrs)
	out, err := c.element(el, nil)
	if err != nil {
		return nil, err
	}
	if err := c.flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// nodeCount bounds what the copy of a subtree holds.
type nodeCount struct{ elements, texts, tokens, attrs int }

// count adds el's subtree, without exclude, to n. extraAttrs is how many
// namespace declarations c14n may add to an element beyond one per
// attribute: its own prefix and the inclusive ones.
func (n *nodeCount) count(el, exclude *etree.Element, extraAttrs int) {
	n.elements++
	n.tokens += len(el.Child)
	n.attrs += extraAttrs
	for _, a := range el.Attr {
		if _, decl := nsDeclaration(a); decl {
			continue
		}
		n.attrs++
		if a.Space != "" {
			n.attrs++ // the declaration of its prefix
		}
	}
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.CharData:
			n.texts++
		case *etree.Element:
			if t != exclude {
				n.count(t, exclude, extraAttrs)
			}
		}
	}
}

// prefixList splits an InclusiveNamespaces PrefixList (XML whitespace
// separated NMTOKENS; "#default" names the default namespace).
func prefixList(s string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(s, isXMLSpace) {
		if p == "#default" {
			p = ""
		}
		out = append(out, p)
	}
	return out
}

func (c *canonicalizer) element(el, parent *etree.Element) (*etree.Element, error) {
	scopeMark, err := c.scope.enter(el)
	if err != nil {
		return nil, err
	}
	defer c.scope.leave(scopeMark)
	renderedMark := len(c.rendered.pushed)
	defer c.rendered.leave(renderedMark)

	out := c.newElement(parent == nil)
	out.Space, out.Tag = el.Space, el.Tag
	out.Child = carve(&c.tokens, len(el.Child))
	if err := c.startTag(el, out); err != nil {
		return nil, err
	}
	if parent != nil {
		parent.AddChild(out)
	}
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.CharData:
			c.text(t.Data)
			if n := len(out.Child); n > 0 {
				if prev, ok := out.Child[n-1].(*etree.CharData); ok {
					prev.Data += t.Data // text split by a comment is one text node
					continue
				}
			}
			cd := &etree.CharData{}
			if len(c.texts) > 0 {
				cd, c.texts = &c.texts[0], c.texts[1:]
			}
			cd.Data = t.Data
			out.AddChild(cd)
		case *etree.Element:
			if t == c.exclude {
				continue
			}
			if _, err := c.element(t, out); err != nil {
				return nil, err
			}
		case *etree.Comment:
			// Dropped by c14n without comments; text() reads around it.
		default:
			return nil, newError(CodeMalformed, "<%s> holds a processing instruction or directive, which SAML messages may not", el.FullTag())
		}
	}
	c.write("</")
	c.qname(el.Space, el.Tag)
	c.write(">")
	return out, c.err
}

// newElement returns an element for the copy: from the slab, or, for the
// copy's root, as etree makes an unparented one.
func (c *canonicalizer) newElement(root bool) *etree.Element {
	if root || len(c.elements) == 0 {
		return etree.NewElement("")
	}
	el := &c.elements[0]
	c.elements = c.elements[1:]
	return el
}

// carve returns an empty slice of capacity n from the spare capacity of
// *slab, or a new one when the count fell short.
func carve[T any](slab *[]T, n int) []T {
	s := *slab
	if cap(s)-len(s) < n {
		return make([]T, 0, n)
	}
	*slab = s[:len(s)+n]
	return s[len(s) : len(s) : len(s)+n]
}

// startTag writes el's start tag: the namespace declarations exclusive c14n
// renders, sorted by prefix, then the attributes sorted by namespace URI
// and local name. It declares and sets the same on out.
func (c *canonicalizer) startTag(el, out *etree.Element) error {
	c.used = append(c.used[:0], el.Space)
	c.attrs = c.attrs[:0]
	if _, err := c.scope.resolve(el, el.Space, el.Tag); err != nil {
		return err
	}
	for _, a := range el.Attr {
		if _, ok := nsDeclaration(a); ok {
			continue
		}
		uri := ""
		if a.Space != "" {
			var err error
			if uri, err = c.scope.resolve(el, a.Space, a.Key); err != nil {
				return err
			}
			c.used = append(c.used, a.Space)
		}
		c.attrs = append(c.attrs, canonicalAttr{uri: uri, attr: a})
	}
	for _, p := range c.inclusive {
		if _, ok := c.scope.lookup(p); ok {
			c.used = append(c.used, p)
		}
	}
	slices.Sort(c.used)
	c.used = slices.Compact(c.used)
	slices.SortFunc(c.attrs, func(a, b canonicalAttr) int {
		if a.uri != b.uri {
			return strings.Compare(a.uri, b.uri)
		}
		return strings.Compare(a.attr.Key, b.attr.Key)
	})
	for i := 1; i < len(c.attrs); i++ {
		if c.attrs[i].uri == c.attrs[i-1].uri && c.attrs[i].attr.Key == c.attrs[i-1].attr.Key {
			return newError(CodeMalformed, "<%s> has two attributes named {%s}%s", el.FullTag(), c.attrs[i].uri, c.attrs[i].attr.Key)
		}
	}

	out.Attr = carve(&c.attrSlab, len(c.used)+len(c.attrs))
	c.write("<")
	c.qname(el.Space, el.Tag)
	for _, p := range c.used {
		if p == "xml" {
			continue
		}
		uri, _ := c.scope.lookup(p)
		if done, _ := c.rendered.lookup(p); done == uri {
			continue // the nearest output ancestor rendered the same
		}
		c.rendered.uris[p] = append(c.rendered.uris[p], uri)
		c.rendered.pushed = append(c.rendered.pushed, p)
		key := "xmlns"
		if p != "" {
			key = c.key("xmlns", p)
		}
		c.write(" ")
		c.write(key)
		c.write(`="`)
		c.attrValue(uri)
		c.write(`"`)
		out.CreateAttr(key, uri)
	}
	for _, a := range c.attrs {
		c.write(" ")
		c.qname(a.attr.Space, a.attr.Key)
		c.write(`="`)
		c.attrValue(a.attr.Value)
		c.write(`"`)
		out.CreateAttr(c.key(a.attr.Space, a.attr.Key), a.attr.Value)
	}
	c.write(">")
	return nil
}

// key returns "space:local", or local when space is empty, allocating each
// distinct name once.
func (c *canonicalizer) key(space, local string) string {
	if space == "" {
		return local
	}
	k := [2]string{space, local}
	if s, ok := c.keys[k]; ok {
		return s
	}
	s := space + ":" + local
	c.keys[k] = s
	return s
}

func (c *canonicalizer) qname(space, local string) {
	if space != "" {
		c.write(space)
		c.write(":")
	}
	c.write(local)
}

// canonicalFlush is the size at which pending output goes to the writer:
// the buffer stays this small whatever the size of the input.
const canonicalFlush = 16 << 10

// write appends s to the pending output, handing full buffers to the
// writer. A write error is kept and returned by flush.
func (c *canonicalizer) write(s string) {
	for len(s) > 0 {
		room := canonicalFlush - len(c.buf)
		if room <= 0 {
			c.flush()
			continue
		}
		n := min(room, len(s))
		c.buf = append(c.buf, s[:n]...)
		s = s[n:]
	}
}

// text writes character data escaped as C14N 1.0 section 2.3 says.
func (c *canonicalizer) text(s string) { c.escape(s, false) }

// attrValue writes an attribute value escaped as C14N 1.0 section 2.3 says.
func (c *canonicalizer) attrValue(s string) { c.escape(s, true) }

func (c *canonicalizer) escape(s string, attr bool) {
	start := 0
	for i := 0; i < len(s); i++ {
		var rep string
		switch s[i] {
		case '&':
			rep = "&amp;"
		case '<':
			rep = "&lt;"
		case '>':
			if attr {
				continue
			}
			rep = "&gt;"
		case '"':
			if !attr {
				continue
			}
			rep = "&quot;"
		case '\t':
			if !attr {
				continue
			}
			rep = "&#x9;"
		case '\n':
			if !attr {
				continue
			}
			rep = "&#xA;"
		case '\r':
			rep = "&#xD;"
		default:
			continue
		}
		c.write(s[start:i])
		c.write(rep)
		start = i + 1
	}
	c.write(s[start:])
}

func (c *canonicalizer) flush() error {
	c.written += len(c.buf)
	if c.written > c.limit && c.err == nil {
		c.err = newError(CodeMalformed, "the canonical form of <%s> is more than %d bytes (a namespace declared once and used by thousands of elements?)", c.name, c.limit)
	}
	if len(c.buf) > 0 && c.err == nil {
		_, c.err = c.w.Write(c.buf)
	}
	c.buf = c.buf[:0]
	return c.err
}

// isXMLSpace reports whether r is XML whitespace (XML 1.0 production S):
// space, tab, carriage return and line feed, and nothing else.
func isXMLSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\r' || r == '\n' }
