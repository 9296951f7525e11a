package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/saml/samltest"
)

var now = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)

// fixture is a test IdP with its certificate and metadata on disk.
type fixture struct {
	dir  string
	idp  *samltest.IdP
	cert string // PEM file
	md   string // metadata file
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	idp, err := samltest.New(samltest.WithCertificateValidity(now.AddDate(-1, 0, 0), now.AddDate(5, 0, 0)))
	require.NoError(t, err)
	f := &fixture{dir: t.TempDir(), idp: idp}
	f.cert = f.write(t, "idp.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: idp.Certificate.Raw})))
	f.md = f.write(t, "idp-metadata.xml", string(idp.Metadata()))
	return f
}

func (f *fixture) write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(f.dir, name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

// response writes a signed response, base64 unless raw, and returns its
// path.
func (f *fixture) response(t *testing.T, name string, raw bool, mod func(*samltest.ResponseSpec)) string {
	t.Helper()
	spec := samltest.ResponseSpec{Now: now, InResponseTo: "_req-1", Attributes: []samltest.Attribute{
		{Name: "MemberOf", Values: []string{"dev", "ops"}},
		{Name: "Username", Values: []string{"alice"}},
	}}
	if mod != nil {
		mod(&spec)
	}
	r, err := f.idp.Response(spec)
	require.NoError(t, err)
	if raw {
		return f.write(t, name, string(r.XML))
	}
	return f.write(t, name, r.Base64())
}

// baseArgs trusts the IdP by certificate, as an admin would.
func (f *fixture) baseArgs() []string {
	return []string{
		"-idp-cert", f.cert, "-idp-entity-id", f.idp.EntityID,
		"-sp-entity-id", samltest.DefaultAudience, "-acs-url", samltest.DefaultACSURL,
		"-request-id", "_req-1", "-now", now.Format(time.RFC3339),
	}
}

// samlcheck runs the command and returns its status and output lines.
func samlcheck(t *testing.T, stdin string, args ...string) (int, []map[string]any, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), l)
		lines = append(lines, m)
	}
	return code, lines, errOut.String()
}

func keys(m map[string]any) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	return k
}

func TestValidResponse(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	b64 := f.response(t, "b64", false, nil)
	raw := f.response(t, "raw.xml", true, nil)
	code, lines, stderr := samlcheck(t, "", append(f.baseArgs(), b64, raw)...)
	require.Equal(t, exitValid, code, stderr)
	require.Len(t, lines, 2)
	for i, file := range []string{b64, raw} {
		l := lines[i]
		assert.ElementsMatch(t, []string{"file", "valid", "assertion"}, keys(l))
		assert.Equal(t, file, l["file"])
		assert.Equal(t, true, l["valid"])
		a := l["assertion"].(map[string]any)
		assert.ElementsMatch(t, []string{"id", "issuer", "nameID", "nameIDFormat", "sessionIndex", "attributes"}, keys(a))
		assert.Equal(t, samltest.DefaultNameID, a["nameID"])
		assert.Equal(t, samltest.NameIDFormatEmail, a["nameIDFormat"])
		assert.Equal(t, f.idp.EntityID, a["issuer"])
		assert.NotEmpty(t, a["id"])
		assert.NotEmpty(t, a["sessionIndex"])
		assert.Equal(t, map[string]any{"MemberOf": []any{"dev", "ops"}, "Username": []any{"alice"}}, a["attributes"])
	}
}

func TestInvalidResponseAndExitCode(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	good := f.response(t, "good", false, nil)
	bad := f.response(t, "bad", false, func(s *samltest.ResponseSpec) { s.Audience = "https://other.example.com" })
	code, lines, _ := samlcheck(t, "", append(f.baseArgs(), good, bad)...)
	assert.Equal(t, exitInvalid, code)
	require.Len(t, lines, 2)
	assert.Equal(t, true, lines[0]["valid"])
	l := lines[1]
	assert.ElementsMatch(t, []string{"file", "valid", "error"}, keys(l))
	assert.Equal(t, false, l["valid"])
	e := l["error"].(map[string]any)
	assert.ElementsMatch(t, []string{"code", "message"}, keys(e))
	assert.Equal(t, "audience", e["code"])
	assert.Contains(t, e["message"], "https://other.example.com")
}

