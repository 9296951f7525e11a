package mapping

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxUsernameLength is the longest username DefaultValidUsername accepts.
const MaxUsernameLength = 64

// DefaultValidUsername is the default username rule: 1 to 64 ASCII
// letters, digits, '-', '_' and '.', starting with a letter or a digit.
func DefaultValidUsername(u string) bool {
	if len(u) == 0 || len(u) > MaxUsernameLength || !isAlnum(u[0]) {
		return false
	}
	for i := 1; i < len(u); i++ {
		if !isAlnum(u[i]) && u[i] != '-' && u[i] != '_' && u[i] != '.' {
			return false
		}
	}
	return true
}

func isAlnum(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9'
}

// assertedUsername returns the Username attribute's value, trimmed (see
// trimXMLSpace), and whether the attribute is present. Of several values
// the first counts.
func (c Config) assertedUsername(attrs Attributes) (string, bool) {
	attr := c.usernameAttribute()
	if attr == "" {
		return "", false
	}
	vals, ok := attrs[attr]
	if !ok {
		return "", false
	}
	if len(vals) == 0 {
		return "", true
	}
	return trimXMLSpace(vals[0]), true
}

// usernameBase derives a new user's username from the local part of the
// email, as Terraform Enterprise does: each character the default rule
// forbids becomes '_', leading characters other than letters and digits
// are dropped, and the result is cut to MaxUsernameLength. It is "user"
// when nothing is left.
func usernameBase(email string) string {
	local := email
	if i := strings.LastIndexByte(email, '@'); i >= 0 {
		local = email[:i]
	}
	b := make([]byte, 0, min(len(local), MaxUsernameLength))
	for i := 0; i < len(local) && len(b) < MaxUsernameLength; {
		r, size := utf8.DecodeRuneInString(local[i:])
		i += size
		ch := byte(r)
		switch {
		case r < utf8.RuneSelf && isAlnum(ch):
			b = append(b, ch)
		case len(b) == 0:
			// a username starts with a letter or a digit
		case r == '-' || r == '_' || r == '.':
			b = append(b, ch)
		default:
			b = append(b, '_')
		}
	}
	if len(b) == 0 {
		return "user"
	}
	return string(b)
}

// defaultUsername returns the first of base, base1, base2, ... that is not
// taken, each cut so that it stays within MaxUsernameLength. It returns
// taken's first error.
func defaultUsername(base string, taken func(string) (bool, error)) (string, error) {
	for i := 0; ; i++ {
		cand := base
		if i > 0 {
			suffix := strconv.Itoa(i)
			cand = base[:min(len(base), MaxUsernameLength-len(suffix))] + suffix
		}
		t, err := taken(cand)
		if err != nil {
			return "", err
		}
		if !t {
			return cand, nil
		}
	}
}
