package samlsp

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
)

// indentXML lays out a received message one element per line, indented
// by depth, for the failure page: a Response arrives on one line or as
// the IdP happened to format it. It is for reading only (signatures are
// over the bytes received, not this): it keeps prefixes and attribute
// order, drops the whitespace between elements and around text, and
// returns s unchanged when it is not well-formed XML.
func indentXML(s string) string {
	d := xml.NewDecoder(strings.NewReader(s))
	var out bytes.Buffer
	var (
		depth    int
		open     bool       // a start tag was written and its ">" is pending
		names    []xml.Name // the open elements
		children []bool     // per open element: whether it has child elements
		space    string     // whitespace seen since the last tag
	)
	line := func() {
		if out.Len() > 0 {
			out.WriteByte('\n')
		}
		out.WriteString(strings.Repeat("  ", depth))
	}
	closeStart := func() {
		if open {
			out.WriteByte('>')
			open = false
		}
	}
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return s
		}
		switch t := tok.(type) {
		case xml.StartElement:
			closeStart()
			if n := len(children); n > 0 {
				children[n-1] = true
			}
			line()
			out.WriteString("<" + qname(t.Name))
			for _, a := range t.Attr {
				out.WriteString(" " + qname(a.Name) + `="`)
				escapeAttr(&out, a.Value)
				out.WriteByte('"')
			}
			open, space = true, ""
			names, children = append(names, t.Name), append(children, false)
			depth++
		case xml.EndElement:
			depth--
			n := len(names)
			if n == 0 || names[n-1] != t.Name { // RawToken does not match tags
				return s
			}
			hadChildren := children[n-1]
			names, children = names[:n-1], children[:n-1]
			switch {
			case open && space == "":
				out.WriteString("/>")
				open = false
			case open: // whitespace only: it is the content
				closeStart()
				_ = xml.EscapeText(&out, []byte(space))
				out.WriteString("</" + qname(t.Name) + ">")
			default:
				if hadChildren {
					line()
				}
				out.WriteString("</" + qname(t.Name) + ">")
			}
			space = ""
		case xml.CharData:
			if len(bytes.TrimSpace(t)) == 0 {
				space += string(t)
				continue
			}
			if n := len(children); n > 0 && children[n-1] { // text after a child element
				line()
			}
			closeStart()
			_ = xml.EscapeText(&out, bytes.TrimSpace(t))
			space = ""
		case xml.ProcInst:
			closeStart()
			line()
			out.WriteString("<?" + t.Target + " " + string(t.Inst) + "?>")
		case xml.Comment:
			closeStart()
			line()
			out.WriteString("<!--" + string(t) + "-->")
		case xml.Directive:
			closeStart()
			line()
			out.WriteString("<!" + string(t) + ">")
		}
	}
	if depth != 0 {
		return s
	}
	return out.String()
}

// qname writes a raw name as it was: "prefix:local" or "local".
func qname(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

// attrEscaper escapes an attribute value for double quotes, keeping the
// whitespace characters that a parser would otherwise normalize.
var attrEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", `"`, "&quot;", "\n", "&#xA;", "\r", "&#xD;", "\t", "&#x9;")

func escapeAttr(b *bytes.Buffer, v string) { b.WriteString(attrEscaper.Replace(v)) }
