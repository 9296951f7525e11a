package notifypg

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
)

// textArray encodes values as a PostgreSQL array literal, for a $n::text[]
// parameter. A literal string works through every database/sql driver
// (pgx's stdlib, lib/pq), which a Go slice does not. Every element is
// quoted, so none reads as NULL, and quotes and backslashes are escaped.
func textArray(values []string) string {
	n := 2
	for _, v := range values {
		n += len(v) + 3
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteByte('{')
	for i, v := range values {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		for j := 0; j < len(v); j++ {
			if c := v[j]; c == '"' || c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(v[j])
		}
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// newLeaseToken returns a random UUID (version 4) in text form: the token
// of one claim.
func newLeaseToken() string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // never fails (crypto/rand)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var buf [36]byte
	hex.Encode(buf[0:8], u[0:4])
	buf[8] = '-'
	hex.Encode(buf[9:13], u[4:6])
	buf[13] = '-'
	hex.Encode(buf[14:18], u[6:8])
	buf[18] = '-'
	hex.Encode(buf[19:23], u[8:10])
	buf[23] = '-'
	hex.Encode(buf[24:], u[10:])
	return string(buf[:])
}

// isLeaseToken tells whether s has the form of a token newLeaseToken
// makes (as PostgreSQL prints a uuid), so that a forged or empty lease is
// never sent to a uuid parameter, where it would be an error.
func isLeaseToken(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f':
		default:
			return false
		}
	}
	return true
}
