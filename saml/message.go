package saml

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"net/url"

	"github.com/beevik/etree"
	"github.com/russellhaering/goxmldsig/etreeutils"

	dsig "github.com/russellhaering/goxmldsig"
)

// Message is an outgoing SAML protocol message (an AuthnRequest, a
// LogoutRequest or a LogoutResponse), encoded for one binding and ready to
// send the browser on its way with Send.
type Message struct {
	// ID is the message's ID. Track it (see RequestTracker) to check the
	// IdP's answer's InResponseTo.
	ID string
	// Binding is BindingHTTPRedirect or BindingHTTPPOST.
	Binding string
	// Destination is the IdP endpoint the message goes to.
	Destination string
	// Param is the form or query parameter: "SAMLRequest" or
	// "SAMLResponse".
	Param string
	// RelayState is sent along and comes back unchanged with the IdP's
	// answer; empty for none.
	RelayState string
	// XML is the message, signed in the HTTP-POST binding when the service
	// provider has a signing key (in the HTTP-Redirect binding the
	// signature is over the query, in URL).
	XML []byte
	// URL is, in the HTTP-Redirect binding, the whole URL to redirect the
	// browser to: Destination with the deflated message, RelayState, and
	// SigAlg and Signature when signed. Empty in the HTTP-POST binding.
	URL string
}

// Form returns the fields the HTTP-POST binding posts to Destination: Param
// with the base64 XML, and RelayState when set.
func (m *Message) Form() url.Values {
	v := url.Values{m.Param: {base64.StdEncoding.EncodeToString(m.XML)}}
	if m.RelayState != "" {
		v.Set("RelayState", m.RelayState)
	}
	return v
}

// Send sends the browser to the IdP: a 302 redirect to URL in the
// HTTP-Redirect binding, or in the HTTP-POST binding a small HTML page
// whose form posts itself to Destination (with a button for browsers
// without JavaScript). Either answer forbids caching. The page carries a
// Content-Security-Policy that allows only its own script.
func (m *Message) Send(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-cache, no-store")
	h.Set("Pragma", "no-cache")
	if m.Binding == BindingHTTPRedirect {
		http.Redirect(w, r, m.URL, http.StatusFound)
		return
	}
	sum := sha256.Sum256([]byte(postScript))
	h.Set("Content-Type", "text/html; charset=utf-8")
	// No form-action: browsers apply it to the IdP's own redirects after
	// the post too, which would break IdPs that redirect to a login page.
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'sha256-"+
		base64.StdEncoding.EncodeToString(sum[:])+"'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	type field struct{ Name, Value string }
	data := struct {
		Action string
		Fields []field
		Script template.JS
	}{Action: m.Destination, Script: template.JS(postScript)}
	data.Fields = append(data.Fields, field{m.Param, base64.StdEncoding.EncodeToString(m.XML)})
	if m.RelayState != "" {
		data.Fields = append(data.Fields, field{"RelayState", m.RelayState})
	}
	_ = postPage.Execute(w, data)
}

// postScript submits the form; its hash goes in the page's CSP.
const postScript = `document.forms[0].submit();`

