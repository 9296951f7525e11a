package samlsp_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/siteadmin/integrations/saml"
	"github.com/siteadmin/integrations/saml/samlsp"
	"github.com/siteadmin/integrations/saml/samltest"
)

// A captured encrypted response, posted by someone without the tracking
// cookie, is refused; with debugging on, the page shows the checks but
// nothing the encryption hid (issue 13, finding 3). The host's log keeps
// the whole message.
func TestFailurePageHidesDecryptedValues(t *testing.T) {
	t.Parallel()
	idp, err := sharedIdP()
	require.NoError(t, err)
	kp, err := sharedSPKey()
	require.NoError(t, err)
	const hiddenName, hiddenSession = "hidden-user@example.com", "_hidden-session-7"
	cases := map[string]struct {
		spec   samltest.ResponseSpec
		hidden []string // what only decryption shows
	}{
		"EncryptedAssertion": {samltest.ResponseSpec{Encrypt: &samltest.Encryption{Certificate: kp.cert}, Sign: samltest.SignBoth}, []string{hiddenName, hiddenSession}},
		"EncryptedID":        {samltest.ResponseSpec{EncryptNameID: &samltest.Encryption{Certificate: kp.cert}}, []string{hiddenName}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sp, err := saml.NewServiceProvider(saml.Config{
				EntityID: samltest.DefaultAudience, ACSURL: samltest.DefaultACSURL,
				IdP: idp.IdentityProvider(), Clock: samltest.FixedClock(testNow), Debug: true,
				DecryptionKeys: []*rsa.PrivateKey{kp.key}, EncryptionCertificate: kp.cert,
			})
			require.NoError(t, err)
			var logs lockedBuffer
			h, err := samlsp.NewHandler(sp, samlsp.HandlerConfig{
				Tracker: &samlsp.CookieTracker{Key: trackerKey},
				Login:   func(context.Context, http.ResponseWriter, *http.Request, *samlsp.Login) error { return nil },
				Logger:  slog.New(slog.NewTextHandler(&logs, nil)),
			})
			require.NoError(t, err)

			spec := tc.spec
			spec.Now, spec.InResponseTo = testNow, "_someone-elses-request"
			spec.NameID, spec.SessionIndex = hiddenName, hiddenSession
			resp, err := idp.Response(spec)
			require.NoError(t, err)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, postForm(samltest.DefaultACSURL, resp.PostForm("")))

			require.Equal(t, http.StatusForbidden, rec.Code)
			body := rec.Body.String()
			assert.Contains(t, body, "<code>in_response_to</code>")
			assert.Contains(t, body, "SAML debug report", "debugging stays useful")
			for _, v := range tc.hidden {
				assert.NotContains(t, body, v)
			}
			assert.Contains(t, logs.String(), "in_response_to", "the host's log has the failure")
		})
	}
}

// lockedBuffer is a bytes.Buffer for a logger written from the handler.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Clone(b.buf.String())
}
