package saml_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/saml"
	"github.com/siteadmin/integrations/saml/samltest"
)

// spKeyPair is the service provider's encryption key and certificate.
type spKeyPair struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
}

func newSPKeyPair() (spKeyPair, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return spKeyPair{}, err
	}
	cert, err := samltest.NewCertificate(key, "sp.example.com", testNow.AddDate(-1, 0, 0), testNow.AddDate(5, 0, 0))
	return spKeyPair{key, cert}, err
}

var sharedSPKey = sync.OnceValues(newSPKeyPair)

// encHarness is a harness whose SP decrypts with the shared SP key.
func encHarness(t testing.TB, mods ...func(*saml.Config)) (*harness, spKeyPair) {
	t.Helper()
	kp, err := sharedSPKey()
	require.NoError(t, err)
	return newHarness(t, append([]func(*saml.Config){func(c *saml.Config) {
		c.DecryptionKeys = []*rsa.PrivateKey{kp.key}
		c.EncryptionCertificate = kp.cert
	}}, mods...)...), kp
}

func encrypted(kp spKeyPair, e samltest.Encryption, sign samltest.Sign) func(*samltest.ResponseSpec) {
	e.Certificate = kp.cert
	return func(s *samltest.ResponseSpec) {
		s.Sign = sign
		s.Encrypt = &e
		s.Attributes = []samltest.Attribute{{Name: "MemberOf", Values: []string{"eng", "ops"}}}
	}
}

func TestEncryptedAlgorithmPairs(t *testing.T) {
	t.Parallel()
	h, kp := encHarness(t)
	transports := []samltest.Encryption{
		{KeyTransport: samltest.RSAOAEPMGF1P},
		{KeyTransport: samltest.RSAOAEPMGF1P, Digest: samltest.DigestSHA256},
		{KeyTransport: samltest.RSAOAEPMGF1P, Digest: samltest.DigestSHA512},
		{KeyTransport: samltest.RSAOAEP},
		{KeyTransport: samltest.RSAOAEP, Digest: samltest.DigestSHA256, MGF: samltest.MGF1SHA256},
		{KeyTransport: samltest.RSAOAEP, Digest: samltest.DigestSHA256, MGF: samltest.MGF1SHA1},
		{KeyTransport: samltest.RSAOAEP, Digest: samltest.DigestSHA512, MGF: samltest.MGF1SHA512},
		{KeyTransport: samltest.RSAOAEP, Digest: samltest.DigestSHA1, MGF: samltest.MGF1SHA256},
	}
	contents := []string{samltest.AES128GCM, samltest.AES192GCM, samltest.AES256GCM, samltest.AES128CBC, samltest.AES192CBC, samltest.AES256CBC}
	for _, tr := range transports {
		for _, content := range contents {
			for _, beside := range []bool{false, true} {
				e := tr
				e.Content, e.KeyBeside = content, beside
				name := short(e.KeyTransport) + "+" + short(e.Digest) + "+" + short(e.MGF) + "/" + short(content)
				if beside {
					name += "/key-beside"
				}
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					// CBC needs a signed Response; GCM is fine without.
					sign := samltest.SignBoth
					if strings.Contains(content, "gcm") {
						sign = samltest.SignAssertion
					}
					xml := h.xml(t, encrypted(kp, e, sign))
					require.Contains(t, xml, "EncryptedAssertion")
					require.NotContains(t, xml, samltest.DefaultNameID)
					a, err := h.verify(t, xml)
					require.NoError(t, err, reportOf(err))
					assert.Equal(t, samltest.DefaultNameID, a.NameID.Value)
					assert.Equal(t, []string{"eng", "ops"}, a.Attributes["MemberOf"])
					assert.Contains(t, a.Report.DecryptedXML, samltest.DefaultNameID, "the debug report shows the decrypted assertion")
				})
			}
		}
	}
}

func short(uri string) string {
	if uri == "" {
		return "default"
	}
	return uri[strings.LastIndexAny(uri, "#/")+1:]
}

