package saml

import (
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
)

// ParseSignedIdPMetadata is ParseIdPMetadata for metadata that must be
// signed by one of signers, the metadata-signing certificates the admin
// pinned (a federation's signing certificate, or the IdP's own). The
// signature must be a direct child of the root element, with the same
// strict rules as a response's: one Reference to the root's ID, the
// enveloped-signature and exclusive c14n transforms, RSA or ECDSA with
// SHA-256 or stronger (SHA-1 only with allowSHA1). A certificate in the
// signature's KeyInfo is never trusted. Unsigned, tampered or wrongly
// signed metadata is an *Error with CodeSignature (or CodeAlgorithm,
// CodeStructure), and every value is read from the signed element.
func ParseSignedIdPMetadata(data []byte, entityID string, signers []*x509.Certificate, allowSHA1 bool) (*IdentityProvider, error) {
	t, err := signerTrust(signers)
	if err != nil {
		return nil, err
	}
	md, err := parseMetadata(data, entityID, t, allowSHA1)
	if err != nil {
		return nil, err
	}
	return md.idp, nil
}

// signerTrust builds the verification contexts of metadata-signing
// certificates.
func signerTrust(signers []*x509.Certificate) (*trust, error) {
	if len(signers) == 0 {
		return nil, errors.New("saml: metadata: no metadata-signing certificate given")
	}
	t, err := newTrust(IdentityProvider{EntityID: "metadata signer", Certificates: signers})
	if err != nil {
		return nil, fmt.Errorf("saml: metadata-signing certificates: %w", err)
	}
	return t, nil
}

// verifyMetadata checks the root's signature with signers and returns the
// verified copy of the root, and the certificate that verified it.
func verifyMetadata(root *etree.Element, sc *scanned, signers *trust, allowSHA1 bool) (*etree.Element, *x509.Certificate, error) {
	var onRoot []*etree.Element
	for _, s := range sc.signatures {
		if s.Parent() == root {
			onRoot = append(onRoot, s)
		}
	}
	switch len(onRoot) {
	case 0:
		return nil, nil, newError(CodeSignature, "the metadata is not signed (no signature in its root <%s>), but a metadata-signing certificate is configured: it must be signed", root.Tag)
	case 1:
	default:
		return nil, nil, newError(CodeStructure, "the metadata root <%s> carries %d signatures; exactly one is allowed", root.Tag, len(onRoot))
	}
	sig, err := checkShape(root, onRoot[0], allowSHA1)
	if err != nil {
		e := err.(*Error)
		return nil, nil, wrapError(e.Code, e, "metadata: %s", e.Message)
	}
	verified, tc, err := signers.verify(root, sig, 3*maxMetadataSize)
	if err != nil {
		e := err.(*Error)
		return nil, nil, wrapError(CodeSignature, e, "the metadata signature does not verify with the configured metadata-signing certificate(s): was the metadata changed, or did the IdP's metadata-signing certificate change?")
	}
	return verified, tc.cert, nil
}

// cacheDuration returns the shortest cacheDuration of entity, its
// enclosing EntitiesDescriptors and its IDPSSODescriptors; zero when none
// says.
func cacheDuration(entity *etree.Element) (time.Duration, error) {
	var shortest time.Duration
	visit := func(el *etree.Element) error {
		s, ok := attr(el, "cacheDuration")
		if !ok {
			return nil
		}
		d, err := parseXSDuration(s)
		if err != nil {
			return fmt.Errorf("saml: metadata cacheDuration %q: %w", s, err)
		}
		if shortest == 0 || d < shortest {
			shortest = d
		}
		return nil
	}
	for el := entity; el != nil; el = el.Parent() {
		if err := visit(el); err != nil {
			return 0, err
		}
	}
	for _, role := range children(entity, nsMetadata, "IDPSSODescriptor") {
		if err := visit(role); err != nil {
			return 0, err
		}
	}
	return shortest, nil
}

// parseXSDuration parses an xs:duration such as "PT6H", "P1DT30M" or
// "PT0.5S". Years count 365 days and months 30, as a cache lifetime needs
// no calendar. Negative durations are refused; the result is capped at
// about 290 years.
func parseXSDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "-") {
		return 0, errors.New("a negative duration")
	}
	rest, ok := strings.CutPrefix(s, "P")
	if !ok || rest == "" || strings.HasSuffix(rest, "T") {
		return 0, errors.New("not an xs:duration (PnYnMnDTnHnMnS)")
	}
	date, clock, hasT := strings.Cut(rest, "T")
	var total float64
	parts := 0
	read := func(part, units string, sizes []float64, fractionLast bool) error {
		u := 0
		for part != "" {
			i := strings.IndexFunc(part, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
			if i <= 0 {
				return errors.New("not an xs:duration (PnYnMnDTnHnMnS)")
			}
			j := strings.IndexByte(units[u:], part[i])
			if j < 0 {
				return errors.New("not an xs:duration (PnYnMnDTnHnMnS): units out of order or unknown")
			}
			u += j
			num := part[:i]
			if strings.Contains(num, ".") && !(fractionLast && units[u] == 'S') {
				return errors.New("only seconds may have a fraction")
			}
			n, err := strconv.ParseFloat(num, 64)
			if err != nil || strings.HasPrefix(num, ".") || strings.HasSuffix(num, ".") {
				return errors.New("not an xs:duration number")
			}
			total += n * sizes[u]
			u++
			parts++
			part = part[i+1:]
		}
		return nil
	}
	day := float64(24 * time.Hour)
	if err := read(date, "YMD", []float64{365 * day, 30 * day, day}, false); err != nil {
		return 0, err
	}
	if hasT {
		if err := read(clock, "HMS", []float64{float64(time.Hour), float64(time.Minute), float64(time.Second)}, true); err != nil {
			return 0, err
		}
	}
	if parts == 0 {
		return 0, errors.New("not an xs:duration (PnYnMnDTnHnMnS)")
	}
	if total >= math.MaxInt64 {
		return time.Duration(math.MaxInt64), nil
	}
	return time.Duration(total), nil
}

// otherEntityError is metadata that describes another entity than the one
// asked for. It matches ErrEntityIDChanged.
type otherEntityError struct{ got, want string }

func (e *otherEntityError) Error() string {
	return fmt.Sprintf("saml: metadata describes %q, not %q", e.got, e.want)
}

func (e *otherEntityError) Is(target error) bool { return target == ErrEntityIDChanged }
