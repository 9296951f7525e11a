package samltest

import (
	"bytes"
	"cmp"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
)

// XML Encryption algorithm URIs that Encryption can use. RSA15 and
// TripleDESCBC are here for tests that check a service provider refuses
// them.
const (
	RSAOAEPMGF1P = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p" // RSA-OAEP, MGF1 with SHA-1
	RSAOAEP      = "http://www.w3.org/2009/xmlenc11#rsa-oaep"        // RSA-OAEP, MGF of choice (XML Encryption 1.1)
	RSA15        = "http://www.w3.org/2001/04/xmlenc#rsa-1_5"

	AES128CBC    = "http://www.w3.org/2001/04/xmlenc#aes128-cbc"
	AES192CBC    = "http://www.w3.org/2001/04/xmlenc#aes192-cbc"
	AES256CBC    = "http://www.w3.org/2001/04/xmlenc#aes256-cbc"
	AES128GCM    = "http://www.w3.org/2009/xmlenc11#aes128-gcm"
	AES192GCM    = "http://www.w3.org/2009/xmlenc11#aes192-gcm"
	AES256GCM    = "http://www.w3.org/2009/xmlenc11#aes256-gcm"
	TripleDESCBC = "http://www.w3.org/2001/04/xmlenc#tripledes-cbc"

	MGF1SHA1   = "http://www.w3.org/2009/xmlenc11#mgf1sha1"
	MGF1SHA256 = "http://www.w3.org/2009/xmlenc11#mgf1sha256"
	MGF1SHA384 = "http://www.w3.org/2009/xmlenc11#mgf1sha384"
	MGF1SHA512 = "http://www.w3.org/2009/xmlenc11#mgf1sha512"
)

const (
	nsXEnc   = "http://www.w3.org/2001/04/xmlenc#"
	nsXEnc11 = "http://www.w3.org/2009/xmlenc11#"
	nsDSig   = "http://www.w3.org/2000/09/xmldsig#"
)

// Encryption says how to encrypt to a service provider, as an IdP
// configured with the SP's encryption certificate does.
type Encryption struct {
	// Certificate is the SP's encryption certificate; its key must be
	// RSA. Required.
	Certificate *x509.Certificate
	// KeyTransport encrypts the content key: RSAOAEPMGF1P (the default,
	// as Okta, AD FS and Shibboleth send), RSAOAEP or RSA15.
	KeyTransport string
	// Digest is the OAEP DigestMethod, such as DigestSHA256. Default:
	// DigestSHA1, which is then not written (the XML Encryption default).
	Digest string
	// MGF is the mask generation function of RSAOAEP, such as
	// MGF1SHA256. Default: MGF1 with SHA-1, then not written.
	MGF string
	// Content encrypts the data: AES128GCM ... AES256GCM, AES128CBC ...
	// AES256CBC or TripleDESCBC. Default: AES256GCM.
	Content string
	// KeyBeside puts the EncryptedKey beside the EncryptedData, referenced
	// by a RetrievalMethod, as Shibboleth does, instead of inside the
	// EncryptedData's KeyInfo as Okta and AD FS do.
	KeyBeside bool
}

