package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/siteadmin/integrations/saml"
)

// metadataURLOptions are the flags of -idp-metadata-url: fetch the IdP's
// metadata as a saml.MetadataSource would, verify it, and print what the
// service provider would trust.
type metadataURLOptions struct {
	url, signingCert, caFile string
	allowHTTP                bool
	idp                      *saml.IdentityProvider // fetched, for loadIdP
}

func (m *metadataURLOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&m.url, "idp-metadata-url", "", "fetch the IdP metadata from `URL` (https) and verify it; alone, print what would be trusted")
	fs.StringVar(&m.signingCert, "idp-metadata-signing-cert", "", "metadata-signing certificate(s), PEM `FILE`: the fetched metadata must be signed by one")
	fs.StringVar(&m.caFile, "metadata-ca", "", "extra CA certificate(s), PEM `FILE`, to trust for the metadata URL's TLS")
	fs.BoolVar(&m.allowHTTP, "allow-http", false, "accept a plain http metadata URL on a loopback address (tests)")
}

// metadataOnly reports whether the command line asks only for the
// metadata: a URL and nothing to verify.
func (o *options) metadataOnly(files []string) bool {
	return o.murl.url != "" && o.spEntityID == "" && o.acsURL == "" && len(files) == 0
}

// fetchIdP fetches the IdP of -idp-metadata-url, when given, for loadIdP.
func (o *options) fetchIdP(ctx context.Context) error {
	if o.murl.url == "" {
		return nil
	}
	src, err := fetchMetadata(ctx, *o)
	if err != nil {
		return err
	}
	idp, _ := src.IdentityProvider()
	o.murl.idp = &idp
	return nil
}

// clock returns the time of -now, or time.Now.
func (o *options) clock() (func() time.Time, error) {
	if o.now == "" {
		return time.Now, nil
	}
	t, err := time.Parse(time.RFC3339, o.now)
	if err != nil {
		return nil, usagef("-now %q is not an RFC 3339 time such as 2026-01-02T15:04:05Z", o.now)
	}
	return func() time.Time { return t }, nil
}

// fetchMetadata fetches and verifies the metadata at -idp-metadata-url.
// Its error is a usageError for a bad command line, else why the
// metadata was refused.
func fetchMetadata(ctx context.Context, o options) (*saml.MetadataSource, error) {
	m := o.murl
	if o.idpMetadata != "" {
		return nil, usagef("-idp-metadata and -idp-metadata-url exclude each other")
	}
	clock, err := o.clock()
	if err != nil {
		return nil, err
	}
	cfg := saml.MetadataSourceConfig{URL: m.url, EntityID: o.idpEntityID, AllowHTTP: m.allowHTTP, AllowSHA1: o.allowSHA1, Clock: clock}
	if m.signingCert != "" {
		certs, err := readCertificates(m.signingCert)
		if err != nil {
			return nil, err
		}
		cfg.SigningCertificates = certs
	}
	if m.caFile != "" {
		client, err := clientTrusting(m.caFile)
		if err != nil {
			return nil, err
		}
		cfg.HTTPClient = client
	}
	src, err := saml.NewMetadataSource(cfg)
	if err != nil {
		return nil, usagef("%v", err)
	}
	if err := src.Refresh(ctx); err != nil {
		return src, err
	}
	return src, nil
}

