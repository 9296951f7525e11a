package saml

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// ParseCertificatesPEM returns the certificates of every CERTIFICATE block
// of a PEM text, such as an IdP signing certificate the admin pastes; other
// blocks are skipped. Only RSA and ECDSA keys are accepted.
func ParseCertificatesPEM(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("a certificate does not parse: %v", err)
		}
		switch c.PublicKey.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey:
		default:
			return nil, fmt.Errorf("the certificate %q holds a %T key; only RSA and ECDSA are supported", c.Subject.CommonName, c.PublicKey)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
	}
	return out, nil
}

// ParseDecryptionKeysPEM returns the RSA private keys of every RSA PRIVATE
// KEY (PKCS #1) and PRIVATE KEY (PKCS #8) block of a PEM text, in order, for
// Config.DecryptionKeys; other blocks, such as the certificate often kept
// in the same file, are skipped. Its errors never quote a key.
func ParseDecryptionKeysPEM(data []byte) ([]*rsa.PrivateKey, error) {
	var keys []*rsa.PrivateKey
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		var key any
		var err error
		switch block.Type {
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("the %s block does not parse as a private key", block.Type)
		}
		k, ok := key.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("holds a %T; only RSA keys decrypt SAML assertions", key)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("holds no PEM private key (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)")
	}
	return keys, nil
}
