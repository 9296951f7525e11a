// Command samlcheck verifies SAMLResponses offline and says why a login
// fails, the way the service provider would at its ACS.
//
//	go run ./examples/samlcheck [flags] [FILE ...]
//
// Each FILE (standard input when there is none) holds one SAMLResponse, as
// the IdP posted it (base64) or as raw XML. For each it prints one JSON line,
// in input order:
//
//	{"file":F,"valid":true,"assertion":{"id":..,"issuer":..,"nameID":..,"nameIDFormat":..,"sessionIndex":..,"attributes":{NAME:[VALUES]}}}
//	{"file":F,"valid":false,"error":{"code":C,"message":M}}
//
// Encrypted assertions are decrypted with the -sp-key keys. With -debug each
// line also has "checks": every check in order with its
// outcome and detail. With -plan each valid line also has "plan": the team
// sync Diff the login would apply (package mapping) to the directory snapshot
// in the plan file, with the mapping settings of the -mapping file. All
// inputs share one replay cache, so a response given twice is a replay.
//
// With -format text it prints a report for a person instead: the checks
// marked ✔ and ✘, the assertion, the Diff in sentences and the XML
// indented. -h describes every flag and the -plan and -mapping files.
//
// With -idp-metadata-url the IdP's trust is fetched from its metadata URL
// and verified (with -idp-metadata-signing-cert, against a pinned
// metadata-signing certificate) as a saml.MetadataSource does. Alone,
// without -sp-entity-id, -acs-url or FILE, it prints one JSON line of what
// the service provider would trust:
//
//	{"metadataURL":U,"valid":true,"idp":{"entityID":..,"ssoServices":[..],"sloServices":[..],"certificates":[{"subject":..,"serial":..,"notBefore":..,"notAfter":..,"sha256":..}],"validUntil":..,"cacheDuration":..},"signed":B,"signedBy":{..},"warnings":[..]}
//	{"metadataURL":U,"valid":false,"signed":false,"error":{"code":C,"message":M}}
//
// The exit status is 0 when every input is valid, 1 when any is invalid and
// 2 on a usage or I/O error or a configuration problem (error code
// "idp_metadata_expired": the -idp-metadata file's validUntil has passed,
// which no response can fix); -h exits 0.
package main

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/siteadmin/integrations/mapping"
	"github.com/siteadmin/integrations/mapping/mappingtest"
	"github.com/siteadmin/integrations/saml"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// Exit statuses.
const (
	exitValid   = 0
	exitInvalid = 1
	exitUsage   = 2
)

// options are the command-line flags.
type options struct {
	idpMetadata, idpEntityID, spEntityID, acsURL string
	idpCerts, requestIDs, spKeys                 list
	allowIdPInitiated, allowSHA1, debug          bool
	allowUnsignedCBC, allowLegacyEncryption      bool
	now                                          string
	skew                                         time.Duration
	planFile, mappingFile                        string
	format                                       string
	murl                                         metadataURLOptions // metadataurl.go
}

// list is a repeatable string flag.
type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(s string) error { *l = append(*l, s); return nil }