// clientTrusting returns an HTTP client that also trusts the CA
// certificates in the PEM file name.
func clientTrusting(name string) (*http.Client, error) {
	cas, err := readCertificates(name)
	if err != nil {
		return nil, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	for _, c := range cas {
		pool.AddCert(c)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: transport, Timeout: saml.DefaultMetadataTimeout}, nil
}

// metadataResult is the one line -idp-metadata-url alone prints.
type metadataResult struct {
	MetadataURL string     `json:"metadataURL"`
	Valid       bool       `json:"valid"`
	IdP         *idpJSON   `json:"idp,omitempty"`
	Signed      bool       `json:"signed"`
	SignedBy    *certJSON  `json:"signedBy,omitempty"`
	Warnings    []string   `json:"warnings,omitempty"`
	Error       *errorJSON `json:"error,omitempty"`
}

type idpJSON struct {
	EntityID      string         `json:"entityID"`
	SSOServices   []endpointJSON `json:"ssoServices"`
	SLOServices   []endpointJSON `json:"sloServices"`
	Certificates  []certJSON     `json:"certificates"`
	ValidUntil    *time.Time     `json:"validUntil,omitempty"`
	CacheDuration string         `json:"cacheDuration,omitempty"`
}

type endpointJSON struct {
	Binding  string `json:"binding"`
	Location string `json:"location"`
}

type certJSON struct {
	Subject   string    `json:"subject"`
	Serial    string    `json:"serial"`
	NotBefore time.Time `json:"notBefore"`
	NotAfter  time.Time `json:"notAfter"`
	SHA256    string    `json:"sha256"`
}

// runMetadata prints what the metadata at -idp-metadata-url makes
// trusted, or why it is refused. Exit status: 0 valid, 1 refused.
func runMetadata(ctx context.Context, o options, stdout, stderr io.Writer) int {
	line := metadataResult{MetadataURL: o.murl.url}
	src, err := fetchMetadata(ctx, o)
	var ue usageError
	if errors.As(err, &ue) || src == nil && err != nil {
		fmt.Fprintln(stderr, "samlcheck:", err)
		return exitUsage
	}
	clock, _ := o.clock() // fetchMetadata checked it
	now := clock()
	status := exitValid
	if err != nil {
		code := saml.Code("metadata") // unreachable, not metadata, wrong entity...
		var se *saml.Error
		if errors.As(err, &se) {
			code = se.Code
		}
		line.Error = &errorJSON{Code: string(code), Message: err.Error()}
		status = exitInvalid
	} else {
		st := src.Status()
		line.Valid = true
		line.IdP = newIdPJSON(st.IdP)
		line.Signed = st.SignedBy != nil
		if st.SignedBy != nil {
			c := newCertJSON(st.SignedBy)
			line.SignedBy = &c
		} else {
			line.Warnings = append(line.Warnings, "the metadata is not checked against a metadata-signing certificate: TLS alone vouches for it")
		}
		for _, c := range st.IdP.Certificates {
			if now.After(c.NotAfter) {
				line.Warnings = append(line.Warnings, fmt.Sprintf("the IdP certificate %q expired on %s", c.Subject.CommonName, c.NotAfter.UTC().Format(time.RFC3339)))
			}
		}
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(line); err != nil {
		fmt.Fprintln(stderr, "samlcheck:", err)
		return exitUsage
	}
	return status
}

func newIdPJSON(idp saml.IdentityProvider) *idpJSON {
	out := &idpJSON{EntityID: idp.EntityID, SSOServices: []endpointJSON{}, SLOServices: []endpointJSON{}, Certificates: []certJSON{}}
	for _, e := range idp.SSOServices {
		out.SSOServices = append(out.SSOServices, endpointJSON{e.Binding, e.Location})
	}
	for _, e := range idp.SLOServices {
		out.SLOServices = append(out.SLOServices, endpointJSON{e.Binding, e.Location})
	}
	for _, c := range idp.Certificates {
		out.Certificates = append(out.Certificates, newCertJSON(c))
	}
	if !idp.ValidUntil.IsZero() {
		t := idp.ValidUntil.UTC()
		out.ValidUntil = &t
	}
	if idp.CacheDuration > 0 {
		out.CacheDuration = idp.CacheDuration.String()
	}
	return out
}

func newCertJSON(c *x509.Certificate) certJSON {
	sum := sha256.Sum256(c.Raw)
	return certJSON{
		Subject: c.Subject.String(), Serial: c.SerialNumber.String(),
		NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC(), SHA256: hex.EncodeToString(sum[:]),
	}
}