func TestSharedReplayCache(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := f.response(t, "r", false, nil)
	code, lines, _ := samlcheck(t, "", append(f.baseArgs(), r, r)...)
	assert.Equal(t, exitInvalid, code)
	require.Len(t, lines, 2)
	assert.Equal(t, true, lines[0]["valid"])
	assert.Equal(t, "replay", lines[1]["error"].(map[string]any)["code"])
}

func TestStdinAndMetadata(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	data, err := os.ReadFile(f.response(t, "r", false, nil))
	require.NoError(t, err)
	args := []string{"-idp-metadata", f.md, "-sp-entity-id", samltest.DefaultAudience, "-acs-url", samltest.DefaultACSURL,
		"-request-id", "_other", "-request-id", "_req-1", "-now", now.Format(time.RFC3339)}
	code, lines, stderr := samlcheck(t, "\n"+string(data)+"\n", args...)
	require.Equal(t, exitValid, code, stderr)
	require.Len(t, lines, 1)
	assert.Equal(t, "-", lines[0]["file"])
}

func TestDebugChecks(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	good := f.response(t, "good", false, nil)
	bad := f.response(t, "bad", false, func(s *samltest.ResponseSpec) { s.InResponseTo = "_someone_else" })
	code, lines, _ := samlcheck(t, "", append(f.baseArgs(), "-debug", good, bad)...)
	assert.Equal(t, exitInvalid, code)
	require.Len(t, lines, 2)
	for i, l := range lines {
		checks := l["checks"].([]any)
		require.NotEmpty(t, checks)
		first := checks[0].(map[string]any)
		assert.ElementsMatch(t, []string{"check", "ok", "detail"}, keys(first))
		last := checks[len(checks)-1].(map[string]any)
		assert.Equal(t, i == 0, last["ok"], "the last check decides")
	}
	assert.Equal(t, "in_response_to", lines[1]["checks"].([]any)[len(lines[1]["checks"].([]any))-1].(map[string]any)["check"])
}

func TestOptions(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	unsolicited := f.response(t, "u", false, func(s *samltest.ResponseSpec) { s.InResponseTo = "" })
	sha1 := f.response(t, "s", false, func(s *samltest.ResponseSpec) { s.SignatureMethod = samltest.RSASHA1 })
	late := f.response(t, "l", false, func(s *samltest.ResponseSpec) { s.Now = now.Add(-6 * time.Minute) })
	for _, tc := range []struct {
		name  string
		file  string
		extra []string
		want  int
	}{
		{"unsolicited refused", unsolicited, nil, exitInvalid},
		{"unsolicited allowed", unsolicited, []string{"-allow-idp-initiated"}, exitValid},
		{"sha1 refused", sha1, nil, exitInvalid},
		{"sha1 allowed", sha1, []string{"-allow-sha1"}, exitValid},
		{"expired within default skew", late, nil, exitValid},
		{"expired without skew", late, []string{"-skew", "0s"}, exitInvalid},
		{"now in the past", late, []string{"-now", now.Add(-5 * time.Minute).Format(time.RFC3339)}, exitValid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append(append(f.baseArgs(), tc.extra...), tc.file)
			code, _, stderr := samlcheck(t, "", args...)
			assert.Equal(t, tc.want, code, stderr)
		})
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := f.response(t, "r", false, nil)
	notPEM := f.write(t, "notpem", "hello")
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"unknown flag", []string{"-nope"}},
		{"no sp entity id", []string{"-idp-cert", f.cert, "-idp-entity-id", "x", "-acs-url", "https://a", r}},
		{"no trust", []string{"-sp-entity-id", "a", "-acs-url", "https://a", r}},
		{"cert without entity id", []string{"-idp-cert", f.cert, "-sp-entity-id", "a", "-acs-url", "https://a", r}},
		{"bad now", append(f.baseArgs(), "-now", "yesterday", r)},
		{"negative skew", append(f.baseArgs(), "-skew", "-1s", r)},
		{"missing cert file", []string{"-idp-cert", "/nonexistent.pem", "-idp-entity-id", "x", "-sp-entity-id", "a", "-acs-url", "https://a", r}},
		{"not pem", []string{"-idp-cert", notPEM, "-idp-entity-id", "x", "-sp-entity-id", "a", "-acs-url", "https://a", r}},
		{"missing input", append(f.baseArgs(), "/nonexistent-response")},
		{"mapping without plan", append(f.baseArgs(), "-mapping", f.cert, r)},
		{"bad plan file", append(f.baseArgs(), "-plan", f.cert, r)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := samlcheck(t, "", tc.args...)
			assert.Equal(t, exitUsage, code)
			assert.NotEmpty(t, stderr)
		})
	}
}

