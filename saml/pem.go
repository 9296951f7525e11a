package saml

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"iter"
)

// pemBlocks yields the PEM blocks of data in order.
func pemBlocks(data []byte) iter.Seq[*pem.Block] {
	return func(yield func(*pem.Block) bool) {
		for {
			var block *pem.Block
			if block, data = pem.Decode(data); block == nil || !yield(block) {
				return
			}
		}
	}
}

// privateKeyOf parses a PEM private-key block: PKCS #1 (RSA PRIVATE KEY),
// SEC 1 (EC PRIVATE KEY) or PKCS #8 (PRIVATE KEY). isKey is false for
// other blocks. Its errors never quote the key.
func privateKeyOf(block *pem.Block) (key any, isKey bool, err error) {
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, false, nil
	}
	if err != nil {
		return nil, true, fmt.Errorf("the %s block does not parse as a private key", block.Type)
	}
	return key, true, nil
}

// ParseCertificatesPEM returns the certificates of every CERTIFICATE block
// of a PEM text, such as an IdP signing certificate the admin pastes; other
// blocks are skipped. Only RSA and ECDSA keys are accepted.
func ParseCertificatesPEM(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for block := range pemBlocks(data) {
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

// ParseDecryptionKeysPEM returns the RSA private keys of every private-key
// block of a PEM text (PKCS #1 or PKCS #8), in order, for
// Config.DecryptionKeys; other blocks, such as the certificate often kept
// in the same file, are skipped. Its errors never quote a key.
func ParseDecryptionKeysPEM(data []byte) ([]*rsa.PrivateKey, error) {
	var keys []*rsa.PrivateKey
	for block := range pemBlocks(data) {
		key, isKey, err := privateKeyOf(block)
		if err != nil {
			return nil, err
		}
		if !isKey {
			continue
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

// ParsePrivateKeyPEM returns the first private key of a PEM text (PKCS #8,
// PKCS #1 or SEC 1), RSA or ECDSA, for Config.SigningKey; other blocks,
// such as the certificate often kept in the same file, are skipped. Its
// errors never quote the key.
func ParsePrivateKeyPEM(data []byte) (crypto.Signer, error) {
	for block := range pemBlocks(data) {
		key, isKey, err := privateKeyOf(block)
		if err != nil {
			return nil, err
		}
		if !isKey {
			continue
		}
		switch k := key.(type) {
		case *rsa.PrivateKey:
			return k, nil
		case *ecdsa.PrivateKey:
			return k, nil
		}
		return nil, fmt.Errorf("is a %T; only RSA and ECDSA keys are supported", key)
	}
	return nil, errors.New("is not a PEM private key (-----BEGIN PRIVATE KEY-----)")
}
