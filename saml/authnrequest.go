package saml

import (
	"fmt"
	"strconv"
)

// AuthnRequestOptions shape one AuthnRequest. The zero value is a plain
// request through the HTTP-Redirect binding with no RelayState.
type AuthnRequestOptions struct {
	// Binding is how the request travels to the IdP: BindingHTTPRedirect
	// (the default: a redirect, signed over the query when the service
	// provider has a signing key) or BindingHTTPPOST (an auto-submitting
	// form, the XML signed when it has one). When the IdP offers no
	// SingleSignOnService for it, the other binding is used.
	Binding string
	// RelayState comes back unchanged with the response: at most
	// MaxRelayStateLength bytes. Default: none.
	RelayState string
	// ForceAuthn asks the IdP to authenticate the user again even if they
	// have a session there. Default false.
	ForceAuthn bool
	// IsPassive asks the IdP not to interact with the user: it answers
	// with an error status when it cannot log them in silently. Default
	// false.
	IsPassive bool
	// NameIDPolicy, when not nil, asks for a NameID format. Default: none,
	// and the IdP picks.
	NameIDPolicy *NameIDPolicy
	// RequestedAuthnContext, when not nil, asks for how the user
	// authenticates (password, MFA, ...). Default: none.
	RequestedAuthnContext *RequestedAuthnContext
}

// NameIDPolicy is an AuthnRequest's NameIDPolicy (SAML core 3.4.1.1).
type NameIDPolicy struct {
	// Format is the NameID format URI, such as
	// "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress". Empty
	// leaves the attribute out.
	Format string
	// AllowCreate lets the IdP create a new identifier for the user.
	AllowCreate bool
}

// RequestedAuthnContext is an AuthnRequest's RequestedAuthnContext (SAML
// core 3.3.2.2.1).
type RequestedAuthnContext struct {
	// Comparison is "exact" (the default when empty), "minimum",
	// "maximum" or "better".
	Comparison string
	// ClassRefs are the AuthnContextClassRef URIs, at least one.
	ClassRefs []string
}

// AuthnRequest starts a login: it returns an AuthnRequest (SAML core
// 3.4.1) to the IdP's SingleSignOnService, with a fresh random ID,
// Destination, the ACS URL and the HTTP-POST protocol binding for the
// answer, ready to Send. Track its ID (see RequestTracker) and pass the
// tracked IDs to Verify at the ACS.
func (sp *ServiceProvider) AuthnRequest(opts AuthnRequestOptions) (*Message, error) {
	binding := opts.Binding
	if binding == "" {
		binding = BindingHTTPRedirect
	}
	if binding != BindingHTTPRedirect && binding != BindingHTTPPOST {
		return nil, fmt.Errorf("saml: AuthnRequestOptions.Binding %q is not supported; use BindingHTTPRedirect or BindingHTTPPOST", binding)
	}
	idp := &sp.trusted().idp
	ep, ok := endpointFor(idp.SSOServices, binding)
	if !ok {
		return nil, fmt.Errorf("saml: the IdP %q has no SingleSignOnService for the HTTP-Redirect or HTTP-POST binding; configure its SSO URL", idp.EntityID)
	}
	id, err := newID()
	if err != nil {
		return nil, err
	}
	doc, root := sp.newProtocolDoc("AuthnRequest", id, ep.Location)
	root.CreateAttr("AssertionConsumerServiceURL", sp.cfg.ACSURL)
	root.CreateAttr("ProtocolBinding", BindingHTTPPOST)
	if opts.ForceAuthn {
		root.CreateAttr("ForceAuthn", "true")
	}
	if opts.IsPassive {
		root.CreateAttr("IsPassive", "true")
	}
	if p := opts.NameIDPolicy; p != nil {
		el := root.CreateElement("samlp:NameIDPolicy")
		if p.Format != "" {
			el.CreateAttr("Format", p.Format)
		}
		el.CreateAttr("AllowCreate", strconv.FormatBool(p.AllowCreate))
	}
	if c := opts.RequestedAuthnContext; c != nil {
		if len(c.ClassRefs) == 0 {
			return nil, fmt.Errorf("saml: RequestedAuthnContext needs at least one ClassRef")
		}
		comparison := c.Comparison
		switch comparison {
		case "":
			comparison = "exact"
		case "exact", "minimum", "maximum", "better":
		default:
			return nil, fmt.Errorf("saml: RequestedAuthnContext.Comparison %q must be exact, minimum, maximum or better", comparison)
		}
		el := root.CreateElement("samlp:RequestedAuthnContext")
		el.CreateAttr("Comparison", comparison)
		for _, ref := range c.ClassRefs {
			el.CreateElement("saml:AuthnContextClassRef").SetText(ref)
		}
	}
	return sp.newMessage(doc, id, ep.Binding, ep.Location, "SAMLRequest", opts.RelayState)
}
