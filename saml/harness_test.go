package saml_test

import (
	"encoding/base64"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/saml"
	"github.com/siteadmin/integrations/saml/samltest"
)

// testNow is the fixed clock of the tests built on samltest.
var testNow = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

const testRequest = "_req-0001"

// sharedIdP is one RSA test IdP for the whole package: key generation is
// the slow part of a test, and an IdP is safe to share.
var sharedIdP = sync.OnceValues(func() (*samltest.IdP, error) { return newTestIdP() })

// newTestIdP returns a test IdP whose certificate is valid at testNow.
func newTestIdP(opts ...samltest.Option) (*samltest.IdP, error) {
	validity := samltest.WithCertificateValidity(testNow.Add(-365*24*time.Hour), testNow.Add(10*365*24*time.Hour))
	return samltest.New(append([]samltest.Option{validity}, opts...)...)
}

// harness is a test IdP and a service provider that trusts it.
type harness struct {
	idp *samltest.IdP
	sp  *saml.ServiceProvider
}

// newHarness returns a harness on the shared IdP; mods adjust the SP's
// config.
func newHarness(t testing.TB, mods ...func(*saml.Config)) *harness {
	t.Helper()
	idp, err := sharedIdP()
	require.NoError(t, err)
	return newHarnessFor(t, idp, mods...)
}

func newHarnessFor(t testing.TB, idp *samltest.IdP, mods ...func(*saml.Config)) *harness {
	t.Helper()
	cfg := saml.Config{
		EntityID: samltest.DefaultAudience,
		ACSURL:   samltest.DefaultACSURL,
		IdP:      idp.IdentityProvider(),
		Clock:    samltest.FixedClock(testNow),
		Debug:    true,
	}
	for _, m := range mods {
		m(&cfg)
	}
	sp, err := saml.NewServiceProvider(cfg)
	require.NoError(t, err)
	return &harness{idp: idp, sp: sp}
}

// xml returns a freshly signed response: now testNow, answering
// testRequest, the Assertion signed, unless mod says otherwise.
func (h *harness) xml(t testing.TB, mod func(*samltest.ResponseSpec)) string {
	t.Helper()
	spec := samltest.ResponseSpec{Now: testNow, InResponseTo: testRequest}
	if mod != nil {
		mod(&spec)
	}
	r, err := h.idp.Response(spec)
	require.NoError(t, err)
	return string(r.XML)
}

// verify posts xml, base64-encoded as the HTTP-POST binding does.
func (h *harness) verify(t testing.TB, xml string, requestIDs ...string) (*saml.Assertion, error) {
	t.Helper()
	if requestIDs == nil {
		requestIDs = []string{testRequest}
	}
	return h.sp.Verify(t.Context(), base64.StdEncoding.EncodeToString([]byte(xml)), requestIDs...)
}

// signXML signs the elements with the given IDs, inner first.
func (h *harness) signXML(t testing.TB, xml string, ids ...string) string {
	t.Helper()
	out, err := h.idp.SignXML([]byte(xml), ids...)
	require.NoError(t, err)
	return string(out)
}

// codeOf returns the Code of err, or "" when it is not a *saml.Error.
func codeOf(err error) saml.Code {
	var se *saml.Error
	if asError(err, &se) {
		return se.Code
	}
	return ""
}

// span returns the start and end of the first element that begins with
// open (such as "<saml2:Assertion") and ends with closing, searching from
// from.
func span(t testing.TB, s, open, closing string, from int) (int, int) {
	t.Helper()
	i := strings.Index(s[from:], open)
	require.GreaterOrEqual(t, i, 0, "no %s", open)
	i += from
	j := strings.Index(s[i:], closing)
	require.GreaterOrEqual(t, j, 0, "no %s", closing)
	return i, i + j + len(closing)
}

// attrValue returns the value of the first name="..." in s.
func attrValue(t testing.TB, s, name string) string {
	t.Helper()
	i := strings.Index(s, " "+name+`="`)
	require.GreaterOrEqual(t, i, 0, "no %s attribute", name)
	rest := s[i+len(name)+3:]
	return rest[:strings.IndexByte(rest, '"')]
}