// postPage is the HTTP-POST binding's auto-submitting page (bindings 3.5.4).
var postPage = template.Must(template.New("post").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Redirecting…</title></head>
<body>
<form method="post" action="{{.Action}}">
{{range .Fields}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<noscript><p>JavaScript is off: press Continue to go on.</p><button type="submit">Continue</button></noscript>
</form>
<script>{{.Script}}</script>
</body></html>
`))

// newMessage builds a Message for one binding. doc's root is the protocol
// message; in the HTTP-POST binding it is signed in place when the service
// provider has a signing key.
func (sp *ServiceProvider) newMessage(doc *etree.Document, id, binding, dest, param, relayState string) (*Message, error) {
	if len(relayState) > MaxRelayStateLength {
		return nil, fmt.Errorf("saml: RelayState is %d bytes, more than the %d SAML allows", len(relayState), MaxRelayStateLength)
	}
	m := &Message{ID: id, Binding: binding, Destination: dest, Param: param, RelayState: relayState}
	switch binding {
	case BindingHTTPRedirect:
		xml, err := doc.WriteToBytes()
		if err != nil {
			return nil, err
		}
		m.XML = xml
		if m.URL, err = sp.redirectURL(dest, param, xml, relayState); err != nil {
			return nil, err
		}
	case BindingHTTPPOST:
		if sp.cfg.SigningKey != nil {
			if err := sp.signElement(doc.Root()); err != nil {
				return nil, err
			}
		}
		xml, err := doc.WriteToBytes()
		if err != nil {
			return nil, err
		}
		m.XML = xml
	default:
		return nil, fmt.Errorf("saml: binding %q is not supported; use BindingHTTPRedirect or BindingHTTPPOST", binding)
	}
	return m, nil
}

// newProtocolDoc starts a protocol message: <samlp:tag> with the SAML
// namespaces, ID, Version, IssueInstant, Destination, and our Issuer.
func (sp *ServiceProvider) newProtocolDoc(tag, id, dest string) (*etree.Document, *etree.Element) {
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	root := doc.CreateElement("samlp:" + tag)
	root.CreateAttr("xmlns:samlp", nsProtocol)
	root.CreateAttr("xmlns:saml", nsAssertion)
	root.CreateAttr("ID", id)
	root.CreateAttr("Version", "2.0")
	root.CreateAttr("IssueInstant", xmlTime(sp.cfg.Clock()))
	root.CreateAttr("Destination", dest)
	root.CreateElement("saml:Issuer").SetText(sp.cfg.EntityID)
	return doc, root
}

// signElement signs el, a message root whose first child is its Issuer,
// with an enveloped XML signature right after the Issuer: exclusive c14n,
// one Reference to "#"+ID, the enveloped-signature and exc-c14n transforms,
// and a KeyInfo with the signing certificate, the one shape SAML verifiers
// (ours included) accept.
func (sp *ServiceProvider) signElement(el *etree.Element) error {
	method, digestMethod := sp.signing()
	id, _ := attr(el, "ID")
	canon, err := excC14N(el)
	if err != nil {
		return err
	}
	dh := digestHashes[digestMethod].New()
	dh.Write(canon)

	sig := etree.NewElement("ds:Signature")
	sig.CreateAttr("xmlns:ds", nsDSig)
	si := sig.CreateElement("ds:SignedInfo")
	si.CreateElement("ds:CanonicalizationMethod").CreateAttr("Algorithm", algExcC14N)
	si.CreateElement("ds:SignatureMethod").CreateAttr("Algorithm", method)
	ref := si.CreateElement("ds:Reference")
	ref.CreateAttr("URI", "#"+id)
	tr := ref.CreateElement("ds:Transforms")
	tr.CreateElement("ds:Transform").CreateAttr("Algorithm", algEnveloped)
	tr.CreateElement("ds:Transform").CreateAttr("Algorithm", algExcC14N)
	ref.CreateElement("ds:DigestMethod").CreateAttr("Algorithm", digestMethod)
	ref.CreateElement("ds:DigestValue").SetText(base64.StdEncoding.EncodeToString(dh.Sum(nil)))

	issuerAt := 0
	for i, t := range el.Child {
		if c, ok := t.(*etree.Element); ok && c.Tag == "Issuer" {
			issuerAt = i + 1
			break
		}
	}
	el.InsertChildAt(issuerAt, sig)
	// SignedInfo is canonicalized where it lives, so that its in-scope
	// namespaces are the verifier's.
	canonSI, err := excC14N(si)
	if err != nil {
		return err
	}
	value, err := sp.signBytes(canonSI, method)
	if err != nil {
		return err
	}
	sig.CreateElement("ds:SignatureValue").SetText(base64.StdEncoding.EncodeToString(value))
	sig.CreateElement("ds:KeyInfo").CreateElement("ds:X509Data").CreateElement("ds:X509Certificate").
		SetText(base64.StdEncoding.EncodeToString(sp.cfg.SigningCertificate.Raw))
	return nil
}

// excC14N returns the exclusive canonical form of a copy of el, in el's
// namespace context.
func excC14N(el *etree.Element) ([]byte, error) {
	ctx, err := etreeutils.NSBuildParentContext(el)
	if err != nil {
		return nil, fmt.Errorf("saml: namespaces around <%s>: %w", el.Tag, err)
	}
	detached, err := etreeutils.NSDetatch(ctx, el)
	if err != nil {
		return nil, fmt.Errorf("saml: namespaces of <%s>: %w", el.Tag, err)
	}
	return dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("").Canonicalize(detached)
}

// endpointFor picks the IdP endpoint for a binding among eps: the one for
// the preferred binding, else the first of the other supported binding.
func endpointFor(eps []Endpoint, preferred string) (Endpoint, bool) {
	for _, e := range eps {
		if e.Binding == preferred && e.Location != "" {
			return e, true
		}
	}
	for _, e := range eps {
		if (e.Binding == BindingHTTPRedirect || e.Binding == BindingHTTPPOST) && e.Location != "" {
			return e, true
		}
	}
	return Endpoint{}, false
}