func TestEncryptedSignaturePolicy(t *testing.T) {
	t.Parallel()
	kp, err := sharedSPKey()
	require.NoError(t, err)
	gcm := samltest.Encryption{Content: samltest.AES256GCM}
	cbc := samltest.Encryption{Content: samltest.AES256CBC}
	for _, tc := range []struct {
		name string
		mod  func(*samltest.ResponseSpec)
		cfg  func(*saml.Config)
		want saml.Code // "" = accepted
	}{
		{"gcm, signed assertion only", encrypted(kp, gcm, samltest.SignAssertion), nil, ""},
		{"gcm, signed response only", encrypted(kp, gcm, samltest.SignResponse), nil, ""},
		{"gcm, nothing signed", encrypted(kp, gcm, samltest.SignNone), nil, saml.CodeSignature},
		{"gcm, response only, want assertions signed", encrypted(kp, gcm, samltest.SignResponse), func(c *saml.Config) { c.WantAssertionsSigned = true }, saml.CodeSignature},
		{"cbc, signed response", encrypted(kp, cbc, samltest.SignResponse), nil, ""},
		{"cbc, signed assertion in unsigned response", encrypted(kp, cbc, samltest.SignAssertion), nil, saml.CodeDecryption},
		{"cbc, unsigned response allowed", encrypted(kp, cbc, samltest.SignAssertion), func(c *saml.Config) { c.AllowCBCInUnsignedResponse = true }, ""},
		{"cbc allowed, nothing signed", encrypted(kp, cbc, samltest.SignNone), func(c *saml.Config) { c.AllowCBCInUnsignedResponse = true }, saml.CodeSignature},
		{"rsa-1_5 refused", encrypted(kp, samltest.Encryption{KeyTransport: samltest.RSA15}, samltest.SignBoth), nil, saml.CodeDecryption},
		{"rsa-1_5 allowed", encrypted(kp, samltest.Encryption{KeyTransport: samltest.RSA15}, samltest.SignBoth), func(c *saml.Config) { c.AllowLegacyEncryption = true }, ""},
		{"tripledes refused", encrypted(kp, samltest.Encryption{Content: samltest.TripleDESCBC}, samltest.SignBoth), nil, saml.CodeDecryption},
		{"tripledes allowed", encrypted(kp, samltest.Encryption{Content: samltest.TripleDESCBC}, samltest.SignBoth), func(c *saml.Config) { c.AllowLegacyEncryption = true }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mods := []func(*saml.Config){}
			if tc.cfg != nil {
				mods = append(mods, tc.cfg)
			}
			h, _ := encHarness(t, mods...)
			a, err := h.verify(t, h.xml(t, tc.mod))
			if tc.want == "" {
				require.NoError(t, err, reportOf(err))
				assert.Equal(t, samltest.DefaultNameID, a.NameID.Value)
				return
			}
			require.Error(t, err)
			assert.Equal(t, tc.want, codeOf(err), "%v", err)
		})
	}
}

func TestLegacyEncryptionRefusalNamesTheAlgorithm(t *testing.T) {
	t.Parallel()
	h, kp := encHarness(t)
	_, err := h.verify(t, h.xml(t, encrypted(kp, samltest.Encryption{KeyTransport: samltest.RSA15}, samltest.SignBoth)))
	require.ErrorIs(t, err, saml.ErrDecryption)
	assert.Contains(t, err.Error(), "rsa-1_5")
	assert.Contains(t, err.Error(), "Bleichenbacher")
	_, err = h.verify(t, h.xml(t, encrypted(kp, samltest.Encryption{Content: samltest.TripleDESCBC}, samltest.SignBoth)))
	assert.Contains(t, err.Error(), "tripledes-cbc")
}

// tamper changes the base64 CipherValue number n (0: the first in the
// document) at byte offset at, keeping it valid base64.
func tamperCipherValue(t *testing.T, xml string, n, at int, truncate bool) string {
	t.Helper()
	from := 0
	var i, j int
	for k := 0; k <= n; k++ {
		i, j = span(t, xml, "<xenc:CipherValue>", "</xenc:CipherValue>", from)
		from = j
	}
	v := xml[i+len("<xenc:CipherValue>") : j-len("</xenc:CipherValue>")]
	raw, err := base64.StdEncoding.DecodeString(v)
	require.NoError(t, err)
	if truncate {
		raw = raw[:len(raw)-at]
	} else {
		raw[at%len(raw)] ^= 0x01
	}
	return xml[:i] + "<xenc:CipherValue>" + base64.StdEncoding.EncodeToString(raw) + "</xenc:CipherValue>" + xml[j:]
}

