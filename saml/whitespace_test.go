package saml_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/saml"
	"github.com/siteadmin/integrations/saml/samltest"
)

// unicodeSpaces are the spaces strings.TrimSpace removes and XML does not
// (XML 1.0 production S is space, tab, CR and LF): issue 13, finding 2.
var unicodeSpaces = map[string]string{
	"U+00A0 no-break space":      "\u00a0",
	"U+3000 ideographic space":   "\u3000",
	"U+2028 line separator":      "\u2028",
	"U+0085 next line":           "\u0085",
	"U+2003 em space":            "\u2003",
	"U+1680 ogham space mark":    "\u1680",
	"U+2029 paragraph separator": "\u2029",
	"U+000B vertical tab":        "\v", // not an XML character: refused by the parser
}

// TestNameIDKeepsUnicodeSpaces: an IdP that signs the NameID
// "admin@example.com" followed (or preceded) by a Unicode space names
// another user than admin@example.com; the service provider must return
// it exactly, trimming XML whitespace only.
func TestNameIDKeepsUnicodeSpaces(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const admin = "admin@example.com"
	for name, space := range unicodeSpaces {
		for _, value := range []string{admin + space, space + admin, admin + " " + space + "\n"} {
			t.Run(fmt.Sprintf("%s/%q", name, value), func(t *testing.T) {
				t.Parallel()
				xml, err := h.idp.Response(samltest.ResponseSpec{Now: testNow, InResponseTo: testRequest, NameID: value})
				if space == "\v" {
					require.Error(t, err, "samltest refuses a character XML does not allow")
					return
				}
				require.NoError(t, err)
				a, err := h.verify(t, string(xml.XML))
				require.NoError(t, err)
				assert.NotEqual(t, admin, a.NameID.Value)
				assert.Contains(t, a.NameID.Value, space)
			})
		}
	}
	t.Run("XML whitespace is trimmed", func(t *testing.T) {
		t.Parallel()
		for _, value := range []string{" " + admin, admin + "\n", "\r\n\t " + admin + " \t\r\n"} {
			a, err := h.verify(t, h.xml(t, func(s *samltest.ResponseSpec) { s.NameID = value }))
			require.NoError(t, err)
			assert.Equal(t, admin, a.NameID.Value, "%q", value)
		}
	})
}

// TestIssuerAndAudienceKeepUnicodeSpaces: the values compared with the
// configuration are trimmed of XML whitespace only, so an Issuer or an
// Audience padded with a Unicode space is another entity.
func TestIssuerAndAudienceKeepUnicodeSpaces(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for name, space := range unicodeSpaces {
		if space == "\v" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := h.verify(t, h.xml(t, func(s *samltest.ResponseSpec) { s.Issuer = h.idp.EntityID + space }))
			assert.ErrorIs(t, err, saml.ErrIssuer)
			_, err = h.verify(t, h.xml(t, func(s *samltest.ResponseSpec) { s.Audience = samltest.DefaultAudience + space }))
			assert.ErrorIs(t, err, saml.ErrAudience)
		})
	}
	a, err := h.verify(t, h.xml(t, func(s *samltest.ResponseSpec) {
		s.Issuer, s.Audience = "\n  "+h.idp.EntityID+"\n", "\t"+samltest.DefaultAudience+" "
	}))
	require.NoError(t, err, "XML whitespace around them is trimmed")
	assert.Equal(t, h.idp.EntityID, a.Issuer)
}

// TestLogoutRequestKeepsUnicodeSpaces: the NameID and SessionIndex of a
// LogoutRequest, which say whose sessions end, are kept exactly too.
func TestLogoutRequestKeepsUnicodeSpaces(t *testing.T) {
	t.Parallel()
	for name, space := range unicodeSpaces {
		if space == "\v" {
			continue
		}
		for _, binding := range []string{saml.BindingHTTPRedirect, saml.BindingHTTPPOST} {
			t.Run(name+"/"+binding, func(t *testing.T) {
				t.Parallel()
				h := signingSP(t, nil, nil)
				spec := logoutSpec(binding)
				spec.NameID = "admin@example.com" + space
				spec.SessionIndex = space + "_session-1"
				m, err := h.idp.LogoutRequest(spec)
				require.NoError(t, err)
				req, err := h.sp.ParseLogoutRequest(context.Background(), m.Request())
				require.NoError(t, err)
				assert.Equal(t, "admin@example.com"+space, req.NameID.Value)
				assert.Equal(t, []string{space + "_session-1"}, req.SessionIndexes)
			})
		}
	}
	h := signingSP(t, nil, nil)
	spec := logoutSpec(saml.BindingHTTPPOST)
	spec.NameID, spec.SessionIndex = "\n admin@example.com\t", " _session-1\r\n"
	m, err := h.idp.LogoutRequest(spec)
	require.NoError(t, err)
	req, err := h.sp.ParseLogoutRequest(context.Background(), m.Request())
	require.NoError(t, err)
	assert.Equal(t, "admin@example.com", req.NameID.Value, "XML whitespace is trimmed")
	assert.Equal(t, []string{"_session-1"}, req.SessionIndexes)
}