// encrypt returns the XML Encryption of plaintext (an element): an
// xenc:EncryptedData, and with KeyBeside an xenc:EncryptedKey after it,
// ready to go inside an EncryptedAssertion, EncryptedID or
// EncryptedAttribute.
func (e *Encryption) encrypt(plaintext []byte) (string, error) {
	if e.Certificate == nil {
		return "", errors.New("samltest: Encryption.Certificate is required")
	}
	pub, ok := e.Certificate.PublicKey.(*rsa.PublicKey)
	if !ok {
		return "", fmt.Errorf("samltest: Encryption.Certificate holds a %T key; only RSA can be encrypted to", e.Certificate.PublicKey)
	}
	content := cmp.Or(e.Content, AES256GCM)
	transport := cmp.Or(e.KeyTransport, RSAOAEPMGF1P)
	cipherText, key, err := encryptContent(content, plaintext)
	if err != nil {
		return "", err
	}
	wrapped, err := e.wrapKey(transport, pub, key)
	if err != nil {
		return "", err
	}
	dataID, err := NewID()
	if err != nil {
		return "", err
	}
	keyID, err := NewID()
	if err != nil {
		return "", err
	}

	var ek bytes.Buffer
	ek.WriteString(`<xenc:EncryptedKey xmlns:xenc="` + nsXEnc + `"`)
	if e.KeyBeside {
		ek.WriteString(` Id="` + keyID + `"`)
	}
	ek.WriteString(`><xenc:EncryptionMethod Algorithm="` + transport + `">`)
	if e.Digest != "" && e.Digest != DigestSHA1 {
		ek.WriteString(`<ds:DigestMethod xmlns:ds="` + nsDSig + `" Algorithm="` + e.Digest + `"/>`)
	}
	if e.MGF != "" && e.MGF != MGF1SHA1 {
		ek.WriteString(`<xenc11:MGF xmlns:xenc11="` + nsXEnc11 + `" Algorithm="` + e.MGF + `"/>`)
	}
	ek.WriteString(`</xenc:EncryptionMethod>`)
	ek.WriteString(`<ds:KeyInfo xmlns:ds="` + nsDSig + `"><ds:X509Data><ds:X509Certificate>` +
		base64.StdEncoding.EncodeToString(e.Certificate.Raw) + `</ds:X509Certificate></ds:X509Data></ds:KeyInfo>`)
	ek.WriteString(`<xenc:CipherData><xenc:CipherValue>` + base64.StdEncoding.EncodeToString(wrapped) +
		`</xenc:CipherValue></xenc:CipherData>`)
	if e.KeyBeside {
		ek.WriteString(`<xenc:ReferenceList><xenc:DataReference URI="#` + dataID + `"/></xenc:ReferenceList>`)
	}
	ek.WriteString(`</xenc:EncryptedKey>`)

	var b bytes.Buffer
	b.WriteString(`<xenc:EncryptedData xmlns:xenc="` + nsXEnc + `" Id="` + dataID + `" Type="` + nsXEnc + `Element">`)
	b.WriteString(`<xenc:EncryptionMethod Algorithm="` + content + `"/>`)
	b.WriteString(`<ds:KeyInfo xmlns:ds="` + nsDSig + `">`)
	if e.KeyBeside {
		b.WriteString(`<ds:RetrievalMethod Type="` + nsXEnc + `EncryptedKey" URI="#` + keyID + `"/>`)
	} else {
		b.Write(ek.Bytes())
	}
	b.WriteString(`</ds:KeyInfo>`)
	b.WriteString(`<xenc:CipherData><xenc:CipherValue>` + base64.StdEncoding.EncodeToString(cipherText) +
		`</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData>`)
	if e.KeyBeside {
		b.Write(ek.Bytes())
	}
	return b.String(), nil
}

var hashes = map[string]crypto.Hash{
	"": crypto.SHA1, DigestSHA1: crypto.SHA1, DigestSHA256: crypto.SHA256, DigestSHA384: crypto.SHA384, DigestSHA512: crypto.SHA512,
	MGF1SHA1: crypto.SHA1, MGF1SHA256: crypto.SHA256, MGF1SHA384: crypto.SHA384, MGF1SHA512: crypto.SHA512,
}

func (e *Encryption) wrapKey(transport string, pub *rsa.PublicKey, key []byte) ([]byte, error) {
	switch transport {
	case RSA15:
		return rsa.EncryptPKCS1v15(rand.Reader, pub, key)
	case RSAOAEPMGF1P, RSAOAEP:
		digest, ok := hashes[e.Digest]
		if !ok {
			return nil, fmt.Errorf("samltest: unknown OAEP digest %q", e.Digest)
		}
		mgf, ok := hashes[e.MGF]
		if !ok || transport == RSAOAEPMGF1P && e.MGF != "" && e.MGF != MGF1SHA1 {
			return nil, fmt.Errorf("samltest: MGF %q is not possible with %s", e.MGF, transport)
		}
		if mgf == digest {
			return rsa.EncryptOAEP(digest.New(), rand.Reader, pub, key, nil)
		}
		return encryptOAEPWithMGF(pub, key, digest, mgf)
	}
	return nil, fmt.Errorf("samltest: unknown key transport %q", transport)
}

