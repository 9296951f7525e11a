package saml_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/saml"
	"github.com/siteadmin/integrations/saml/samltest"
)

func TestConfigErrorsNameTheField(t *testing.T) {
	t.Parallel()
	idp, err := sharedIdP()
	require.NoError(t, err)
	edKey, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	edCert := &x509.Certificate{PublicKey: edKey}
	good := saml.Config{EntityID: "sp", ACSURL: "https://sp/acs", IdP: idp.IdentityProvider()}
	for _, tc := range []struct {
		name  string
		mod   func(*saml.Config)
		field string
	}{
		{"entity id", func(c *saml.Config) { c.EntityID = "" }, "Config.EntityID"},
		{"acs url", func(c *saml.Config) { c.ACSURL = "" }, "Config.ACSURL"},
		{"acs url unparsable", func(c *saml.Config) { c.ACSURL = "http://[::1" }, "Config.ACSURL"},
		{"idp entity id", func(c *saml.Config) { c.IdP.EntityID = "" }, "Config.IdP.EntityID"},
		{"no certificate", func(c *saml.Config) { c.IdP.Certificates = nil }, "Config.IdP.Certificates"},
		{"nil certificate", func(c *saml.Config) { c.IdP.Certificates = []*x509.Certificate{nil} }, "Config.IdP.Certificates[0]"},
		{"ed25519 certificate", func(c *saml.Config) { c.IdP.Certificates = []*x509.Certificate{edCert} }, "Config.IdP.Certificates[0]"},
		{"negative skew", func(c *saml.Config) { c.ClockSkew = -time.Second }, "Config.ClockSkew"},
		{"negative size", func(c *saml.Config) { c.MaxResponseSize = -1 }, "Config.MaxResponseSize"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := good
			tc.mod(&cfg)
			_, err := saml.NewServiceProvider(cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.field)
		})
	}
	sp, err := saml.NewServiceProvider(good)
	require.NoError(t, err)
	got := sp.Config()
	assert.Equal(t, saml.DefaultClockSkew, got.ClockSkew)
	assert.Equal(t, saml.DefaultMaxResponseSize, got.MaxResponseSize)
	assert.NotNil(t, got.ReplayCache)
	assert.NotNil(t, got.Clock)
	assert.False(t, got.AllowIdPInitiated || got.AllowSHA1 || got.CheckCertificateDates || got.Debug)
}

func TestAssertionFields(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	xml := h.xml(t, func(s *samltest.ResponseSpec) {
		s.NameID, s.NameIDFormat = "u-123", samltest.NameIDFormatPersistent
		s.NameQualifier, s.SPNameQualifier = "idp-q", "sp-q"
		s.SessionIndex = "_session-9"
		s.Attributes = []samltest.Attribute{
			{Name: "MemberOf", FriendlyName: "groups", Values: []string{"eng", "ops"}},
			{Name: "Username", Values: []string{"alice"}},
			{Name: "MemberOf", Values: []string{"admins"}}, // repeated: merged in order
			{Name: "phone"}, // present without a value
			{Name: "note", Values: []string{"a & b <c>", "  spaced  ", ""}},
		}
	})
	a, err := h.verify(t, xml)
	require.NoError(t, err)
	assert.Equal(t, saml.NameID{Value: "u-123", Format: samltest.NameIDFormatPersistent, NameQualifier: "idp-q", SPNameQualifier: "sp-q"}, a.NameID)
	assert.Equal(t, h.idp.EntityID, a.Issuer)
	assert.Equal(t, "_session-9", a.SessionIndex)
	assert.Equal(t, testRequest, a.InResponseTo)
	assert.True(t, a.AuthnInstant.Equal(testNow))
	assert.True(t, a.NotOnOrAfter.Equal(testNow.Add(samltest.DefaultValidity)))
	assert.True(t, a.SessionNotOnOrAfter.Equal(testNow.Add(samltest.DefaultSessionLength)))
	assert.NotEmpty(t, a.ID)
	assert.Equal(t, []string{"eng", "ops", "admins"}, a.Attributes["MemberOf"])
	assert.Equal(t, "alice", a.Attributes.Get("Username"))
	assert.True(t, a.Attributes.Has("phone"))
	assert.NotNil(t, a.Attributes["phone"])
	assert.Empty(t, a.Attributes["phone"])
	assert.False(t, a.Attributes.Has("absent"))
	assert.Equal(t, "", a.Attributes.Get("absent"))
	assert.Equal(t, []string{"a & b <c>", "  spaced  ", ""}, a.Attributes["note"])
	assert.Equal(t, map[string]string{"MemberOf": "groups"}, a.FriendlyNames)
	assert.Empty(t, a.Warnings)
}

