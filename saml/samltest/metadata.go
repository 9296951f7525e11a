package samltest

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/siteadmin/integrations/saml"
)

const nsMetadata = "urn:oasis:names:tc:SAML:2.0:metadata"

// MetadataOptions shape IdP.MetadataWith. The zero value gives what
// Metadata gives: no ID, no validUntil, no cacheDuration, unsigned.
type MetadataOptions struct {
	// ID is the EntityDescriptor's ID. Default: none, or a fresh random
	// one ("_" and 32 hex digits) when the metadata is signed.
	ID string
	// ValidUntil, when not zero, is the metadata's validUntil.
	ValidUntil time.Time
	// CacheDuration, when positive, is the metadata's cacheDuration.
	CacheDuration time.Duration
	// SigningKey and SigningCertificate, when set, sign the metadata
	// (an enveloped signature of the EntityDescriptor, its first child,
	// with the IdP's algorithms and the certificate in KeyInfo). Use a
	// key of its own, as federations and most IdPs do: a service
	// provider pins it as its metadata-signing certificate. Default:
	// unsigned.
	SigningKey         crypto.Signer
	SigningCertificate *x509.Certificate
}

// Metadata returns the IdP's SAML metadata: an md:EntityDescriptor with
// one IDPSSODescriptor that holds a KeyDescriptor use="signing" with the
// certificate (and one per ExtraCertificates), SingleLogoutService for the
// HTTP-Redirect and HTTP-POST bindings, NameIDFormat emailAddress, and
// SingleSignOnService for both bindings, in the schema's order. It has no
// validUntil and is not signed.
func (idp *IdP) Metadata() []byte {
	w := idp.metadata(MetadataOptions{})
	// w.err is ignored: a value XML cannot carry is written escaped anyway,
	// and the metadata parser under test will say what is wrong with it.
	return []byte(w.b.String())
}

// MetadataWith returns the IdP's metadata as Metadata does, with the ID,
// validUntil and cacheDuration of opts, signed when opts has a signing
// key. Only the signature is inserted into the metadata, so a test may
// edit the result to tamper with it.
func (idp *IdP) MetadataWith(opts MetadataOptions) ([]byte, error) {
	if (opts.SigningKey == nil) != (opts.SigningCertificate == nil) {
		return nil, errors.New("samltest: MetadataOptions.SigningKey and SigningCertificate go together")
	}
	if opts.CacheDuration < 0 {
		return nil, fmt.Errorf("samltest: MetadataOptions.CacheDuration must not be negative, got %v", opts.CacheDuration)
	}
	if opts.SigningKey != nil && opts.ID == "" {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		opts.ID = "_" + hex.EncodeToString(b[:])
	}
	w := idp.metadata(opts)
	if w.err != nil {
		return nil, w.err
	}
	doc := []byte(w.b.String())
	if opts.SigningKey == nil {
		return doc, nil
	}
	signer := &IdP{Key: opts.SigningKey, Certificate: opts.SigningCertificate, SignatureMethod: idp.SignatureMethod, DigestMethod: idp.DigestMethod}
	a, err := signer.algorithms("", "")
	if err != nil {
		return nil, err
	}
	return signer.signIDs(doc, a, "", []string{opts.ID})
}

func (idp *IdP) metadata(opts MetadataOptions) *xmlWriter {
	w := &xmlWriter{}
	w.raw(`<?xml version="1.0" encoding="UTF-8"?>`)
	w.raw(`<md:EntityDescriptor xmlns:md="` + nsMetadata + `"`)
	w.optAttr("ID", opts.ID)
	w.attr("entityID", idp.EntityID)
	if !opts.ValidUntil.IsZero() {
		w.attr("validUntil", formatTime(opts.ValidUntil))
	}
	if opts.CacheDuration > 0 {
		w.attr("cacheDuration", "PT"+strconv.FormatFloat(opts.CacheDuration.Seconds(), 'f', -1, 64)+"S")
	}
	w.raw(`><md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="` + nsProtocol + `">`)
	for _, c := range append([]*x509.Certificate{idp.Certificate}, idp.ExtraCertificates...) {
		w.raw(`<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="` + nsDS + `"><ds:X509Data><ds:X509Certificate>`)
		w.raw(base64.StdEncoding.EncodeToString(c.Raw))
		w.raw(`</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`)
	}
	for _, b := range []string{saml.BindingHTTPRedirect, saml.BindingHTTPPOST} {
		w.raw(`<md:SingleLogoutService`)
		w.attr("Binding", b)
		w.attr("Location", idp.SLOURL)
		w.raw(`/>`)
	}
	w.raw(`<md:NameIDFormat>` + NameIDFormatEmail + `</md:NameIDFormat>`)
	for _, b := range []string{saml.BindingHTTPRedirect, saml.BindingHTTPPOST} {
		w.raw(`<md:SingleSignOnService`)
		w.attr("Binding", b)
		w.attr("Location", idp.SSOURL)
		w.raw(`/>`)
	}
	w.raw(`</md:IDPSSODescriptor></md:EntityDescriptor>`)
	return w
}
