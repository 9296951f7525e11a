package saml

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/rand"
	"crypto/rsa"
	_ "crypto/sha1" // OAEP digests
	_ "crypto/sha256"
	_ "crypto/sha512"
	"encoding/base64"
	"strings"

	"github.com/beevik/etree"
)

// XML Encryption namespaces and algorithm URIs.
const (
	nsXEnc   = "http://www.w3.org/2001/04/xmlenc#"
	nsXEnc11 = "http://www.w3.org/2009/xmlenc11#"

	encRSAOAEPMGF1P = nsXEnc + "rsa-oaep-mgf1p"
	encRSAOAEP      = nsXEnc11 + "rsa-oaep"
	encRSA15        = nsXEnc + "rsa-1_5"
	encAES128CBC    = nsXEnc + "aes128-cbc"
	encAES192CBC    = nsXEnc + "aes192-cbc"
	encAES256CBC    = nsXEnc + "aes256-cbc"
	encTripleDESCBC = nsXEnc + "tripledes-cbc"
	encAES128GCM    = nsXEnc11 + "aes128-gcm"
	encAES192GCM    = nsXEnc11 + "aes192-gcm"
	encAES256GCM    = nsXEnc11 + "aes256-gcm"
)

// contentCipher describes one EncryptedData EncryptionMethod.
type contentCipher struct {
	keySize int
	gcm     bool
	legacy  bool // refused unless Config.AllowLegacyEncryption
	block   func([]byte) (cipher.Block, error)
}

var contentCiphers = map[string]contentCipher{
	encAES128CBC:    {keySize: 16, block: aes.NewCipher},
	encAES192CBC:    {keySize: 24, block: aes.NewCipher},
	encAES256CBC:    {keySize: 32, block: aes.NewCipher},
	encAES128GCM:    {keySize: 16, gcm: true, block: aes.NewCipher},
	encAES192GCM:    {keySize: 24, gcm: true, block: aes.NewCipher},
	encAES256GCM:    {keySize: 32, gcm: true, block: aes.NewCipher},
	encTripleDESCBC: {keySize: 24, legacy: true, block: des.NewTripleDESCipher},
}

// oaepDigests are the DigestMethods and MGF algorithms of RSA-OAEP key
// transport.
var oaepDigests = map[string]crypto.Hash{
	DigestSHA1: crypto.SHA1, DigestSHA256: crypto.SHA256, DigestSHA384: crypto.SHA384, DigestSHA512: crypto.SHA512,
	nsXEnc11 + "mgf1sha1": crypto.SHA1, nsXEnc11 + "mgf1sha224": crypto.SHA224, nsXEnc11 + "mgf1sha256": crypto.SHA256,
	nsXEnc11 + "mgf1sha384": crypto.SHA384, nsXEnc11 + "mgf1sha512": crypto.SHA512,
}

// maxEncryptedKeys bounds the EncryptedKeys tried for one EncryptedData:
// each try is an RSA private-key operation per configured key.
const maxEncryptedKeys = 4

// errDecryptMessage is the one message of every failure to decrypt, so
// that a response tells an attacker nothing about why (a padding, tag, key
// or parse failure): the difference is what CBC padding and Bleichenbacher
// oracles measure. The debug report keeps the details.
const errDecryptMessage = "the encrypted data could not be decrypted with this service provider's keys; check that the IdP encrypts to the SP's current certificate"

// decryptFailure is a failure whose detail goes only to the debug report.
type decryptFailure struct{ detail string }

func failDecrypt(detail string) *decryptFailure { return &decryptFailure{detail: detail} }

// encryptedData is one EncryptedData and the EncryptedKeys that may hold
// its key, parsed but not decrypted.
type encryptedData struct {
	method     string
	cipher     contentCipher
	cipherText []byte
	keys       []encryptedKey
}

type encryptedKey struct {
	method     string
	digest     crypto.Hash // OAEP digest
	mgf        crypto.Hash // OAEP MGF1 digest
	label      []byte
	cipherText []byte
}

