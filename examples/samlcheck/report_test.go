package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/saml/samltest"
)

// runRaw runs samlcheck and returns its status, stdout and stderr.
func runRaw(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

// -h documents the formats of its files and its codes, and exits 0.
func TestHelpExitsZero(t *testing.T) {
	t.Parallel()
	for _, arg := range []string{"-h", "-help", "--help"} {
		code, stdout, stderr := runRaw(arg)
		assert.Equal(t, exitValid, code, arg)
		assert.Empty(t, stdout, arg)
		for _, want := range []string{
			"usage: samlcheck", "-format", "idp_metadata_expired", "Exit status",
			`"usernamesTaken"`, `"ssoTeamId"`, "SAML Role ID", // the -plan snapshot
			`"team-sync"`, `"service-account-attribute"`, `"teamSync"`, // the -mapping file
		} {
			assert.Contains(t, stderr, want, arg)
		}
	}
}

const snapshotFile = `{
  "user": {"id": "u1", "username": "alice", "email": "alice@example.com", "teams": ["t-old"]},
  "teams": [
    {"id": "t-dev", "org": "acme", "name": "dev", "members": 3},
    {"id": "t-old", "org": "acme", "name": "old", "members": 1}
  ],
  "usernamesTaken": []
}`

// -format text reports the checks, the assertion, the Diff in sentences
// and the XML indented, with the exit statuses of the JSON form.
func TestTextFormat(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	good := f.response(t, "good", false, nil)
	bad := f.response(t, "bad", false, func(s *samltest.ResponseSpec) { s.Audience = "https://other.example.com" })
	snapshot := f.write(t, "snapshot.json", snapshotFile)
	mappingFile := f.write(t, "mapping.json", `{"team-sync": true}`)
	garbage := f.write(t, "garbage", "not a response")

	code, stdout, stderr := runRaw(append(f.baseArgs(), "-format", "text", "-plan", snapshot, "-mapping", mappingFile, good, bad, garbage)...)
	assert.Equal(t, exitInvalid, code, stderr)
	assert.Empty(t, stderr, "no note: the mapping file uses the new spelling")
	for _, want := range []string{
		good + ": ✔ valid\n",
		"  ✔ signature:assertion ",
		"  ✔ audience ",
		"  NameID        " + samltest.DefaultNameID + " (" + samltest.NameIDFormatEmail + ")\n",
		`  Attributes    MemberOf: "dev", "ops"` + "\n",
		`                Username: "alice"` + "\n",
		"Team sync (-plan):\n",
		`  Joins team "dev" of organization "acme" (ID t-dev): the value "dev" is its name.` + "\n",
		`  Leaves team "old" of organization "acme" (ID t-old)`,
		"Received XML:\n  <?xml",
		"\n    <saml2:Assertion ", // indented under the Response
		bad + ": ✘ refused (audience)\n  the Assertion is for \"https://other.example.com\"",
		"  ✘ audience ",
		garbage + ": ✘ refused (malformed)",
	} {
		assert.Contains(t, stdout, want)
	}
	assert.NotContains(t, stdout, `{"file"`, "no JSON in the text form")
	assert.Equal(t, 1, strings.Count(stdout, "Team sync (-plan)"), "only the valid response is planned")

	code, _, _ = runRaw(append(f.baseArgs(), "-format", "text", good)...)
	assert.Equal(t, exitValid, code)
}

// The default format is JSON, byte for byte what -format json prints.
func TestFormatJSONIsTheDefault(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	good := f.response(t, "good", false, nil)
	_, plain, _ := runRaw(append(f.baseArgs(), good)...)
	_, explicit, _ := runRaw(append(f.baseArgs(), "-format", "json", good)...)
	assert.Equal(t, plain, explicit)

	code, stdout, stderr := runRaw(append(f.baseArgs(), "-format", "yaml", good)...)
	assert.Equal(t, exitUsage, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, `-format "yaml": use json or text`)
}

// Expired IdP metadata is a configuration problem: its own code and exit
// status 2, in both formats; a response that expired is still "expired".
func TestExpiredIdPMetadata(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	good := f.response(t, "good", false, nil)
	late := f.response(t, "late", false, func(s *samltest.ResponseSpec) { s.Now = now.Add(-time.Hour) })
	withValidUntil := func(name string, until time.Time) string {
		md := strings.Replace(string(f.idp.Metadata()), "<md:EntityDescriptor ",
			`<md:EntityDescriptor validUntil="`+until.Format(time.RFC3339)+`" `, 1)
		require.Contains(t, md, "validUntil=")
		return f.write(t, name, md)
	}
	expired := withValidUntil("expired.xml", now.Add(-24*time.Hour))
	fresh := withValidUntil("fresh.xml", now.Add(24*time.Hour))
	args := func(md string, extra ...string) []string {
		return append([]string{"-idp-metadata", md, "-sp-entity-id", samltest.DefaultAudience,
			"-acs-url", samltest.DefaultACSURL, "-request-id", "_req-1", "-now", now.Format(time.RFC3339)}, extra...)
	}

	code, lines, _ := samlcheck(t, "", args(expired, good)...)
	assert.Equal(t, exitUsage, code)
	require.Len(t, lines, 1)
	assert.ElementsMatch(t, []string{"file", "valid", "error"}, keys(lines[0]))
	e := lines[0]["error"].(map[string]any)
	assert.Equal(t, "idp_metadata_expired", e["code"])
	assert.Contains(t, e["message"], "fetch fresh metadata")

	code, lines, _ = samlcheck(t, "", args(expired, "-debug", good)...)
	assert.Equal(t, exitUsage, code)
	assert.Equal(t, "idp_metadata", lines[0]["checks"].([]any)[0].(map[string]any)["check"])

	code, stdout, _ := runRaw(args(expired, "-format", "text", good)...)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stdout, "✘ not checked: the IdP metadata has expired (idp_metadata_expired)")

	code, lines, _ = samlcheck(t, "", args(fresh, good, late)...)
	assert.Equal(t, exitInvalid, code, "fresh metadata: the late response alone fails")
	assert.Equal(t, true, lines[0]["valid"])
	assert.Equal(t, "expired", lines[1]["error"].(map[string]any)["code"], "a response past its NotOnOrAfter is the response's problem")
}

// The -mapping file takes the SAML settings' kebab-case keys; the older
// camelCase keys still work, with a note, and one setting in both
// spellings is refused.
func TestMappingSpellings(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := f.response(t, "r", false, nil)
	snapshot := f.write(t, "snapshot.json", snapshotFile)
	for _, tc := range []struct {
		name, mapping string
		code          int
		note          string
	}{
		{"kebab-case", `{"team-sync": true, "team-attribute": "MemberOf"}`, exitValid, ""},
		{"camelCase", `{"teamSync": true, "teamAttribute": "MemberOf"}`, exitValid,
			`"teamAttribute" still works, but write "team-attribute", as the SAML settings spell it`},
		{"both", `{"teamSync": true, "team-sync": true}`, exitUsage, `"team-sync" and "teamSync" are the same setting`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			file := f.write(t, tc.name+".json", tc.mapping)
			code, lines, stderr := samlcheck(t, "", append(f.baseArgs(), "-plan", snapshot, "-mapping", file, r)...)
			assert.Equal(t, tc.code, code, stderr)
			if tc.note == "" {
				assert.Empty(t, stderr)
			} else {
				assert.Contains(t, stderr, tc.note)
			}
			if tc.code == exitValid {
				require.Len(t, lines, 1)
				assert.NotEmpty(t, lines[0]["plan"].(map[string]any)["add"], "team sync is on in both spellings")
			}
		})
	}
}