// encryptContent encrypts plaintext with a fresh key: IV (GCM: 12-byte
// nonce) first, then the ciphertext (GCM: and its tag), with XML
// Encryption's padding for CBC.
func encryptContent(alg string, plaintext []byte) (out, key []byte, err error) {
	size, gcm, newBlock := 0, false, aes.NewCipher
	switch alg {
	case AES128CBC, AES128GCM:
		size = 16
	case AES192CBC, AES192GCM:
		size = 24
	case AES256CBC, AES256GCM:
		size = 32
	case TripleDESCBC:
		size, newBlock = 24, des.NewTripleDESCipher
	default:
		return nil, nil, fmt.Errorf("samltest: unknown content encryption %q", alg)
	}
	gcm = alg == AES128GCM || alg == AES192GCM || alg == AES256GCM
	key = make([]byte, size)
	if _, err := io.ReadFull(rand.Reader, key); err != nil {
		return nil, nil, err
	}
	block, err := newBlock(key)
	if err != nil {
		return nil, nil, err
	}
	if gcm {
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, nil, err
		}
		nonce := make([]byte, aead.NonceSize())
		if _, err := io.ReadFull(rand.Reader, nonce); err != nil {
			return nil, nil, err
		}
		return aead.Seal(nonce, nonce, plaintext, nil), key, nil
	}
	bs := block.BlockSize()
	pad := bs - len(plaintext)%bs
	padded := append(append([]byte{}, plaintext...), bytes.Repeat([]byte{byte(pad)}, pad)...)
	out = make([]byte, bs+len(padded))
	if _, err := io.ReadFull(rand.Reader, out[:bs]); err != nil {
		return nil, nil, err
	}
	cipher.NewCBCEncrypter(block, out[:bs]).CryptBlocks(out[bs:], padded)
	return out, key, nil
}

// encryptOAEPWithMGF is RSA-OAEP (RFC 8017 7.1.1) with an MGF1 digest that
// differs from the label digest, which crypto/rsa offers only from Go 1.26.
func encryptOAEPWithMGF(pub *rsa.PublicKey, msg []byte, digest, mgf crypto.Hash) ([]byte, error) {
	k := pub.Size()
	hLen := digest.Size()
	if len(msg) > k-2*hLen-2 {
		return nil, errors.New("samltest: OAEP message too long for the key")
	}
	lHash := digest.New().Sum(nil)
	db := make([]byte, k-hLen-1)
	copy(db, lHash)
	db[len(db)-len(msg)-1] = 1
	copy(db[len(db)-len(msg):], msg)
	seed := make([]byte, hLen)
	if _, err := io.ReadFull(rand.Reader, seed); err != nil {
		return nil, err
	}
	xorMGF1(db, seed, mgf)
	xorMGF1(seed, db, mgf)
	em := append(append([]byte{0}, seed...), db...)
	m := new(big.Int).SetBytes(em)
	c := new(big.Int).Exp(m, big.NewInt(int64(pub.E)), pub.N)
	return c.FillBytes(make([]byte, k)), nil
}

// xorMGF1 XORs out with MGF1(seed) under h.
func xorMGF1(out, seed []byte, h crypto.Hash) {
	var counter [4]byte
	for done := 0; done < len(out); {
		d := h.New()
		d.Write(seed)
		d.Write(counter[:])
		for _, b := range d.Sum(nil) {
			if done == len(out) {
				break
			}
			out[done] ^= b
			done++
		}
		binary.BigEndian.PutUint32(counter[:], binary.BigEndian.Uint32(counter[:])+1)
	}
}

// EncryptXML encrypts an XML element (or any bytes, for tests of how a
// service provider treats what it decrypts) as e says, and returns the
// xenc:EncryptedData (with KeyBeside, followed by its xenc:EncryptedKey)
// to put inside an EncryptedAssertion, EncryptedID or EncryptedAttribute.
func EncryptXML(plaintext []byte, e Encryption) (string, error) {
	return e.encrypt(plaintext)
}