// parseEncrypted reads the EncryptedData of container (an
// EncryptedAssertion, EncryptedID or EncryptedAttribute) and the
// EncryptedKeys that may hold its key: inside its KeyInfo, or beside it in
// container (as Shibboleth and SimpleSAMLphp send them). An algorithm this
// package never supports is a decryptFailure; a legacy one it supports only
// on request is the caller's to refuse.
func parseEncrypted(container *etree.Element) (*encryptedData, *decryptFailure) {
	var data *etree.Element
	var beside []*etree.Element
	for _, c := range container.ChildElements() {
		switch {
		case is(c, nsXEnc, "EncryptedData"):
			if data != nil {
				return nil, failDecrypt("more than one EncryptedData")
			}
			data = c
		case is(c, nsXEnc, "EncryptedKey"):
			beside = append(beside, c)
		}
	}
	if data == nil {
		return nil, failDecrypt("no EncryptedData in <" + container.Tag + ">")
	}
	ed := &encryptedData{}
	method, _ := child(data, nsXEnc, "EncryptionMethod")
	if method == nil {
		return nil, failDecrypt("EncryptedData has no EncryptionMethod")
	}
	ed.method, _ = attr(method, "Algorithm")
	var ok bool
	if ed.cipher, ok = contentCiphers[ed.method]; !ok {
		return nil, failDecrypt("unsupported content encryption " + ed.method)
	}
	var f *decryptFailure
	if ed.cipherText, f = cipherValue(data); f != nil {
		return nil, f
	}
	var candidates []*etree.Element
	if ki, _ := child(data, nsDSig, "KeyInfo"); ki != nil {
		candidates = append(candidates, children(ki, nsXEnc, "EncryptedKey")...)
		for _, rm := range children(ki, nsDSig, "RetrievalMethod") {
			uri, _ := attr(rm, "URI")
			for _, k := range beside {
				if id, _ := attr(k, "Id"); uri == "#"+id {
					candidates = append(candidates, k)
				}
			}
		}
	}
	if len(candidates) == 0 {
		candidates = beside
	}
	if len(candidates) == 0 {
		return nil, failDecrypt("no EncryptedKey for the EncryptedData")
	}
	if len(candidates) > maxEncryptedKeys {
		return nil, failDecrypt("too many EncryptedKeys")
	}
	for _, k := range candidates {
		ek, f := parseEncryptedKey(k)
		if f != nil {
			return nil, f
		}
		ed.keys = append(ed.keys, ek)
	}
	return ed, nil
}

func parseEncryptedKey(k *etree.Element) (encryptedKey, *decryptFailure) {
	ek := encryptedKey{digest: crypto.SHA1, mgf: crypto.SHA1}
	method, _ := child(k, nsXEnc, "EncryptionMethod")
	if method == nil {
		return ek, failDecrypt("EncryptedKey has no EncryptionMethod")
	}
	ek.method, _ = attr(method, "Algorithm")
	switch ek.method {
	case encRSAOAEPMGF1P, encRSAOAEP, encRSA15:
	default:
		return ek, failDecrypt("unsupported key transport " + ek.method)
	}
	for _, c := range method.ChildElements() {
		alg, _ := attr(c, "Algorithm")
		switch {
		case is(c, nsDSig, "DigestMethod"):
			h, ok := oaepDigests[alg]
			if !ok || strings.Contains(alg, "mgf1") {
				return ek, failDecrypt("unsupported OAEP digest " + alg)
			}
			ek.digest = h
		case is(c, nsXEnc11, "MGF") && ek.method == encRSAOAEP:
			h, ok := oaepDigests[alg]
			if !ok || !strings.Contains(alg, "mgf1") {
				return ek, failDecrypt("unsupported OAEP mask generation " + alg)
			}
			ek.mgf = h
		case is(c, nsXEnc, "OAEPparams"):
			label, err := decodeBase64(text(c))
			if err != nil {
				return ek, failDecrypt("OAEPparams is not base64")
			}
			ek.label = label
		default:
			return ek, failDecrypt("unexpected <" + c.Tag + "> in the key transport method")
		}
	}
	var f *decryptFailure
	ek.cipherText, f = cipherValue(k)
	return ek, f
}

