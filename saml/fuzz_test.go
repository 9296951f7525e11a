package saml_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/siteadmin/integrations/saml"
	"github.com/siteadmin/integrations/saml/samltest"
)

var fuzzAttributes = []samltest.Attribute{
	{Name: "MemberOf", Values: []string{"eng", "ops"}},
	{Name: "Username", Values: []string{"alice"}},
	{Name: "SiteAdmin", Values: []string{"true"}},
}

// FuzzVerify feeds mutations of freshly signed (and encrypted) responses to
// Verify: no
// input may panic, every rejection is a *saml.Error, and an accepted input
// must carry exactly the identity its seed was signed with.
func FuzzVerify(f *testing.F) {
	h, kp := encHarness(f, func(c *saml.Config) {
		c.ReplayCache = forgetfulCache{}
		c.Debug = false
		c.AllowCBCInUnsignedResponse = true
	})
	for _, sign := range []samltest.Sign{samltest.SignAssertion, samltest.SignResponse, samltest.SignBoth} {
		xml := h.xml(f, func(s *samltest.ResponseSpec) { s.Sign = sign; s.Attributes = fuzzAttributes })
		f.Add(xml)
		f.Add(b64([]byte(xml)))
	}
	for _, content := range []string{samltest.AES256GCM, samltest.AES128CBC} {
		enc := &samltest.Encryption{Certificate: kp.cert, Content: content}
		f.Add(h.xml(f, func(s *samltest.ResponseSpec) { s.Encrypt = enc; s.Attributes = fuzzAttributes }))
		f.Add(h.xml(f, func(s *samltest.ResponseSpec) {
			s.Sign, s.EncryptNameID, s.EncryptAttributes, s.Attributes = samltest.SignBoth, enc, enc, fuzzAttributes
		}))
	}
	want := saml.Attributes{"MemberOf": {"eng", "ops"}, "Username": {"alice"}, "SiteAdmin": {"true"}}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, form string) {
		a, err := h.sp.Verify(ctx, form, testRequest)
		if err != nil {
			var se *saml.Error
			if !errors.As(err, &se) {
				t.Fatalf("rejection is not a *saml.Error: %T %v", err, err)
			}
			return
		}
		if a.NameID.Value != samltest.DefaultNameID || !reflect.DeepEqual(a.Attributes, want) {
			t.Fatalf("accepted a changed identity: NameID %q, attributes %v", a.NameID.Value, a.Attributes)
		}
	})
}