func TestIdPInitiated(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *saml.Config) { c.AllowIdPInitiated = true })
	a, err := h.verify(t, h.xml(t, func(s *samltest.ResponseSpec) { s.InResponseTo = "" }), []string{}...)
	require.NoError(t, err)
	assert.Empty(t, a.InResponseTo)
	// Allowing unsolicited responses does not allow answers to requests
	// this browser never made.
	_, err = h.verify(t, h.xml(t, func(s *samltest.ResponseSpec) { s.InResponseTo = "_someone_elses" }))
	assert.ErrorIs(t, err, saml.ErrInResponseTo)
}

func TestSeveralOutstandingRequests(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	_, err := h.verify(t, h.xml(t, func(s *samltest.ResponseSpec) { s.InResponseTo = "_tab2" }), "_tab1", "_tab2", "_tab3")
	assert.NoError(t, err)
}

func TestKeyRotation(t *testing.T) {
	t.Parallel()
	old, err := sharedIdP()
	require.NoError(t, err)
	next, err := newTestIdP()
	require.NoError(t, err)
	for _, order := range [][]*x509.Certificate{{old.Certificate, next.Certificate}, {next.Certificate, old.Certificate}} {
		h := newHarnessFor(t, next, func(c *saml.Config) { c.IdP.Certificates = order })
		xml := h.xml(t, signedBoth)
		_, err := h.verify(t, xml)
		require.NoError(t, err, "KeyInfo names the new certificate")
		// KeyInfo sits outside what its own signature covers, but inside
		// what an enclosing Response signature covers: strip it only
		// where it is not signed over.
		for _, mod := range []func(*samltest.ResponseSpec){signedAssertion, signedResponse} {
			noKeyInfo := h.xml(t, mod)
			i, j := span(t, noKeyInfo, "<ds:KeyInfo>", "</ds:KeyInfo>", 0)
			_, err = h.verify(t, noKeyInfo[:i]+noKeyInfo[j:])
			require.NoError(t, err, "no KeyInfo: each pinned certificate is tried")
		}
	}
}

func TestKeyValueOnlyKeyInfo(t *testing.T) {
	t.Parallel()
	// SecureWorks and others send a bare KeyValue; the pinned key is used.
	h := newHarness(t)
	for _, mod := range []func(*samltest.ResponseSpec){signedAssertion, signedResponse} {
		xml := h.xml(t, mod)
		i, j := span(t, xml, "<ds:X509Data>", "</ds:X509Data>", 0)
		xml = xml[:i] + "<ds:KeyValue><ds:RSAKeyValue><ds:Modulus>AQAB</ds:Modulus><ds:Exponent>AQAB</ds:Exponent></ds:RSAKeyValue></ds:KeyValue>" + xml[j:]
		_, err := h.verify(t, xml)
		assert.NoError(t, err)
	}
}