// cipherValue returns the decoded CipherData/CipherValue of el.
// CipherReference (data fetched from a URI) is never followed.
func cipherValue(el *etree.Element) ([]byte, *decryptFailure) {
	cd, _ := child(el, nsXEnc, "CipherData")
	if cd == nil {
		return nil, failDecrypt("no CipherData")
	}
	cv, _ := child(cd, nsXEnc, "CipherValue")
	if cv == nil {
		return nil, failDecrypt("no CipherValue (CipherReference is not followed)")
	}
	b, err := decodeBase64(text(cv))
	if err != nil {
		return nil, failDecrypt("CipherValue is not base64")
	}
	return b, nil
}

// decodeBase64 decodes an xs:base64Binary value, which may hold XML
// whitespace (xmlsec1 breaks lines every 64 characters) and nothing else.
func decodeBase64(s string) ([]byte, error) {
	if strings.ContainsAny(s, " \t\r\n") {
		s = strings.Map(func(r rune) rune {
			if isXMLSpace(r) {
				return -1
			}
			return r
		}, s)
	}
	return base64.StdEncoding.DecodeString(s)
}

// legacyAlgorithm returns the first algorithm of ed that is refused unless
// the host opts in, with the reason, or "".
func (ed *encryptedData) legacyAlgorithm() (string, string) {
	for _, k := range ed.keys {
		if k.method == encRSA15 {
			return k.method, "RSA PKCS#1 v1.5 key transport is open to Bleichenbacher's attack"
		}
	}
	if ed.cipher.legacy {
		return ed.method, "Triple DES is a 64-bit block cipher, too weak for new data"
	}
	return "", ""
}

// decrypt unwraps the content key with the service provider's keys and
// decrypts the content. Every failure is a decryptFailure.
func (sp *ServiceProvider) decrypt(ed *encryptedData, maxSize int) ([]byte, *decryptFailure) {
	if len(ed.cipherText) > maxSize+64 {
		return nil, failDecrypt("the encrypted data is larger than the response size cap")
	}
	var last *decryptFailure
	for _, ek := range ed.keys {
		for _, key := range sp.cfg.DecryptionKeys {
			cek, f := unwrapKey(key, ek, ed.cipher.keySize)
			if f != nil {
				last = f
				continue
			}
			plain, f := decryptContent(ed.cipher, cek, ed.cipherText)
			if f != nil {
				last = f
				continue
			}
			return plain, nil
		}
	}
	if last == nil {
		last = failDecrypt("no decryption key is configured")
	}
	return nil, last
}

// unwrapKey decrypts the content-encryption key with one RSA key.
func unwrapKey(key *rsa.PrivateKey, ek encryptedKey, size int) ([]byte, *decryptFailure) {
	if ek.method == encRSA15 {
		// Implicit rejection: on bad padding a random key is returned,
		// so the failure shows up only as a content failure, exactly
		// like a wrong key (RFC 3218 2.3.2).
		cek := make([]byte, size)
		if _, err := rand.Read(cek); err != nil {
			return nil, failDecrypt("random: " + err.Error())
		}
		if err := rsa.DecryptPKCS1v15SessionKey(nil, key, ek.cipherText, cek); err != nil {
			return nil, failDecrypt("RSA PKCS#1 v1.5: " + err.Error())
		}
		return cek, nil
	}
	if !ek.digest.Available() || !ek.mgf.Available() {
		return nil, failDecrypt("OAEP digest not available")
	}
	cek, err := key.Decrypt(nil, ek.cipherText, &rsa.OAEPOptions{Hash: ek.digest, MGFHash: ek.mgf, Label: ek.label})
	if err != nil {
		return nil, failDecrypt("RSA-OAEP key transport: " + err.Error())
	}
	if len(cek) != size {
		return nil, failDecrypt("the content key has the wrong length")
	}
	return cek, nil
}

