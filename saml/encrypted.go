package saml

import (
	"fmt"

	"github.com/beevik/etree"
)

// decryptAssertion decrypts the EncryptedAssertion of v.response (the
// verified copy when the Response is signed: its signature was checked
// before anything was decrypted) and then treats the assertion as if it had
// come in the clear: its own signature verified when present, at least one
// signature required.
func (v *verification) decryptAssertion() *Error {
	v.check("decrypt")
	enc, err := child(v.response, nsAssertion, "EncryptedAssertion")
	if err != nil || enc == nil {
		return newError(CodeStructure, "the Response holds no single EncryptedAssertion")
	}
	assertion, fsc, e := v.decryptElement(enc, "Assertion", v.signedResponse)
	if e != nil {
		return e
	}
	if len(fsc.assertions) != 1 || fsc.assertions[0] != assertion {
		return newError(CodeStructure, "the encrypted assertion holds %d assertions; exactly one is allowed", len(fsc.assertions))
	}
	var sig *etree.Element
	for _, s := range fsc.signatures {
		if s.Parent() != assertion || sig != nil {
			return newError(CodeStructure, "a signature sits inside <%s> of the decrypted assertion; one signature, directly in the Assertion, is allowed", s.Parent().Tag)
		}
		if e := checkSignaturePosition(assertion, s); e != nil {
			return e
		}
		sig = s
	}
	if e := v.checkSigned(v.signedResponse, sig != nil); e != nil {
		return e
	}
	if sig == nil {
		v.assertion = assertion // covered by the Response signature
		return nil
	}
	verified, e := v.verifySignature(assertion, sig)
	if e != nil {
		return e
	}
	v.assertion = verified
	return nil
}

// decryptElement decrypts container (EncryptedAssertion, EncryptedID or
// EncryptedAttribute) and returns the element it holds, which must be a
// SAML assertion-namespace element named want. signed says whether a
// verified signature covers the ciphertext, which CBC requires. Every
// failure to decrypt gives one error with one message; the detail goes to
// the debug report.
func (v *verification) decryptElement(container *etree.Element, want string, signed bool) (*etree.Element, *scanned, *Error) {
	ed, f := parseEncrypted(container)
	if f != nil {
		return nil, nil, v.decryptionFailed(f, signed)
	}
	if alg, why := ed.legacyAlgorithm(); alg != "" && !v.sp.cfg.AllowLegacyEncryption {
		return nil, nil, newError(CodeDecryption, "the IdP encrypts with %s, which is refused: %s; have the IdP use RSA-OAEP and AES-GCM, or allow legacy encryption in the settings", alg, why)
	}
	if !ed.cipher.gcm && !signed && !v.sp.cfg.AllowCBCInUnsignedResponse {
		return nil, nil, newError(CodeDecryption, "the %s is encrypted with %s (CBC) in an unsigned Response; CBC is accepted only inside a signed Response, where it cannot be altered: have the IdP sign the Response or use AES-GCM, or allow CBC in unsigned responses in the settings", container.Tag, ed.method)
	}
	plain, f := v.sp.decrypt(ed, v.sp.cfg.MaxResponseSize)
	if f != nil {
		return nil, nil, v.decryptionFailed(f, signed)
	}
	if v.report != nil {
		v.report.decrypted = true
		if want == "Assertion" {
			v.report.DecryptedXML = string(plain)
		}
	}
	el, fsc, f := parseFragment(plain, container, v.scan)
	if f != nil {
		return nil, nil, v.decryptionFailed(f, signed)
	}
	if !is(el, nsAssertion, want) {
		return nil, nil, v.decryptionFailed(failDecrypt(fmt.Sprintf("the decrypted data is <%s>, want <%s>", el.Tag, want)), signed)
	}
	v.passed(func() string {
		return fmt.Sprintf("%s decrypted (%s, key transport %s)", container.Tag, ed.method, ed.keys[0].method)
	})
	return el, fsc, nil
}

// decryptionFailed returns the one decryption error. The detail goes to
// the debug report only when a verified signature covers the ciphertext:
// the report may be shown to whoever posted the response, and for
// ciphertext an attacker could have altered it would be the very oracle
// the single message avoids.
func (v *verification) decryptionFailed(f *decryptFailure, signed bool) *Error {
	if signed {
		v.failDetail = f.detail
	} else {
		v.failDetail = "details withheld: the ciphertext is not covered by a verified signature"
	}
	return newError(CodeDecryption, "%s", errDecryptMessage)
}

// decryptNameID returns the NameID inside an EncryptedID.
func (v *verification) decryptNameID(enc *etree.Element) (*etree.Element, *Error) {
	step := v.step
	v.check("decrypt_name_id")
	el, _, e := v.decryptElement(enc, "NameID", true) // inside the verified assertion
	v.step = step
	return el, e
}

// readAttributes collects every Attribute and decrypted EncryptedAttribute
// of every AttributeStatement of the verified assertion.
func (v *verification) readAttributes(a *Assertion) *Error {
	a.Attributes = Attributes{}
	for _, stmt := range children(v.assertion, nsAssertion, "AttributeStatement") {
		for _, t := range stmt.Child {
			el, ok := t.(*etree.Element)
			if !ok {
				continue
			}
			switch {
			case is(el, nsAssertion, "Attribute"):
				addAttribute(a, el)
			case is(el, nsAssertion, "EncryptedAttribute"):
				v.check("decrypt_attribute")
				attrEl, _, e := v.decryptElement(el, "Attribute", true) // inside the verified assertion
				if e != nil {
					return e
				}
				addAttribute(a, attrEl)
			}
		}
	}
	return nil
}

func addAttribute(a *Assertion, el *etree.Element) {
	name, _ := attr(el, "Name")
	values := a.Attributes[name]
	if values == nil {
		values = make([]string, 0, len(el.Child)/2+1)
	}
	for _, vt := range el.Child {
		if val, ok := vt.(*etree.Element); ok && is(val, nsAssertion, "AttributeValue") {
			values = append(values, text(val))
		}
	}
	a.Attributes[name] = values
	if fn, ok := attr(el, "FriendlyName"); ok && trimXMLSpace(fn) != "" {
		if a.FriendlyNames == nil {
			a.FriendlyNames = map[string]string{}
		}
		a.FriendlyNames[name] = fn
	}
}