func TestDecryptionFailuresLookAlike(t *testing.T) {
	t.Parallel()
	other, err := newSPKeyPair()
	require.NoError(t, err)
	for _, content := range []string{samltest.AES256GCM, samltest.AES256CBC} {
		// An unsigned Response, as an attacker who edits the ciphertext
		// sends; CBC is allowed there to show its padding says nothing.
		h, kp := encHarness(t, func(c *saml.Config) { c.AllowCBCInUnsignedResponse = true })
		enc := samltest.Encryption{Content: content}
		xml := h.xml(t, encrypted(kp, enc, samltest.SignAssertion))
		// CipherValue 0 is the EncryptedKey's (inside KeyInfo), 1 the data's.
		cases := map[string]string{
			"encrypted key flipped":   tamperCipherValue(t, xml, 0, 7, false),
			"encrypted key truncated": tamperCipherValue(t, xml, 0, 1, true),
			"content flipped early":   tamperCipherValue(t, xml, 1, 3, false),
			"content flipped late":    tamperCipherValue(t, xml, 1, -1+len(xml), false),
			"content last byte":       tamperCipherValue(t, xml, 1, 1<<30-1, false),
			"content truncated":       tamperCipherValue(t, xml, 1, 16, true),
			"content one block":       tamperCipherValue(t, xml, 1, 1, true),
			"wrong key":               h.xml(t, encrypted(other, enc, samltest.SignAssertion)),
			"unknown algorithm":       strings.Replace(xml, content, "http://www.w3.org/2001/04/xmlenc#kw-aes256", 1),
			"no cipher value":         strings.Replace(strings.Replace(xml, "<xenc:CipherValue>", "<xenc:Other>", 1), "</xenc:CipherValue>", "</xenc:Other>", 1),
		}
		var messages []string
		for name, x := range cases {
			_, err := h.verify(t, x)
			require.Error(t, err, name)
			require.ErrorIs(t, err, saml.ErrDecryption, "%s: %v", name, err)
			var se *saml.Error
			require.ErrorAs(t, err, &se)
			messages = append(messages, se.Message)
			// The detail is for the admin's debug report only.
			assert.NotEqual(t, se.Message, se.Report.Failed().Detail, name)
		}
		for _, m := range messages {
			assert.Equal(t, messages[0], m, "every failure to decrypt must read the same")
		}
	}
}

func TestDecryptionWithoutKey(t *testing.T) {
	t.Parallel()
	kp, err := sharedSPKey()
	require.NoError(t, err)
	h := newHarness(t)
	_, err = h.verify(t, h.xml(t, encrypted(kp, samltest.Encryption{}, samltest.SignBoth)))
	require.ErrorIs(t, err, saml.ErrDecryption)
	assert.Contains(t, err.Error(), "no decryption key")
}

func TestDecryptionKeyRotation(t *testing.T) {
	t.Parallel()
	next, err := newSPKeyPair()
	require.NoError(t, err)
	h, old := encHarness(t, func(c *saml.Config) {
		c.DecryptionKeys = append([]*rsa.PrivateKey{next.key}, c.DecryptionKeys...)
		c.EncryptionCertificate = next.cert
	})
	for _, kp := range []spKeyPair{old, next} {
		_, err := h.verify(t, h.xml(t, encrypted(kp, samltest.Encryption{}, samltest.SignBoth)))
		assert.NoError(t, err)
	}
}

