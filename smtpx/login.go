package smtpx

import (
	"bytes"
	"encoding/base64"
	"errors"

	"github.com/emersion/go-sasl"
)

// prompt is what a LOGIN challenge asks for.
type prompt int

const (
	promptUsername prompt = iota + 1
	promptPassword
)

// errLoginChallenge is returned when a server sends more LOGIN
// challenges than the two the mechanism has.
var errLoginChallenge = errors.New("the server sent a third LOGIN challenge; LOGIN asks only for a username and a password")

// loginClient is the client side of the LOGIN mechanism
// (draft-murchison-sasl-login). go-sasl's version accepts only the exact
// challenge "Password:"; real servers say "Username:", "USERNAME:",
// "User Name", localized words, or nothing at all. This one sends no
// initial response and answers each challenge by what it asks for,
// falling back to the order (username, then password) when the text does
// not say.
type loginClient struct {
	username, password string
	step               int
}

var _ sasl.Client = (*loginClient)(nil)

func (c *loginClient) Start() (mech string, ir []byte, err error) {
	return sasl.Login, nil, nil
}

func (c *loginClient) Next(challenge []byte) ([]byte, error) {
	p, err := loginPrompt(challenge, c.step)
	c.step++
	if err != nil {
		return nil, err
	}
	if p == promptPassword {
		return []byte(c.password), nil
	}
	return []byte(c.username), nil
}

// loginPrompt decides what a decoded LOGIN challenge asks for; step is
// how many challenges came before it. Some servers base64-encode the
// prompt twice, so a challenge that decodes again is read once more.
func loginPrompt(challenge []byte, step int) (prompt, error) {
	if step > 1 {
		return 0, errLoginChallenge
	}
	if p := promptWord(challenge); p != 0 {
		return p, nil
	}
	if inner, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(challenge))); err == nil {
		if p := promptWord(inner); p != 0 {
			return p, nil
		}
	}
	if step == 0 {
		return promptUsername, nil
	}
	return promptPassword, nil
}

// promptWord recognizes a prompt by its words, in any case and language
// we know of; 0 means it does not say.
func promptWord(b []byte) prompt {
	s := bytes.ToLower(b)
	hasAny := func(words ...string) bool {
		for _, w := range words {
			if bytes.Contains(s, []byte(w)) {
				return true
			}
		}
		return false
	}
	isPass := hasAny("pass", "kennwort", "mot de passe", "contraseña", "senha")
	isUser := hasAny("user", "login", "name", "benutzer", "utilisateur", "usuario", "account")
	switch {
	case isPass && !isUser:
		return promptPassword
	case isUser && !isPass:
		return promptUsername
	}
	return 0
}
