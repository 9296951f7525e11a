package saml_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"math/big"

	"github.com/siteadmin/integrations/saml/samltest"
)

func asError[T error](err error, target *T) bool { return errors.As(err, target) }

func newECDSAIdP(curve string) (*samltest.IdP, error) {
	c := map[string]elliptic.Curve{"P256": elliptic.P256(), "P384": elliptic.P384(), "P521": elliptic.P521()}[curve]
	key, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		return nil, err
	}
	return newTestIdP(samltest.WithKey(key))
}

// derFromRaw re-encodes a raw r||s ECDSA signature as ASN.1 DER.
func derFromRaw(raw []byte) []byte {
	n := len(raw) / 2
	der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(raw[:n]), new(big.Int).SetBytes(raw[n:])})
	if err != nil {
		panic(err)
	}
	return der
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
