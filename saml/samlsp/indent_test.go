package samlsp

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestIndentXML(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, in, want string }{
		{
			"one line",
			`<?xml version="1.0"?><samlp:Response xmlns:samlp="urn:p" ID="_1"><saml:Issuer xmlns:saml="urn:a">https://idp</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:ok"/></samlp:Status></samlp:Response>`,
			`<?xml version="1.0"?>
<samlp:Response xmlns:samlp="urn:p" ID="_1">
  <saml:Issuer xmlns:saml="urn:a">https://idp</saml:Issuer>
  <samlp:Status>
    <samlp:StatusCode Value="urn:ok"/>
  </samlp:Status>
</samlp:Response>`,
		},
		{
			"already indented, other whitespace",
			"<a>\r\n\t<b>  x  </b>\n\n<c></c>\n</a>\n",
			"<a>\n  <b>x</b>\n  <c/>\n</a>",
		},
		{"whitespace-only content is kept", "<a><b> </b></a>", "<a>\n  <b> </b>\n</a>"},
		{"mixed content", "<a>one<b/>two</a>", "<a>one\n  <b/>\n  two\n</a>"},
		{"escapes", `<a v="&lt;&amp;&quot;&#xA;">&lt;x&gt; &amp;</a>`, `<a v="&lt;&amp;&quot;&#xA;">&lt;x&gt; &amp;</a>`},
		{"comment", "<a><!-- c --><b/></a>", "<a>\n  <!-- c -->\n  <b/>\n</a>"},
		// Not well-formed: shown as received.
		{"unclosed", "<a><b></a>", "<a><b></a>"},
		{"truncated", "<a><b>", "<a><b>"},
		{"not XML", "PHNhbWxwOlJlc3BvbnNl", "PHNhbWxwOlJlc3BvbnNl"},
		{"bad token", "<a><</a>", "<a><</a>"},
		{"empty", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, indentXML(c.in))
		})
	}
}

// FuzzIndentXML checks that indenting never fails and, when it changes
// the text, keeps every element, attribute and piece of text in order.
func FuzzIndentXML(f *testing.F) {
	for _, s := range []string{
		`<?xml version="1.0"?><p:R xmlns:p="urn:p" ID="_1"><a:I xmlns:a="urn:a">x</a:I><S><C V="y"/></S></p:R>`,
		"<a>one<b/>two</a>", "<a><b> </b></a>", `<a v="&lt;&#xA;"/>`, "<a><!--c--></a>", "<a><b></a>", "<",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := indentXML(in)
		if out == in {
			return
		}
		want, err := tokens(in)
		if err != nil {
			t.Fatalf("changed input that does not parse: %v", err)
		}
		got, err := tokens(out)
		if err != nil {
			t.Fatalf("output does not parse: %v\n%s", err, out)
		}
		assert.Equal(t, want, got)
	})
}

// tokens lists what indenting must keep: tags with their attributes, and
// text without the whitespace around it.
func tokens(s string) ([]string, error) {
	d := xml.NewDecoder(strings.NewReader(s))
	var out []string
	for {
		tok, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			out = append(out, "<"+qname(t.Name))
			for _, a := range t.Attr {
				out = append(out, qname(a.Name)+"="+a.Value)
			}
		case xml.EndElement:
			out = append(out, "</"+qname(t.Name))
		case xml.CharData:
			if s := strings.TrimSpace(string(t)); s != "" {
				out = append(out, s)
			}
		case xml.Comment:
			out = append(out, "<!--"+string(t))
		}
	}
}