func TestEncryptedNameIDAndAttributes(t *testing.T) {
	t.Parallel()
	h, kp := encHarness(t)
	e := &samltest.Encryption{Certificate: kp.cert}
	xml := h.xml(t, func(s *samltest.ResponseSpec) {
		s.Sign = samltest.SignBoth
		s.EncryptNameID = e
		s.EncryptAttributes = e
		s.Attributes = []samltest.Attribute{
			{Name: "MemberOf", Values: []string{"eng"}},
			{Name: "Username", FriendlyName: "user", Values: []string{"alice"}},
			{Name: "MemberOf", Values: []string{"ops"}},
		}
	})
	require.Contains(t, xml, "EncryptedID")
	require.Contains(t, xml, "EncryptedAttribute")
	require.NotContains(t, xml, samltest.DefaultNameID)
	a, err := h.verify(t, xml)
	require.NoError(t, err, reportOf(err))
	assert.Equal(t, samltest.DefaultNameID, a.NameID.Value)
	assert.Equal(t, samltest.NameIDFormatEmail, a.NameID.Format)
	assert.Equal(t, []string{"eng", "ops"}, a.Attributes["MemberOf"])
	assert.Equal(t, "alice", a.Attributes.Get("Username"))
	assert.Equal(t, "user", a.FriendlyNames["Username"])

	// CBC is fine inside a signed assertion, even in an unsigned Response:
	// the assertion signature covers the ciphertext.
	cbc := &samltest.Encryption{Certificate: kp.cert, Content: samltest.AES128CBC}
	a, err = h.verify(t, h.xml(t, func(s *samltest.ResponseSpec) {
		s.Sign, s.EncryptNameID, s.EncryptAttributes = samltest.SignAssertion, cbc, cbc
		s.Attributes = []samltest.Attribute{{Name: "MemberOf", Values: []string{"eng"}}}
	}))
	require.NoError(t, err, reportOf(err))
	assert.Equal(t, samltest.DefaultNameID, a.NameID.Value)

	// Both encrypted inside an encrypted assertion.
	xml = h.xml(t, func(s *samltest.ResponseSpec) {
		s.Sign = samltest.SignBoth
		s.EncryptNameID, s.EncryptAttributes, s.Encrypt = e, e, e
		s.Attributes = []samltest.Attribute{{Name: "MemberOf", Values: []string{"eng"}}}
	})
	a, err = h.verify(t, xml)
	require.NoError(t, err, reportOf(err))
	assert.Equal(t, samltest.DefaultNameID, a.NameID.Value)
	assert.Equal(t, []string{"eng"}, a.Attributes["MemberOf"])
}

func TestEncryptedAssertionRules(t *testing.T) {
	t.Parallel()
	// A decrypted assertion meets every rule of the clear path.
	h, kp := encHarness(t)
	enc := samltest.Encryption{}
	for _, tc := range []struct {
		name string
		mod  func(*samltest.ResponseSpec)
		want *saml.Error
	}{
		{"audience", func(s *samltest.ResponseSpec) { s.Audience = "https://other.example.com" }, saml.ErrAudience},
		{"expired", func(s *samltest.ResponseSpec) { s.Now = testNow.Add(-time.Hour) }, saml.ErrExpired},
		{"assertion issuer", func(s *samltest.ResponseSpec) { s.AssertionIssuer = "https://evil.example.com" }, saml.ErrIssuer},
		{"recipient", func(s *samltest.ResponseSpec) { s.Recipient = "https://other.example.com/acs" }, saml.ErrRecipient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := h.verify(t, h.xml(t, func(s *samltest.ResponseSpec) {
				encrypted(kp, enc, samltest.SignBoth)(s)
				tc.mod(s)
			}))
			assert.ErrorIs(t, err, tc.want)
		})
	}
	// Replay of an encrypted assertion.
	xml := h.xml(t, encrypted(kp, enc, samltest.SignBoth))
	_, err := h.verify(t, xml)
	require.NoError(t, err)
	_, err = h.verify(t, xml)
	assert.ErrorIs(t, err, saml.ErrReplay)
}