func TestPlan(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := f.response(t, "r", false, nil)
	snapshot := f.write(t, "snapshot.json", `{
	  "user": {"id": "u1", "username": "alice", "email": "alice@example.com", "siteAdmin": false, "serviceAccount": false, "teams": ["t-old"]},
	  "teams": [
	    {"id": "t-dev", "org": "acme", "name": "dev", "ssoTeamId": "", "owners": false, "members": 3},
	    {"id": "t-old", "org": "acme", "name": "old", "ssoTeamId": "", "owners": false, "members": 1}
	  ],
	  "usernamesTaken": []
	}`)
	mappingFile := f.write(t, "mapping.json", `{"teamSync": true}`)
	code, lines, stderr := samlcheck(t, "", append(f.baseArgs(), "-plan", snapshot, "-mapping", mappingFile, r)...)
	require.Equal(t, exitValid, code, stderr)
	require.Len(t, lines, 1)
	assert.ElementsMatch(t, []string{"file", "valid", "assertion", "plan"}, keys(lines[0]))
	plan := lines[0]["plan"].(map[string]any)
	assert.Equal(t, "u1", plan["user"])
	add := plan["add"].([]any)
	require.Len(t, add, 1)
	assert.Equal(t, "t-dev", add[0].(map[string]any)["team"])
	remove := plan["remove"].([]any)
	require.Len(t, remove, 1)
	assert.Equal(t, "t-old", remove[0].(map[string]any)["team"])
	ignored := plan["ignored"].([]any)
	assert.Equal(t, "ops", ignored[0].(map[string]any)["value"], "ops matches no team")
}

func TestPlanNotHTMLEscaped(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := f.response(t, "r", false, func(s *samltest.ResponseSpec) {
		s.Attributes = []samltest.Attribute{{Name: "MemberOf", Values: []string{"R&D <x>"}}}
	})
	snapshot := f.write(t, "snapshot.json", `{"user": null, "teams": [], "usernamesTaken": []}`)
	mappingFile := f.write(t, "mapping.json", `{"teamSync": true}`)
	var out, errOut bytes.Buffer
	code := run(context.Background(), append(f.baseArgs(), "-plan", snapshot, "-mapping", mappingFile, r), strings.NewReader(""), &out, &errOut)
	require.Equal(t, exitValid, code, errOut.String())
	assert.Equal(t, 2, strings.Count(out.String(), "R&D <x>"), "in the attributes and in the plan, unescaped: %s", out.String())
}

func TestEncryptedWithSPKey(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	cert, err := samltest.NewCertificate(key, "sp", now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0))
	require.NoError(t, err)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	keyFile := f.write(t, "sp.pem", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}))+
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})))
	gcm := f.response(t, "gcm", false, func(s *samltest.ResponseSpec) {
		s.Encrypt = &samltest.Encryption{Certificate: cert, Content: samltest.AES256GCM}
	})
	cbc := f.response(t, "cbc", false, func(s *samltest.ResponseSpec) {
		s.Encrypt = &samltest.Encryption{Certificate: cert, Content: samltest.AES128CBC}
	})
	code, lines, stderr := samlcheck(t, "", append(f.baseArgs(), "-sp-key", keyFile, gcm, cbc)...)
	assert.Equal(t, exitInvalid, code, stderr)
	require.Len(t, lines, 2)
	assert.Equal(t, true, lines[0]["valid"])
	assert.Equal(t, samltest.DefaultNameID, lines[0]["assertion"].(map[string]any)["nameID"])
	assert.Equal(t, "decryption", lines[1]["error"].(map[string]any)["code"], "CBC in an unsigned Response")

	code, lines, stderr = samlcheck(t, "", append(f.baseArgs(), "-sp-key", keyFile, "-allow-unsigned-cbc", cbc)...)
	assert.Equal(t, exitValid, code, stderr)
	require.Len(t, lines, 1)

	code, lines, _ = samlcheck(t, "", append(f.baseArgs(), gcm)...)
	assert.Equal(t, exitInvalid, code, "no key")
	assert.Equal(t, "decryption", lines[0]["error"].(map[string]any)["code"])

	code, _, stderr = samlcheck(t, "", append(f.baseArgs(), "-sp-key", f.cert, gcm)...)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "no PEM private key")
}
