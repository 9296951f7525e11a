package samlsp_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/saml"
	"github.com/siteadmin/integrations/saml/samltest"
)

// testNow is the fixed clock of the tests built on samltest.
var testNow = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// testSLOURL is the service provider's single logout URL in the tests.
const testSLOURL = "https://sp.example.com/saml/slo"

// sharedIdP is one RSA test IdP for the whole package: key generation is
// the slow part of a test, and an IdP is safe to share.
var sharedIdP = sync.OnceValues(func() (*samltest.IdP, error) { return newTestIdP() })

// newTestIdP returns a test IdP whose certificate is valid at testNow.
func newTestIdP(opts ...samltest.Option) (*samltest.IdP, error) {
	validity := samltest.WithCertificateValidity(testNow.Add(-365*24*time.Hour), testNow.Add(10*365*24*time.Hour))
	return samltest.New(append([]samltest.Option{validity}, opts...)...)
}

type spKeyPair struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
}

// newSPKeyPair returns a service provider RSA key pair valid at testNow.
func newSPKeyPair() (spKeyPair, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return spKeyPair{}, err
	}
	cert, err := samltest.NewCertificate(key, "sp.example.com", testNow.AddDate(-1, 0, 0), testNow.AddDate(5, 0, 0))
	return spKeyPair{key, cert}, err
}

var sharedSPKey = sync.OnceValues(newSPKeyPair)

func rsaSigner(t testing.TB) (crypto.Signer, *x509.Certificate) {
	t.Helper()
	kp, err := sharedSPKey()
	require.NoError(t, err)
	return kp.key, kp.cert
}

// harness is a test IdP and a service provider that trusts it.
type harness struct {
	idp *samltest.IdP
	sp  *saml.ServiceProvider
}

// signingSP returns a harness on the shared IdP whose service provider
// has an SLO URL and signs its requests with signer.
func signingSP(t testing.TB, signer crypto.Signer, cert *x509.Certificate) *harness {
	t.Helper()
	idp, err := sharedIdP()
	require.NoError(t, err)
	sp, err := saml.NewServiceProvider(saml.Config{
		EntityID: samltest.DefaultAudience, ACSURL: samltest.DefaultACSURL, SLOURL: testSLOURL,
		IdP: idp.IdentityProvider(), Clock: samltest.FixedClock(testNow), Debug: true,
		SigningKey: signer, SigningCertificate: cert,
	})
	require.NoError(t, err)
	return &harness{idp: idp, sp: sp}
}

// logoutSpec is a valid LogoutRequest from the shared IdP to testSLOURL.
func logoutSpec(binding string) samltest.LogoutSpec {
	return samltest.LogoutSpec{
		Destination: testSLOURL, Binding: binding, Now: testNow,
		NameID: "alice@example.com", SessionIndex: "_session-1", RelayState: "idp-state",
	}
}
