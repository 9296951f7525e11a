package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/beevik/etree"
)

const usageHead = `usage: samlcheck [flags] [FILE ...]

Verifies each SAMLResponse (base64, as the IdP posts it, or raw XML;
standard input without FILE) as the service provider would at its ACS,
and prints one JSON line per input (the default, -format json):

  {"file":F,"valid":true,"assertion":{"id":..,"issuer":..,"nameID":..,"nameIDFormat":..,"sessionIndex":..,"attributes":{NAME:[VALUES]}}}
  {"file":F,"valid":false,"error":{"code":C,"message":M}}

with "checks" (every check: {"check","ok","detail"}) under -debug and
"plan" (the team sync Diff) under -plan. -format text prints a report for
a person instead: the checks marked ✔ and ✘, the assertion, the Diff in
sentences and the XML indented.

Error codes: malformed, status, signature, algorithm, structure, issuer,
destination, recipient, audience, expired, not_yet_valid, in_response_to,
subject_confirmation, replay, decryption (the response is refused), and
idp_metadata_expired (the -idp-metadata file's validUntil has passed: fetch
fresh metadata from the IdP; no response can pass until then).

Exit status: 0 every input valid; 1 some input refused; 2 a usage or I/O
error, a -plan that failed, or idp_metadata_expired; 0 for -h.

Flags:
`

const usageFiles = `
The -plan FILE is a directory snapshot: the user and the teams as the
login would find them (camelCase keys, like the Diff's JSON):

  {"user": {"id": "u1", "username": "alice", "email": "alice@example.com",
            "siteAdmin": false, "serviceAccount": false, "teams": ["t1"]},
   "teams": [{"id": "t1", "org": "acme", "name": "dev", "ssoTeamId": "g-dev",
              "owners": false, "members": 3}],
   "usernamesTaken": ["bob"]}

  "user" is null for a new user (found by the NameID as email). "ssoTeamId"
  is the team's SSO Team ID; on an owners team ("owners": true) it is the
  SAML Role ID, the only value that matches that team. "members" counts the
  user too. IDs may be strings or numbers. Unknown keys are errors.

The -mapping FILE holds the team sync settings, with the keys the SAML
settings (samlsp.Settings) use; every key is optional:

  {"team-sync": true, "team-attribute": "MemberOf",
   "username-attribute": "Username", "site-admin-attribute": "SiteAdmin",
   "site-admin-role": "site-admins",
   "service-account-attribute": "IsServiceAccount",
   "no-comma-split": false, "allow-last-owner-removal": false}

  The values shown are the defaults, but team-sync, which is off by
  default; "-" turns an attribute or the role off. The older camelCase keys
  ("teamSync") still work, with a note on stderr asking for the new ones.
`

// writer prints one input's outcome.
type writer interface {
	write(outcome) error
}

// jsonWriter prints the JSON line, HTML escaping off so that "&" and "<"
// in names read as they are.
type jsonWriter struct{ enc *json.Encoder }

func newJSONWriter(w io.Writer) *jsonWriter {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &jsonWriter{enc: enc}
}

func (j *jsonWriter) write(o outcome) error { return j.enc.Encode(o.line) }

// textWriter prints a report for a person.
type textWriter struct {
	w       io.Writer
	written bool
}

func (t *textWriter) write(o outcome) error {
	var b strings.Builder
	if t.written {
		b.WriteString("\n")
	}
	t.written = true
	l := o.line
	switch {
	case l.Valid:
		fmt.Fprintf(&b, "%s: ✔ valid\n", l.File)
	case l.Error.Code == codeIdPMetadataExpired:
		fmt.Fprintf(&b, "%s: ✘ not checked: the IdP metadata has expired (%s)\n  %s\n", l.File, l.Error.Code, l.Error.Message)
	default:
		fmt.Fprintf(&b, "%s: ✘ refused (%s)\n  %s\n", l.File, l.Error.Code, l.Error.Message)
	}
	if o.report != nil && len(o.report.Checks) > 0 {
		b.WriteString("\nChecks:\n")
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		for _, c := range o.report.Checks {
			mark := "✔"
			if !c.OK {
				mark = "✘"
			}
			fmt.Fprintf(tw, "  %s %s\t%s\n", mark, c.Name, c.Detail)
		}
		tw.Flush()
	}
	if a := l.Assertion; a != nil {
		b.WriteString("\nAssertion:\n")
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "  ID\t%s\n  Issuer\t%s\n  NameID\t%s (%s)\n  SessionIndex\t%s\n", a.ID, a.Issuer, a.NameID, a.NameIDFormat, a.SessionIndex)
		names := make([]string, 0, len(a.Attributes))
		for name := range a.Attributes {
			names = append(names, name)
		}
		sort.Strings(names)
		for i, name := range names {
			label := ""
			if i == 0 {
				label = "Attributes"
			}
			fmt.Fprintf(tw, "  %s\t%s: %s\n", label, name, quoteAll(a.Attributes[name]))
		}
		tw.Flush()
	}
	if o.diff != nil {
		b.WriteString("\nTeam sync (-plan):\n")
		for _, sentence := range strings.SplitAfter(strings.TrimSuffix(o.diff.String(), "\n"), "\n") {
			b.WriteString("  " + sentence)
		}
		b.WriteString("\n")
	}
	if o.report != nil && o.report.XML != "" {
		b.WriteString("\nReceived XML:\n")
		b.WriteString(indentXML(o.report.XML))
	}
	if o.report != nil && o.report.DecryptedXML != "" {
		b.WriteString("\nDecrypted assertion:\n")
		b.WriteString(indentXML(o.report.DecryptedXML))
	}
	_, err := io.WriteString(t.w, b.String())
	return err
}

func quoteAll(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

// indentXML returns the XML indented by element, each line with two more
// spaces; as it came when it does not parse (the checks say why).
func indentXML(xml string) string {
	doc := etree.NewDocument()
	out := xml
	if err := doc.ReadFromString(xml); err == nil {
		doc.Indent(2)
		if s, err := doc.WriteToString(); err == nil {
			out = s
		}
	}
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		b.WriteString("  " + line + "\n")
	}
	return b.String()
}
