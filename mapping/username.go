package mapping

import (
	"strconv"
	"strings"
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

// assertedUsername returns the Username attribute's value, trimmed, and
// whether the attribute is present. Of several values the first counts.
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
	return strings.TrimSpace(vals[0]), true
}

// usernameBase derives a new user's username from the local part of the
// email: characters the default rule forbids become '-' (a run of them one
// '-'), leading punctuation is dropped, and the result is cut to
// MaxUsernameLength. It is "user" when nothing is left.
func usernameBase(email string) string {
	local := email
	if i := strings.LastIndexByte(email, '@'); i >= 0 {
		local = email[:i]
	}
	var b strings.Builder
	replaced := false
	for i := 0; i < len(local) && b.Len() < MaxUsernameLength; i++ {
		ch := local[i]
		switch {
		case isAlnum(ch) || b.Len() > 0 && (ch == '-' || ch == '_' || ch == '.'):
			b.WriteByte(ch)
			replaced = false
		case b.Len() > 0 && !replaced:
			b.WriteByte('-')
			replaced = true
		}
	}
	if b.Len() == 0 {
		return "user"
	}
	return b.String()
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