// decryptContent decrypts XML Encryption content: the IV (GCM: 12-byte
// nonce) first, then the ciphertext (GCM: with its 16-byte tag).
func decryptContent(c contentCipher, key, data []byte) ([]byte, *decryptFailure) {
	block, err := c.block(key)
	if err != nil {
		return nil, failDecrypt("content key: " + err.Error())
	}
	if c.gcm {
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, failDecrypt("GCM: " + err.Error())
		}
		if len(data) < aead.NonceSize()+aead.Overhead() {
			return nil, failDecrypt("GCM data too short")
		}
		plain, err := aead.Open(nil, data[:aead.NonceSize()], data[aead.NonceSize():], nil)
		if err != nil {
			return nil, failDecrypt("GCM authentication failed")
		}
		return plain, nil
	}
	bs := block.BlockSize()
	if len(data) < 2*bs || len(data)%bs != 0 {
		return nil, failDecrypt("CBC data is not whole blocks")
	}
	plain := make([]byte, len(data)-bs)
	cipher.NewCBCDecrypter(block, data[:bs]).CryptBlocks(plain, data[bs:])
	// XML Encryption padding: the last byte says how many bytes to drop
	// (1 to the block size); the others are arbitrary.
	pad := int(plain[len(plain)-1])
	if pad < 1 || pad > bs {
		return nil, failDecrypt("CBC padding is invalid")
	}
	return plain[:len(plain)-pad], nil
}

// parseFragment parses decrypted XML in the namespace context of the
// element it replaces, with the checks of parseXML, and returns its single
// element. IDs must be unique across the fragment and the document sc
// describes.
func parseFragment(plain []byte, context *etree.Element, sc *scanned) (*etree.Element, *scanned, *decryptFailure) {
	plain = bytes.TrimSpace(plain)
	if bytes.HasPrefix(plain, []byte("<?xml")) {
		if end := bytes.Index(plain, []byte("?>")); end > 0 {
			plain = bytes.TrimSpace(plain[end+2:])
		}
	}
	var b bytes.Buffer
	b.Grow(len(plain) + 256)
	b.WriteString("<fragment")
	seen := map[string]bool{}
	for el := context; el != nil; el = el.Parent() {
		for _, a := range el.Attr {
			if a.Space == "xmlns" || a.Space == "" && a.Key == "xmlns" {
				if k := a.FullKey(); !seen[k] {
					seen[k] = true
					b.WriteString(" " + k + `="`)
					_ = xmlEscapeAttr(&b, a.Value)
					b.WriteByte('"')
				}
			}
		}
	}
	b.WriteByte('>')
	b.Write(plain)
	b.WriteString("</fragment>")
	doc, fsc, err := parseXMLWithin(b.Bytes(), sc.budget)
	if err != nil {
		return nil, nil, failDecrypt("the decrypted data is not well-formed XML: " + err.(*Error).Message)
	}
	for _, id := range fsc.ids {
		if err := sc.id(id); err != nil {
			return nil, nil, failDecrypt("the decrypted data repeats an ID of the response")
		}
	}
	kids := doc.Root().ChildElements()
	if len(kids) != 1 {
		return nil, nil, failDecrypt("the decrypted data is not exactly one element")
	}
	for _, t := range doc.Root().Child {
		if cd, ok := t.(*etree.CharData); ok && !cd.IsWhitespace() {
			return nil, nil, failDecrypt("the decrypted data has text outside its element")
		}
	}
	return kids[0], fsc, nil
}

func xmlEscapeAttr(b *bytes.Buffer, s string) error {
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '"':
			b.WriteString("&quot;")
		default:
			b.WriteRune(r)
		}
	}
	return nil
}