func TestPinnedCertificateDates(t *testing.T) {
	t.Parallel()
	expired, err := samltest.New(samltest.WithCertificateValidity(testNow.Add(-48*time.Hour), testNow.Add(-24*time.Hour)))
	require.NoError(t, err)

	h := newHarnessFor(t, expired)
	a, err := h.verify(t, h.xml(t, signedBoth))
	require.NoError(t, err, "a pinned certificate is trusted whatever its dates")
	require.Len(t, a.Warnings, 1)
	assert.Contains(t, a.Warnings[0], "valid from")
	assert.Contains(t, a.Report.Checks[4].Detail, "warning: ", "the debug report warns too")

	strict := newHarnessFor(t, expired, func(c *saml.Config) { c.CheckCertificateDates = true })
	_, err = strict.verify(t, strict.xml(t, signedBoth))
	assert.ErrorIs(t, err, saml.ErrSignature)
}

func TestPinnedCertificateDatesOnFixtures(t *testing.T) {
	t.Parallel()
	// The manifest's certificate-date cases are valid responses apart
	// from the dates: accepted by default, with a warning.
	for _, c := range loadManifest(t) {
		if !certDateCases[c.File] {
			continue
		}
		sp, err := saml.NewServiceProvider(c.config(t))
		require.NoError(t, err)
		a, err := sp.Verify(t.Context(), c.form(t), c.requestIDs()...)
		require.NoError(t, err, c.File)
		assert.NotEmpty(t, a.Warnings, c.File)
	}
}

func TestDERSignatureValueAccepted(t *testing.T) {
	t.Parallel()
	// goxmldsig and other Go signers write ECDSA signatures as ASN.1 DER;
	// the standard raw r||s and DER are both accepted.
	for _, tc := range []struct {
		name string
		key  func() (*samltest.IdP, error)
	}{
		{"p256", func() (*samltest.IdP, error) { return newECDSAIdP("P256") }},
	} {
		idp, err := tc.key()
		require.NoError(t, err)
		h := newHarnessFor(t, idp)
		xml := h.xml(t, signedAssertion)
		i, j := span(t, xml, "<ds:SignatureValue>", "</ds:SignatureValue>", 0)
		raw, err := base64.StdEncoding.DecodeString(xml[i+len("<ds:SignatureValue>") : j-len("</ds:SignatureValue>")])
		require.NoError(t, err)
		require.Len(t, raw, 64)
		der := derFromRaw(raw)
		_, err = h.verify(t, xml[:i]+"<ds:SignatureValue>"+base64.StdEncoding.EncodeToString(der)+"</ds:SignatureValue>"+xml[j:])
		assert.NoError(t, err, tc.name)
	}
}

func TestDebugReport(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	xml := h.xml(t, signedBoth)
	a, err := h.verify(t, xml)
	require.NoError(t, err)
	require.NotNil(t, a.Report)
	assert.Nil(t, a.Report.Failed())
	var names []string
	for _, c := range a.Report.Checks {
		assert.True(t, c.OK, c.Name)
		assert.NotEmpty(t, c.Detail, c.Name)
		names = append(names, c.Name)
	}
	assert.Equal(t, []string{"decode", "xml", "structure", "signed", "signature:response", "signature:assertion",
		"status", "issuer", "destination", "issue_instant", "subject", "subject_confirmation", "conditions",
		"audience", "in_response_to", "authn_statement", "replay"}, names)
	assert.Equal(t, xml, a.Report.XML)

	_, err = h.verify(t, xml) // replayed
	var se *saml.Error
	require.ErrorAs(t, err, &se)
	require.NotNil(t, se.Report)
	failed := se.Report.Failed()
	require.NotNil(t, failed)
	assert.Equal(t, "replay", failed.Name)
	assert.Same(t, failed, &se.Report.Checks[len(se.Report.Checks)-1])

	data, err := json.Marshal(se.Report)
	require.NoError(t, err)
	assert.Contains(t, string(data), `"check":"replay","ok":false`)
	assert.NotContains(t, string(data), "PRIVATE KEY")

	quiet := newHarness(t, func(c *saml.Config) { c.Debug = false })
	a, err = quiet.verify(t, quiet.xml(t, nil))
	require.NoError(t, err)
	assert.Nil(t, a.Report, "no report unless debugging is on")
}

