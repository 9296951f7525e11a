package saml_test

import (
	"context"
	"encoding/base64"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/siteadmin/integrations/saml"
)

// peerFixture is one fixture of ../shared/bench (see its README): the same
// files, clock and parameters the peer libraries are timed with.
type peerFixture struct {
	name, file, cert, clock, issuer, entityID, acsURL, requestID, nameID string
	base64                                                               bool
	memberOf                                                             int
}

var peerFixtures = []peerFixture{
	{name: "okta", file: "okta_response.xml", cert: "okta_cert.pem", clock: "2016-07-25T23:20:24Z",
		issuer: "http://www.okta.com/exk659aytfMeNI49v0h7", entityID: `"123"`, acsURL: "http://localhost:8080/v1/_saml_callback",
		requestID: "_15f66d2d-628b-4d9b-a99e-089d8da862e1", nameID: "russellhaering"},
	{name: "google", file: "google_response.b64", base64: true, cert: "google_cert.pem", clock: "2016-01-05T16:55:49Z",
		issuer: "https://accounts.google.com/o/saml2?idpid=C02dfl1r1", entityID: "https://29ee6d2e.ngrok.io/saml/metadata",
		acsURL: "https://29ee6d2e.ngrok.io/saml/acs", requestID: "id-fd419a5ab0472645427f8e07d87a3a5dd0b2e9a6", nameID: "ross@octolabs.io"},
	{name: "large", file: "large_response.xml", cert: "large_cert.pem", clock: "2025-01-01T12:00:30Z",
		issuer: "https://idp.example.com/saml/metadata", entityID: "https://sp.example.com/saml/metadata",
		acsURL: "https://sp.example.com/saml/acs", requestID: "_bench-request-0001", nameID: "alice@example.com", memberOf: 200},
}

// forgetfulCache accepts every ID, so that one response can be verified
// again and again.
type forgetfulCache struct{}

func (forgetfulCache) Add(context.Context, string, time.Time) (bool, error) { return true, nil }

// load returns the form value and a service provider for f.
func (f peerFixture) load(tb testing.TB) (string, *saml.ServiceProvider) {
	tb.Helper()
	data, err := os.ReadFile("testdata/" + f.file)
	if err != nil {
		tb.Fatal(err)
	}
	form := string(data)
	if !f.base64 {
		form = base64.StdEncoding.EncodeToString(data)
	}
	now, err := time.Parse(time.RFC3339, f.clock)
	if err != nil {
		tb.Fatal(err)
	}
	sp, err := saml.NewServiceProvider(saml.Config{
		EntityID:    f.entityID,
		ACSURL:      f.acsURL,
		IdP:         saml.IdentityProvider{EntityID: f.issuer, Certificates: readCerts(tb, "testdata/"+f.cert)},
		Clock:       func() time.Time { return now },
		ReplayCache: forgetfulCache{},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return form, sp
}

// tampered changes one byte of the NameID in form.
func (f peerFixture) tampered(tb testing.TB, form string) string {
	tb.Helper()
	raw, err := base64.StdEncoding.DecodeString(form)
	if err != nil {
		tb.Fatal(err)
	}
	s := string(raw)
	i := strings.Index(s, f.nameID+"<")
	if i < 0 {
		tb.Fatalf("%s: NameID %q not found", f.name, f.nameID)
	}
	s = s[:i] + "X" + s[i+1:]
	return base64.StdEncoding.EncodeToString([]byte(s))
}

// checkPeerFixture is the benchmark's precondition: the fixture is
// accepted with its NameID and MemberOf count, and refused once tampered.
func checkPeerFixture(tb testing.TB, f peerFixture, sp *saml.ServiceProvider, form string) {
	tb.Helper()
	a, err := sp.Verify(context.Background(), form, f.requestID)
	if err != nil {
		tb.Fatalf("%s: %v", f.name, err)
	}
	if a.NameID.Value != f.nameID || len(a.Attributes["MemberOf"]) != f.memberOf {
		tb.Fatalf("%s: NameID %q with %d MemberOf values, want %q with %d", f.name, a.NameID.Value, len(a.Attributes["MemberOf"]), f.nameID, f.memberOf)
	}
	if _, err := sp.Verify(context.Background(), f.tampered(tb, form), f.requestID); err == nil {
		tb.Fatalf("%s: a tampered NameID was accepted", f.name)
	}
}

func TestPeerFixtures(t *testing.T) {
	t.Parallel()
	for _, f := range peerFixtures {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			form, sp := f.load(t)
			checkPeerFixture(t, f, sp, form)
		})
	}
}

// BenchmarkVerifyPeerFixtures times what a host does per login, from the
// form value to the verified assertion, on ../shared/bench's fixtures.
// ../shared/bench/run compares it with gosaml2, crewjam/saml and the floor.
func BenchmarkVerifyPeerFixtures(b *testing.B) {
	for _, f := range peerFixtures {
		b.Run(f.name, func(b *testing.B) {
			form, sp := f.load(b)
			checkPeerFixture(b, f, sp, form)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := sp.Verify(ctx, form, f.requestID); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
