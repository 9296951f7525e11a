package saml

import (
	"strings"
	"time"

	"github.com/beevik/etree"
)

// XML namespaces of the elements the service provider reads.
const (
	nsProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsMetadata  = "urn:oasis:names:tc:SAML:2.0:metadata"
	nsDSig      = "http://www.w3.org/2000/09/xmldsig#"
)

// Well-known SAML values.
const (
	statusSuccess = "urn:oasis:names:tc:SAML:2.0:status:Success"
	methodBearer  = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
)

// is reports whether el is the element {ns}tag.
func is(el *etree.Element, ns, tag string) bool {
	return el != nil && el.Tag == tag && el.NamespaceURI() == ns
}

// children returns el's child elements named {ns}tag, in document order.
func children(el *etree.Element, ns, tag string) []*etree.Element {
	var out []*etree.Element
	for _, t := range el.Child {
		if c, ok := t.(*etree.Element); ok && is(c, ns, tag) {
			out = append(out, c)
		}
	}
	return out
}

// child returns el's only child element named {ns}tag: nil when there is
// none, and an error when there are several.
func child(el *etree.Element, ns, tag string) (*etree.Element, error) {
	var found *etree.Element
	for _, t := range el.Child {
		if c, ok := t.(*etree.Element); ok && is(c, ns, tag) {
			if found != nil {
				return nil, newError(CodeStructure, "<%s> has more than one <%s>", el.Tag, tag)
			}
			found = c
		}
	}
	return found, nil
}

// firstElements returns el's first two child elements (nil when missing).
func firstElements(el *etree.Element) (first, second *etree.Element) {
	for _, t := range el.Child {
		if c, ok := t.(*etree.Element); ok {
			if first == nil {
				first = c
				continue
			}
			return first, c
		}
	}
	return first, nil
}

// text returns all the character data inside el, descendants included, in
// document order, the way XPath's string() does. Reading only the first
// text node is how comment injection (CVE-2017-11427 and its siblings)
// shortens a NameID; this never does.
func text(el *etree.Element) string {
	if len(el.Child) == 1 {
		if cd, ok := el.Child[0].(*etree.CharData); ok {
			return cd.Data
		}
	}
	var b strings.Builder
	appendText(&b, el)
	return b.String()
}

func appendText(b *strings.Builder, el *etree.Element) {
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.CharData:
			b.WriteString(t.Data)
		case *etree.Element:
			appendText(b, t)
		}
	}
}

// trimXMLSpace removes the XML whitespace (space, tab, CR and LF, XML 1.0
// production S) around s, which IdPs that indent their XML leave around
// values, and nothing else. strings.TrimSpace would also remove U+00A0,
// U+3000, U+2028, U+0085 and the other Unicode spaces, so that an IdP
// user named "admin@example.com" followed by a no-break space would log in
// as admin@example.com.
func trimXMLSpace(s string) string { return strings.TrimFunc(s, isXMLSpace) }

// attr returns the value of el's unqualified attribute key and whether it
// is present.
func attr(el *etree.Element, key string) (string, bool) {
	for _, a := range el.Attr {
		if a.Space == "" && a.Key == key {
			return a.Value, true
		}
	}
	return "", false
}

// parseTime parses an xs:dateTime as SAML uses it (UTC, optional
// fraction). A missing zone is read as UTC, which SAML core 1.3.3 mandates.
func parseTime(s string) (time.Time, error) {
	s = trimXMLSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Parse("2006-01-02T15:04:05.999999999", s)
}
