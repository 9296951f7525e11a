package samlsp_test

import (
	"strings"
	"testing"

	"github.com/siteadmin/integrations/saml/samlsp"
	"github.com/stretchr/testify/assert"
)

func TestSafeRedirect(t *testing.T) {
	t.Parallel()
	allowed := []string{"https://app.example.com", "http://localhost:8080", "https://[2001:db8::1]"}
	const fb = "/home"
	cases := []struct{ in, want string }{
		{"/orgs/acme?tab=teams#x", "/orgs/acme?tab=teams#x"},
		{"/", "/"},
		{"https://app.example.com/x", "https://app.example.com/x"},
		{"HTTPS://APP.EXAMPLE.COM:443/x", "HTTPS://APP.EXAMPLE.COM:443/x"},
		{"http://localhost:8080/", "http://localhost:8080/"},
		{"https://[2001:db8::1]/a", "https://[2001:db8::1]/a"},
		{"", fb},
		{"//evil.com", fb},
		{"///evil.com", fb},
		{"/\\evil.com", fb},
		{"\\\\evil.com", fb},
		{"/\t/evil.com", fb},
		{"/\n/evil.com", fb},
		{" /x", fb},
		{"https://evil.com", fb},
		{"https://app.example.com.evil.com/", fb},
		{"https://app.example.com@evil.com/", fb},
		{"https://evil.com\\@app.example.com/", fb},
		{"http://app.example.com/", fb},
		{"https://app.example.com:8443/", fb},
		{"http://localhost/", fb},
		{"javascript:alert(1)", fb},
		{"data:text/html,hi", fb},
		{"relative/path", fb},
		{"evil.com", fb},
		{"https:evil.com", fb},
		{"/%0d%0aSet-Cookie:x", "/%0d%0aSet-Cookie:x"},
		{"/é", fb},
		{"/" + strings.Repeat("a", 3000), fb},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, samlsp.SafeRedirect(tc.in, allowed, fb), "SafeRedirect(%q)", tc.in)
	}
}