func TestEncryptedHoldingTwoAssertions(t *testing.T) {
	t.Parallel()
	// An IdP key holder could encrypt anything: two assertions, or one
	// that repeats an ID of the Response, are still refused.
	h, kp := encHarness(t)
	clear := h.xml(t, signedAssertion)
	i, j := span(t, clear, "<saml2:Assertion", "</saml2:Assertion>", 0)
	twoAssertions := clear[i:j] + clear[i:j]
	for name, fragment := range map[string]string{
		"two assertions": twoAssertions,
		"text":           "hello",
	} {
		xml := h.xml(t, encrypted(kp, samltest.Encryption{}, samltest.SignResponse))
		ei, ej := span(t, xml, "<saml2:EncryptedAssertion", "</saml2:EncryptedAssertion>", 0)
		enc, err := encryptFragment(kp, fragment)
		require.NoError(t, err)
		xml = xml[:ei] + `<saml2:EncryptedAssertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion">` + enc + `</saml2:EncryptedAssertion>` + xml[ej:]
		// Re-sign the Response over the new ciphertext.
		xml = removeSignatures(t, xml)
		xml = h.signXML(t, xml, attrValue(t, xml, "ID"))
		_, err = h.verify(t, xml)
		require.Error(t, err, name)
		assert.Contains(t, []saml.Code{saml.CodeDecryption, saml.CodeStructure}, codeOf(err), "%s: %v", name, err)
	}
}

// encryptFragment encrypts arbitrary XML to kp, by way of samltest.
func encryptFragment(kp spKeyPair, fragment string) (string, error) {
	return samltest.EncryptXML([]byte(fragment), samltest.Encryption{Certificate: kp.cert})
}

// BenchmarkVerifyEncrypted times a login with an RSA-2048 OAEP and
// AES-256-GCM encrypted assertion in a signed Response.
func BenchmarkVerifyEncrypted(b *testing.B) {
	h, kp := encHarness(b, func(c *saml.Config) { c.ReplayCache = forgetfulCache{}; c.Debug = false })
	xml := h.xml(b, func(s *samltest.ResponseSpec) {
		encrypted(kp, samltest.Encryption{Content: samltest.AES256GCM}, samltest.SignResponse)(s)
		s.Attributes = fuzzAttributes
	})
	form := base64.StdEncoding.EncodeToString([]byte(xml))
	ctx := context.Background()
	if _, err := h.sp.Verify(ctx, form, testRequest); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.sp.Verify(ctx, form, testRequest); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSignatureBesideEncryptedData(t *testing.T) {
	t.Parallel()
	h, kp := encHarness(t)
	xml := h.xml(t, encrypted(kp, samltest.Encryption{}, samltest.SignResponse))
	i, j := span(t, xml, "<ds:Signature", "</ds:Signature>", 0)
	sig := xml[i:j]
	xml = strings.Replace(xml, "</saml2:EncryptedAssertion>", sig+"</saml2:EncryptedAssertion>", 1)
	_, err := h.verify(t, xml)
	assert.ErrorIs(t, err, saml.ErrStructure)
}

func TestDecryptedIDsMustBeUnique(t *testing.T) {
	t.Parallel()
	// More IDs than the scanner keeps in its small list, the last of
	// which repeats the Response's.
	h, kp := encHarness(t)
	clear := h.xml(t, signedAssertion)
	respID := attrValue(t, clear, "ID")
	i, j := span(t, clear, "<saml2:Assertion", "</saml2:Assertion>", 0)
	var extra strings.Builder
	for k := range 20 {
		fmt.Fprintf(&extra, `<saml2:AttributeValue ID="_x%d">v</saml2:AttributeValue>`, k)
	}
	fmt.Fprintf(&extra, `<saml2:AttributeValue ID="%s">v</saml2:AttributeValue>`, respID)
	assertion := strings.Replace(clear[i:j], "</saml2:Assertion>",
		`<saml2:AttributeStatement><saml2:Attribute Name="x">`+extra.String()+`</saml2:Attribute></saml2:AttributeStatement></saml2:Assertion>`, 1)
	enc, err := encryptFragment(kp, assertion)
	require.NoError(t, err)
	xml := clear[:i] + `<saml2:EncryptedAssertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion">` + enc + `</saml2:EncryptedAssertion>` + clear[j:]
	xml = h.signXML(t, xml, respID)
	_, err = h.verify(t, xml)
	require.ErrorIs(t, err, saml.ErrDecryption, "refused before the assertion's signature is even looked at")
	var se *saml.Error
	require.ErrorAs(t, err, &se)
	assert.Contains(t, se.Report.Failed().Detail, "repeats an ID", "the Response is signed, so the report may say why")
}