// usageError is a mistake in the command line or an unreadable file.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("samlcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.idpMetadata, "idp-metadata", "", "IdP metadata `FILE` (EntityDescriptor or EntitiesDescriptor)")
	fs.Var(&o.idpCerts, "idp-cert", "IdP signing certificate(s), PEM `FILE`; repeatable")
	fs.StringVar(&o.idpEntityID, "idp-entity-id", "", "IdP entity `ID` (required with -idp-cert; picks the entity in an aggregate)")
	fs.StringVar(&o.spEntityID, "sp-entity-id", "", "this service provider's entity `ID` (the audience)")
	fs.StringVar(&o.acsURL, "acs-url", "", "this service provider's ACS `URL`")
	fs.Var(&o.requestIDs, "request-id", "outstanding AuthnRequest `ID`; repeatable")
	fs.BoolVar(&o.allowIdPInitiated, "allow-idp-initiated", false, "accept responses without InResponseTo")
	fs.StringVar(&o.now, "now", "", "verify as of this RFC 3339 `time` (default: now)")
	fs.DurationVar(&o.skew, "skew", saml.DefaultClockSkew, "allowed clock skew")
	fs.BoolVar(&o.allowSHA1, "allow-sha1", false, "accept SHA-1 signatures and digests")
	fs.BoolVar(&o.debug, "debug", false, `add every check to the output ("checks")`)
	fs.Var(&o.spKeys, "sp-key", "SP decryption key(s), PEM `FILE` (RSA, PKCS#1 or PKCS#8; other blocks ignored); repeatable")
	fs.BoolVar(&o.allowUnsignedCBC, "allow-unsigned-cbc", false, "accept AES-CBC encrypted assertions in unsigned responses")
	fs.BoolVar(&o.allowLegacyEncryption, "allow-legacy-encryption", false, "accept rsa-1_5 key transport and tripledes-cbc")
	fs.StringVar(&o.planFile, "plan", "", `directory snapshot JSON `+"`FILE`"+`: add the team sync Diff ("plan"); see below`)
	fs.StringVar(&o.mappingFile, "mapping", "", "mapping settings JSON `FILE` for -plan (default: the defaults); see below")
	fs.StringVar(&o.format, "format", "json", "output `FORMAT`: json (one JSON line per input) or text (a report for a person)")
	o.murl.register(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, usageHead)
		fs.PrintDefaults()
		fmt.Fprint(stderr, usageFiles)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitValid // the usage is printed; asking for it is no failure
		}
		return exitUsage
	}
	var out writer
	switch o.format {
	case "json":
		out = newJSONWriter(stdout)
	case "text":
		out = &textWriter{w: stdout}
		o.debug = true // the report shows every check and the XML
	default:
		fmt.Fprintf(stderr, "samlcheck: -format %q: use json or text\n", o.format)
		return exitUsage
	}
	if o.metadataOnly(fs.Args()) {
		return runMetadata(ctx, o, stdout, stderr)
	}
	if err := o.fetchIdP(ctx); err != nil {
		fmt.Fprintln(stderr, "samlcheck:", err)
		return exitUsage
	}
	c, err := newChecker(o, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "samlcheck:", err)
		return exitUsage
	}
	files := fs.Args()
	if len(files) == 0 {
		files = []string{"-"}
	}
	status := exitValid
	worse := func(s int) {
		if s > status {
			status = s
		}
	}
	for _, name := range files {
		data, err := readInput(name, stdin)
		if err != nil {
			fmt.Fprintln(stderr, "samlcheck:", err)
			worse(exitUsage)
			continue
		}
		res, err := c.check(ctx, name, string(data))
		if err != nil { // the response is valid, but -plan failed
			fmt.Fprintf(stderr, "samlcheck: %s: -plan: %v\n", name, err)
			worse(exitUsage)
		}
		if err := out.write(res); err != nil {
			fmt.Fprintln(stderr, "samlcheck:", err)
			return exitUsage
		}
		switch {
		case res.line.Error != nil && res.line.Error.Code == codeIdPMetadataExpired:
			worse(exitUsage) // the configuration's fault, not the response's
		case !res.line.Valid:
			worse(exitInvalid)
		}
	}
	return status
}

func readInput(name string, stdin io.Reader) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(io.LimitReader(stdin, 64<<20))
	}
	return os.ReadFile(name)
}

// checker verifies inputs with one service provider, so that they share its
// replay cache.
type checker struct {
	sp        *saml.ServiceProvider
	requestID []string
	snapshot  []byte // -plan
	mapping   []byte // -mapping
	clock     func() time.Time
}

// codeIdPMetadataExpired is the error code of a response that was refused
// only because the -idp-metadata file's validUntil has passed: the
// configuration is stale (fetch fresh metadata), not the response wrong,
// so it has its own code and exit status 2.
const codeIdPMetadataExpired = "idp_metadata_expired"

// newChecker builds the checker of o; notes about its files (a mapping key
// in the old spelling) go to stderr.
func newChecker(o options, stderr io.Writer) (*checker, error) {
	if o.spEntityID == "" || o.acsURL == "" {
		return nil, usagef("-sp-entity-id and -acs-url are required")
	}
	idp, err := loadIdP(o)
	if err != nil {
		return nil, err
	}
	clock := time.Now
	if o.now != "" {
		t, err := time.Parse(time.RFC3339, o.now)
		if err != nil {
			return nil, usagef("-now %q is not an RFC 3339 time such as 2026-01-02T15:04:05Z", o.now)
		}
		clock = func() time.Time { return t }
	}
	if o.skew < 0 {
		return nil, usagef("-skew must not be negative")
	}
	c := &checker{requestID: o.requestIDs, clock: clock}
	if o.mappingFile != "" && o.planFile == "" {
		return nil, usagef("-mapping needs -plan")
	}
	if o.planFile != "" {
		if c.snapshot, err = os.ReadFile(o.planFile); err != nil {
			return nil, err
		}
		if _, err := mappingtest.ParseSnapshot(c.snapshot); err != nil {
			return nil, fmt.Errorf("-plan %s: %w", o.planFile, err)
		}
		if o.mappingFile != "" {
			if c.mapping, err = os.ReadFile(o.mappingFile); err != nil {
				return nil, err
			}
			if _, err := mappingtest.ParseConfig(c.mapping); err != nil {
				return nil, fmt.Errorf("-mapping %s: %w", o.mappingFile, err)
			}
			for _, r := range mappingtest.OldSpellings(c.mapping) {
				fmt.Fprintf(stderr, "samlcheck: -mapping %s: %q still works, but write %q, as the SAML settings spell it\n", o.mappingFile, r.Old, r.New)
			}
		}
	}
	var keys []*rsa.PrivateKey
	for _, name := range o.spKeys {
		k, err := readRSAKeys(name)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k...)
	}
	skew := o.skew
	if skew == 0 {
		skew = time.Nanosecond // 0 means "default" to the SDK; the flag means none
	}
	c.sp, err = saml.NewServiceProvider(saml.Config{
		EntityID:          o.spEntityID,
		ACSURL:            o.acsURL,
		IdP:               *idp,
		Clock:             clock,
		ClockSkew:         skew,
		AllowIdPInitiated: o.allowIdPInitiated,
		AllowSHA1:         o.allowSHA1,
		Debug:             o.debug,

		DecryptionKeys:             keys,
		AllowCBCInUnsignedResponse: o.allowUnsignedCBC,
		AllowLegacyEncryption:      o.allowLegacyEncryption,
	})
	return c, err
}