func TestErrorsIsAndMessage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	_, err := h.verify(t, h.xml(t, func(s *samltest.ResponseSpec) { s.Audience = "https://other.example.com" }))
	require.Error(t, err)
	assert.ErrorIs(t, err, saml.ErrAudience)
	assert.NotErrorIs(t, err, saml.ErrIssuer)
	assert.Equal(t, `saml: audience: the Assertion is for "https://other.example.com", this service provider is "https://sp.example.com/saml/metadata"`, err.Error())
	assert.Equal(t, "saml: replay", saml.ErrReplay.Error())
	wrapped := fmt.Errorf("login: %w", err)
	assert.ErrorIs(t, wrapped, saml.ErrAudience)
}

func TestLoggerGetsRejections(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &buf, mu: &mu}, nil))
	h := newHarness(t, func(c *saml.Config) { c.Logger = logger })
	_, err := h.verify(t, h.xml(t, func(s *samltest.ResponseSpec) { s.Issuer = "https://evil.example.com" }))
	require.Error(t, err)
	mu.Lock()
	defer mu.Unlock()
	assert.Contains(t, buf.String(), "code=issuer")
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestExpiredMetadataRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *saml.Config) { c.IdP.ValidUntil = testNow.Add(-time.Minute) })
	_, err := h.verify(t, h.xml(t, nil))
	require.ErrorIs(t, err, saml.ErrExpired)
	assert.Contains(t, err.Error(), "metadata")
}

type failingCache struct{}

func (failingCache) Add(ctx context.Context, id string, exp time.Time) (bool, error) {
	return false, errors.New("redis: connection refused")
}

func TestReplayCacheFailureRefuses(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *saml.Config) { c.ReplayCache = failingCache{} })
	_, err := h.verify(t, h.xml(t, nil))
	require.ErrorIs(t, err, saml.ErrReplay)
	assert.Contains(t, err.Error(), "connection refused")
}

func TestReplayCacheRemembersUntilExpiry(t *testing.T) {
	t.Parallel()
	cache := saml.NewMemoryReplayCache(0)
	h := newHarness(t, func(c *saml.Config) { c.ReplayCache = cache })
	_, err := h.verify(t, h.xml(t, nil))
	require.NoError(t, err)
	assert.Equal(t, 1, cache.Len())
}

// TestLargeResponseAnySignaturePosition is issue 13's finding 5: a validly
// signed Response of 5,000 attribute values (about 1 MB) whose signature is
// its last child, as Auth0 sends it, was refused with "traversal limit
// reached" from 990 values up, while the same after the Issuer passed.
func TestLargeResponseAnySignaturePosition(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *saml.Config) { c.ReplayCache = forgetfulCache{} })
	values := make([]string, 5000)
	for i := range values {
		values[i] = fmt.Sprintf("group-%04d", i)
	}
	for _, sign := range []samltest.Sign{samltest.SignResponse, samltest.SignBoth} {
		for _, last := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/last=%v", sign, last), func(t *testing.T) {
				t.Parallel()
				xml := h.xml(t, func(s *samltest.ResponseSpec) {
					s.Sign, s.ResponseSignatureLast = sign, last
					s.Attributes = []samltest.Attribute{{Name: "MemberOf", Values: values}}
				})
				require.Less(t, len(xml), saml.DefaultMaxResponseSize)
				require.Equal(t, last, strings.HasSuffix(xml, "</ds:Signature></saml2p:Response>"))
				a, err := h.verify(t, xml)
				require.NoError(t, err)
				assert.Equal(t, samltest.DefaultNameID, a.NameID.Value)
				assert.Equal(t, values, a.Attributes["MemberOf"])

				// Still refused once changed.
				_, err = h.verify(t, strings.Replace(xml, "group-4999", "group-9999", 1))
				assert.ErrorIs(t, err, saml.ErrSignature)
			})
		}
	}
}
