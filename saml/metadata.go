package saml

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/beevik/etree"
)

// maxMetadataSize caps IdP metadata. Federation aggregates (InCommon,
// eduGAIN) run to tens of megabytes; one IdP's metadata is a few kilobytes.
const maxMetadataSize = 64 << 20

// ParseIdPMetadata reads an IdP's SAML metadata: an EntityDescriptor, or an
// EntitiesDescriptor from which the entity entityID is taken (entityID may
// be empty for a single EntityDescriptor, or an aggregate holding one IdP).
// It returns the IdP's signing certificates (KeyDescriptors with
// use="signing" or no use), its SingleSignOnService and SingleLogoutService
// endpoints, the earliest validUntil and the shortest cacheDuration on the
// way. DOCTYPEs are refused; a leading UTF-8 byte order mark, which
// Microsoft Entra ID serves, is not. Metadata that has expired is returned
// with ValidUntil set; the service provider refuses responses once
// ValidUntil has passed. A signature in the metadata is not checked: use
// ParseSignedIdPMetadata for that.
func ParseIdPMetadata(data []byte, entityID string) (*IdentityProvider, error) {
	md, err := parseMetadata(data, entityID, nil, false)
	if err != nil {
		return nil, err
	}
	return md.idp, nil
}

// utf8BOM is the byte order mark some IdPs put before the XML declaration.
var utf8BOM = []byte("\xef\xbb\xbf")

// parsedMetadata is what parseMetadata read.
type parsedMetadata struct {
	idp      *IdentityProvider
	signedBy *x509.Certificate // the metadata-signing certificate that verified it; nil when unchecked
}

// parseMetadata reads IdP metadata. With signers, the root element must
// carry a valid signature by one of them, and every value is read from the
// element the signature verification returned.
func parseMetadata(data []byte, entityID string, signers *trust, allowSHA1 bool) (*parsedMetadata, error) {
	data = bytes.TrimPrefix(data, utf8BOM)
	if len(data) > maxMetadataSize {
		return nil, fmt.Errorf("saml: metadata: %d bytes is more than the %d allowed", len(data), maxMetadataSize)
	}
	doc, sc, err := parseMetadataXML(data)
	if err != nil {
		return nil, err
	}
	root := doc.Root()
	md := &parsedMetadata{}
	if signers != nil {
		if root, md.signedBy, err = verifyMetadata(root, sc, signers, allowSHA1); err != nil {
			return nil, err
		}
	}
	validUntil, err := metadataValidUntil(root, time.Time{})
	if err != nil {
		return nil, err
	}
	entity, validUntil, err := findEntity(root, entityID, validUntil)
	if err != nil {
		return nil, err
	}
	if md.idp, err = readIdP(entity, validUntil); err != nil {
		return nil, err
	}
	if md.idp.CacheDuration, err = cacheDuration(entity); err != nil {
		return nil, err
	}
	return md, nil
}

// maxMetadataElements and maxMetadataAttributes cap IdP metadata, which
// comes from the admin or the IdP's URL, not from strangers: federation
// aggregates are large, but a tree of these sizes stays within a few
// hundred MB.
const (
	maxMetadataElements   = 100000
	maxMetadataAttributes = 8 * maxMetadataElements
)

func parseMetadataXML(data []byte) (*etree.Document, *scanned, error) {
	// Counted before the tree is built: the metadata comes before its
	// signature is checked, from a URL or a stored copy.
	budget := markupBudget{elements: maxMetadataElements, attributes: maxMetadataAttributes}
	data, err := budget.take(data)
	if err != nil {
		return nil, nil, fmt.Errorf("saml: metadata: %s", err.(*Error).Message)
	}
	doc := etree.NewDocument()
	doc.ReadSettings = etree.ReadSettings{PreserveDuplicateAttrs: true, MaxDepth: maxDepth}
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, nil, fmt.Errorf("saml: metadata is not well-formed XML: %w", err)
	}
	sc := newScan(maxMetadataElements)
	if err := sc.document(doc); err != nil {
		return nil, nil, fmt.Errorf("saml: metadata: %s", err.(*Error).Message)
	}
	return doc, sc, nil
}