// loadIdP builds the trusted IdP from -idp-metadata and/or -idp-cert.
func loadIdP(o options) (*saml.IdentityProvider, error) {
	idp := &saml.IdentityProvider{EntityID: o.idpEntityID}
	if o.murl.idp != nil {
		idp = o.murl.idp
	} else if o.idpMetadata != "" {
		data, err := os.ReadFile(o.idpMetadata)
		if err != nil {
			return nil, err
		}
		if idp, err = saml.ParseIdPMetadata(data, o.idpEntityID); err != nil {
			return nil, err
		}
	} else if len(o.idpCerts) == 0 {
		return nil, usagef("give the IdP's trust: -idp-metadata FILE, or -idp-cert FILE with -idp-entity-id ID")
	}
	if idp.EntityID == "" {
		return nil, usagef("-idp-cert needs -idp-entity-id")
	}
	for _, name := range o.idpCerts {
		certs, err := readCertificates(name)
		if err != nil {
			return nil, err
		}
		idp.Certificates = append(idp.Certificates, certs...)
	}
	return idp, nil
}

// readCertificates reads every CERTIFICATE block of a PEM file.
func readCertificates(name string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	certs, err := saml.ParseCertificatesPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return certs, nil
}

// readRSAKeys reads every RSA private key of a PEM file.
func readRSAKeys(name string) ([]*rsa.PrivateKey, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	keys, err := saml.ParseDecryptionKeysPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return keys, nil
}

// result is one output line.
type result struct {
	File      string          `json:"file"`
	Valid     bool            `json:"valid"`
	Assertion *assertionJSON  `json:"assertion,omitempty"`
	Error     *errorJSON      `json:"error,omitempty"`
	Checks    []saml.Check    `json:"checks,omitempty"`
	Plan      json.RawMessage `json:"plan,omitempty"`
}

type assertionJSON struct {
	ID           string              `json:"id"`
	Issuer       string              `json:"issuer"`
	NameID       string              `json:"nameID"`
	NameIDFormat string              `json:"nameIDFormat"`
	SessionIndex string              `json:"sessionIndex"`
	Attributes   map[string][]string `json:"attributes"`
}

type errorJSON struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// outcome is what samlcheck learned of one input: the JSON line, and for
// the text report the debug report and the Diff behind it.
type outcome struct {
	line   result
	report *saml.Report  // with -debug (always with -format text)
	diff   *mapping.Diff // with -plan, for a valid response
}

// check verifies one input and, with -plan, plans its login. The error is
// only for a failed plan: a rejected response is a line with valid false.
func (c *checker) check(ctx context.Context, file, form string) (outcome, error) {
	out := outcome{line: result{File: file}}
	line := &out.line
	a, err := c.sp.Verify(ctx, form, c.requestID...)
	if err != nil {
		var se *saml.Error
		if !errors.As(err, &se) {
			se = &saml.Error{Code: saml.CodeMalformed, Message: err.Error()}
		}
		line.Error = &errorJSON{Code: string(se.Code), Message: se.Message}
		if c.metadataExpired(se) {
			line.Error.Code = codeIdPMetadataExpired
		}
		if se.Report != nil {
			line.Checks = nonNil(se.Report.Checks)
			out.report = se.Report
		}
		return out, nil
	}
	line.Valid = true
	line.Assertion = &assertionJSON{
		ID: a.ID, Issuer: a.Issuer, NameID: a.NameID.Value, NameIDFormat: a.NameID.Format,
		SessionIndex: a.SessionIndex, Attributes: a.Attributes,
	}
	if a.Report != nil {
		line.Checks = nonNil(a.Report.Checks)
		out.report = a.Report
	}
	if c.snapshot != nil {
		diff, err := mappingtest.PlanFiles(ctx, c.snapshot, c.mapping, a.NameID.Value, a.Attributes)
		if err != nil {
			return out, err
		}
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false) // as the rest of the line
		if err := enc.Encode(diff); err != nil {
			return out, err
		}
		line.Plan = bytes.TrimSpace(b.Bytes())
		out.diff = &diff
	}
	return out, nil
}

// metadataExpired reports whether se refused the response because the IdP
// metadata's validUntil has passed. The service provider checks that
// before anything of the response, so an "expired" error while the
// metadata is past its validUntil is that check's.
func (c *checker) metadataExpired(se *saml.Error) bool {
	until := c.sp.Config().IdP.ValidUntil
	return se.Code == saml.CodeExpired && !until.IsZero() && !c.clock().Before(until)
}

func nonNil(c []saml.Check) []saml.Check {
	if c == nil {
		return []saml.Check{}
	}
	return c
}
