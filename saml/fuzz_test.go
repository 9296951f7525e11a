package saml_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"flag"
	"os"
	"reflect"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/saml"
	"github.com/siteadmin/integrations/saml/samltest"
)

// fuzzMinimizeTime replaces go test's default -fuzzminimizetime of 60s
// when -fuzz is given without it. The fuzzer minimizes every input that
// finds new coverage, for up to that long, and a FuzzVerify input (a
// signed response of several kilobytes) takes about a millisecond per
// call: with the default, a two-minute run spends nearly all its time
// minimizing and fuzzes a few dozen inputs. Give -fuzzminimizetime to
// override, for example to minimize a crasher for longer:
//
//	go test -run x -fuzz '^FuzzVerify$' -fuzztime 2m ./saml
//	go test -run x -fuzz '^FuzzVerify$' -fuzztime 2m -fuzzminimizetime 60s ./saml
const fuzzMinimizeTime = "3s"

func TestMain(m *testing.M) {
	flag.Parse()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.fuzzminimizetime" })
	if fuzz := flag.Lookup("test.fuzz"); fuzz != nil && fuzz.Value.String() != "" && !given {
		if err := flag.Set("test.fuzzminimizetime", fuzzMinimizeTime); err != nil {
			panic(err)
		}
	}
	os.Exit(m.Run())
}

var fuzzAttributes = []samltest.Attribute{
	{Name: "MemberOf", Values: []string{"eng", "ops"}},
	{Name: "Username", Values: []string{"alice"}},
	{Name: "SiteAdmin", Values: []string{"true"}},
}

// fuzzSPKey is a 1,024-bit decryption key: the fuzz targets spend most of
// their time in RSA decryption otherwise, four times slower at 2,048
// bits, and the key size changes nothing the fuzzer looks for.
var fuzzSPKey = sync.OnceValues(func() (spKeyPair, error) {
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		return spKeyPair{}, err
	}
	cert, err := samltest.NewCertificate(key, "sp.example.com", testNow.AddDate(-1, 0, 0), testNow.AddDate(5, 0, 0))
	return spKeyPair{key, cert}, err
})

// maxFuzzInput bounds what FuzzVerify passes on: larger inputs only slow
// the fuzzer down, and the size caps have their own tests (cost_test.go).
const maxFuzzInput = 32 << 10

// FuzzVerify feeds mutations of freshly signed (and encrypted) responses to
// Verify: no input may panic, every rejection is a *saml.Error, and an
// accepted input must carry exactly the identity its seed was signed with.
// See fuzzMinimizeTime for how long new inputs are minimized.
func FuzzVerify(f *testing.F) {
	kp, err := fuzzSPKey()
	require.NoError(f, err)
	h := newHarness(f, func(c *saml.Config) {
		c.ReplayCache = forgetfulCache{}
		c.Debug = false
		c.AllowCBCInUnsignedResponse = true
		c.DecryptionKeys = []*rsa.PrivateKey{kp.key}
		c.EncryptionCertificate = kp.cert
	})
	for _, sign := range []samltest.Sign{samltest.SignAssertion, samltest.SignResponse, samltest.SignBoth} {
		f.Add(h.xml(f, func(s *samltest.ResponseSpec) { s.Sign = sign; s.Attributes = fuzzAttributes }))
	}
	f.Add(b64([]byte(h.xml(f, func(s *samltest.ResponseSpec) { s.Sign = samltest.SignResponse; s.Attributes = fuzzAttributes }))))
	f.Add(h.xml(f, func(s *samltest.ResponseSpec) {
		s.Sign, s.ResponseSignatureLast, s.Attributes = samltest.SignBoth, true, fuzzAttributes
	}))
	for _, content := range []string{samltest.AES256GCM, samltest.AES128CBC} {
		enc := &samltest.Encryption{Certificate: kp.cert, Content: content}
		f.Add(h.xml(f, func(s *samltest.ResponseSpec) { s.Encrypt = enc; s.Attributes = fuzzAttributes }))
	}
	enc := &samltest.Encryption{Certificate: kp.cert, Content: samltest.AES128GCM}
	f.Add(h.xml(f, func(s *samltest.ResponseSpec) {
		s.Sign, s.EncryptNameID, s.EncryptAttributes, s.Attributes = samltest.SignBoth, enc, enc, fuzzAttributes
	}))
	want := saml.Attributes{"MemberOf": {"eng", "ops"}, "Username": {"alice"}, "SiteAdmin": {"true"}}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, form string) {
		if len(form) > maxFuzzInput {
			return
		}
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