// findEntity returns the EntityDescriptor to use and the earliest
// validUntil of it and its enclosing EntitiesDescriptors.
func findEntity(el *etree.Element, entityID string, validUntil time.Time) (*etree.Element, time.Time, error) {
	switch {
	case is(el, nsMetadata, "EntityDescriptor"):
		if id, _ := attr(el, "entityID"); entityID != "" && id != entityID {
			return nil, validUntil, &otherEntityError{got: id, want: entityID}
		}
		return el, validUntil, nil
	case is(el, nsMetadata, "EntitiesDescriptor"):
	default:
		return nil, validUntil, fmt.Errorf("saml: metadata root is <%s>, want md:EntityDescriptor or md:EntitiesDescriptor", el.Tag)
	}
	var found []*etree.Element
	var foundUntil []time.Time
	var walk func(*etree.Element, time.Time) error
	walk = func(group *etree.Element, until time.Time) error {
		for _, c := range group.ChildElements() {
			u, err := metadataValidUntil(c, until)
			if err != nil {
				return err
			}
			switch {
			case is(c, nsMetadata, "EntitiesDescriptor"):
				if err := walk(c, u); err != nil {
					return err
				}
			case is(c, nsMetadata, "EntityDescriptor"):
				id, _ := attr(c, "entityID")
				if entityID == id || entityID == "" && hasIdPRole(c) {
					found = append(found, c)
					foundUntil = append(foundUntil, u)
				}
			}
		}
		return nil
	}
	if err := walk(el, validUntil); err != nil {
		return nil, validUntil, err
	}
	switch {
	case len(found) == 1:
		return found[0], foundUntil[0], nil
	case entityID == "" && len(found) == 0:
		return nil, validUntil, fmt.Errorf("saml: metadata holds no IdP (no IDPSSODescriptor)")
	case entityID == "":
		return nil, validUntil, fmt.Errorf("saml: metadata holds %d IdPs; say which entity ID to use", len(found))
	case len(found) == 0:
		return nil, validUntil, fmt.Errorf("saml: metadata holds no entity %q", entityID)
	default:
		return nil, validUntil, fmt.Errorf("saml: metadata describes entity %q %d times", entityID, len(found))
	}
}

func hasIdPRole(entity *etree.Element) bool {
	return len(children(entity, nsMetadata, "IDPSSODescriptor")) > 0
}

// metadataValidUntil returns the earlier of until and el's validUntil.
func metadataValidUntil(el *etree.Element, until time.Time) (time.Time, error) {
	s, ok := attr(el, "validUntil")
	if !ok {
		return until, nil
	}
	t, err := parseTime(s)
	if err != nil {
		return until, fmt.Errorf("saml: metadata validUntil %q is not a valid time", s)
	}
	if until.IsZero() || t.Before(until) {
		return t, nil
	}
	return until, nil
}

func readIdP(entity *etree.Element, validUntil time.Time) (*IdentityProvider, error) {
	idp := &IdentityProvider{ValidUntil: validUntil}
	idp.EntityID, _ = attr(entity, "entityID")
	if idp.EntityID == "" {
		return nil, fmt.Errorf("saml: metadata EntityDescriptor has no entityID")
	}
	roles := children(entity, nsMetadata, "IDPSSODescriptor")
	if len(roles) == 0 {
		return nil, fmt.Errorf("saml: metadata for %q has no IDPSSODescriptor: is it an SP's metadata?", idp.EntityID)
	}
	for _, role := range roles {
		var err error
		if validUntil, err = metadataValidUntil(role, idp.ValidUntil); err != nil {
			return nil, err
		}
		idp.ValidUntil = validUntil
		for _, kd := range children(role, nsMetadata, "KeyDescriptor") {
			if use, _ := attr(kd, "use"); use != "" && use != "signing" {
				continue
			}
			for _, el := range kd.FindElements(".//X509Certificate") {
				if el.NamespaceURI() != nsDSig {
					continue
				}
				cert, err := parseBase64Cert(text(el))
				if err != nil {
					return nil, fmt.Errorf("saml: metadata for %q: signing certificate: %w", idp.EntityID, err)
				}
				if !containsCert(idp.Certificates, cert) {
					idp.Certificates = append(idp.Certificates, cert)
				}
			}
		}
		idp.SSOServices = append(idp.SSOServices, endpoints(role, "SingleSignOnService")...)
		idp.SLOServices = append(idp.SLOServices, endpoints(role, "SingleLogoutService")...)
	}
	if len(idp.Certificates) == 0 {
		return nil, fmt.Errorf("saml: metadata for %q has no signing certificate", idp.EntityID)
	}
	return idp, nil
}

func endpoints(role *etree.Element, tag string) []Endpoint {
	var out []Endpoint
	for _, el := range children(role, nsMetadata, tag) {
		b, _ := attr(el, "Binding")
		loc, _ := attr(el, "Location")
		out = append(out, Endpoint{Binding: b, Location: strings.TrimSpace(loc)})
	}
	return out
}

func parseBase64Cert(s string) (*x509.Certificate, error) {
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		return nil, fmt.Errorf("not base64: %w", err)
	}
	return x509.ParseCertificate(der)
}

func containsCert(list []*x509.Certificate, c *x509.Certificate) bool {
	for _, x := range list {
		if x.Equal(c) {
			return true
		}
	}
	return false
}
