package saml

import (
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
)

// MetadataOptions shape the service provider's metadata. The zero value
// gives metadata with no expiry, no caching hint and no NameIDFormat.
type MetadataOptions struct {
	// ValidUntil, when not zero, is the metadata's validUntil: after it
	// the IdP should fetch it again. Default: none.
	ValidUntil time.Time
	// CacheDuration, when positive, is the metadata's cacheDuration: how
	// long the IdP may cache it. Default: none.
	CacheDuration time.Duration
	// NameIDFormats are the NameID formats this service provider accepts,
	// such as "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
	// in order of preference. Default: none listed (any).
	NameIDFormats []string
}

// Metadata returns the service provider's SAML metadata, for the admin to
// give the IdP (or for the IdP to fetch): an md:EntityDescriptor with the
// entity ID and one SPSSODescriptor that says AuthnRequestsSigned (true
// when the service provider has a signing key) and WantAssertionsSigned,
// publishes SigningCertificate as a KeyDescriptor use="signing" and
// EncryptionCertificate as use="encryption" with the EncryptionMethods the
// service provider decrypts (each followed by its Next certificate during
// a key rollover, so that the IdP learns the new one ahead of the switch),
// the SLO URL for the
// HTTP-Redirect and HTTP-POST bindings when Config.SLOURL is set, the
// NameID formats, and the ACS URL for the HTTP-POST binding. The ACS and
// SLO URLs must be http or https URLs.
func (sp *ServiceProvider) Metadata(opts MetadataOptions) ([]byte, error) {
	if err := checkEndpointURL(sp.cfg.ACSURL); err != nil {
		return nil, fmt.Errorf("saml: metadata: ACS URL: %w", err)
	}
	if sp.cfg.SLOURL != "" {
		if err := checkEndpointURL(sp.cfg.SLOURL); err != nil {
			return nil, fmt.Errorf("saml: metadata: SLO URL: %w", err)
		}
	}
	if opts.CacheDuration < 0 {
		return nil, fmt.Errorf("saml: metadata: CacheDuration must not be negative, got %v", opts.CacheDuration)
	}
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	ed := doc.CreateElement("md:EntityDescriptor")
	ed.CreateAttr("xmlns:md", nsMetadata)
	ed.CreateAttr("xmlns:ds", nsDSig)
	ed.CreateAttr("entityID", sp.cfg.EntityID)
	if !opts.ValidUntil.IsZero() {
		ed.CreateAttr("validUntil", xmlTime(opts.ValidUntil))
	}
	if opts.CacheDuration > 0 {
		ed.CreateAttr("cacheDuration", xsDuration(opts.CacheDuration))
	}
	role := ed.CreateElement("md:SPSSODescriptor")
	role.CreateAttr("AuthnRequestsSigned", strconv.FormatBool(sp.cfg.SigningKey != nil))
	role.CreateAttr("WantAssertionsSigned", strconv.FormatBool(sp.cfg.WantAssertionsSigned))
	role.CreateAttr("protocolSupportEnumeration", nsProtocol)
	keyDescriptor(role, "signing", sp.cfg.SigningCertificate)
	keyDescriptor(role, "signing", sp.cfg.NextSigningCertificate)
	for _, c := range []*x509.Certificate{sp.cfg.EncryptionCertificate, sp.cfg.NextEncryptionCertificate} {
		if kd := keyDescriptor(role, "encryption", c); kd != nil {
			for _, alg := range sp.encryptionMethods() {
				kd.CreateElement("md:EncryptionMethod").CreateAttr("Algorithm", alg)
			}
		}
	}
	if sp.cfg.SLOURL != "" {
		for _, b := range []string{BindingHTTPRedirect, BindingHTTPPOST} {
			slo := role.CreateElement("md:SingleLogoutService")
			slo.CreateAttr("Binding", b)
			slo.CreateAttr("Location", sp.cfg.SLOURL)
		}
	}
	for _, f := range opts.NameIDFormats {
		role.CreateElement("md:NameIDFormat").SetText(f)
	}
	acs := role.CreateElement("md:AssertionConsumerService")
	acs.CreateAttr("Binding", BindingHTTPPOST)
	acs.CreateAttr("Location", sp.cfg.ACSURL)
	acs.CreateAttr("index", "0")
	acs.CreateAttr("isDefault", "true")
	doc.Indent(2)
	return doc.WriteToBytes()
}

// keyDescriptor adds a KeyDescriptor for cert and returns it, or nil when
// cert is nil.
func keyDescriptor(role *etree.Element, use string, cert *x509.Certificate) *etree.Element {
	if cert == nil {
		return nil
	}
	kd := role.CreateElement("md:KeyDescriptor")
	kd.CreateAttr("use", use)
	kd.CreateElement("ds:KeyInfo").CreateElement("ds:X509Data").CreateElement("ds:X509Certificate").
		SetText(base64.StdEncoding.EncodeToString(cert.Raw))
	return kd
}

// encryptionMethods returns the XML Encryption algorithms the service
// provider decrypts, in order of preference, for the metadata's
// EncryptionMethod elements (SAML metadata 2.4.1.1), which IdPs read to
// choose how to encrypt: the key transports RSA-OAEP (XML Encryption 1.1,
// then 1.0), then the ciphers AES-GCM and AES-CBC (CBC is decrypted
// inside a signed Response, or anywhere with
// Config.AllowCBCInUnsignedResponse). RSA PKCS#1 v1.5 and Triple DES are
// listed, last, only with Config.AllowLegacyEncryption.
func (sp *ServiceProvider) encryptionMethods() []string {
	out := []string{
		encRSAOAEP, encRSAOAEPMGF1P,
		encAES256GCM, encAES192GCM, encAES128GCM,
		encAES256CBC, encAES192CBC, encAES128CBC,
	}
	if sp.cfg.AllowLegacyEncryption {
		out = append(out, encRSA15, encTripleDESCBC)
	}
	return out
}

// xsDuration writes a positive duration as an xs:duration such as
// "PT1H30M" or "PT0.5S".
func xsDuration(d time.Duration) string {
	var b strings.Builder
	b.WriteString("PT")
	if h := d / time.Hour; h > 0 {
		b.WriteString(strconv.FormatInt(int64(h), 10) + "H")
		d -= h * time.Hour
	}
	if m := d / time.Minute; m > 0 {
		b.WriteString(strconv.FormatInt(int64(m), 10) + "M")
		d -= m * time.Minute
	}
	if d > 0 || b.Len() == 2 {
		b.WriteString(strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "S")
	}
	return b.String()
}
