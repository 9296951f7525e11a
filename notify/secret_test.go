package notify

import (
	"bytes"
	"fmt"
	"log/slog"
	"testing"

	"github.com/siteadmin/integrations"
	"github.com/stretchr/testify/assert"
)

func TestSecretsInNotificationValuesNeverPrint(t *testing.T) {
	t.Parallel()
	code := TwoFactorCode{Code: "550123"}
	msg := Message{SMS: &SMS{Body: "body"}, Sensitive: []integrations.Secret{"550123"}}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		assert.NotContains(t, fmt.Sprintf(format, code), "550123", format)
		assert.NotContains(t, fmt.Sprintf(format, msg.Sensitive), "550123", format)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("2fa", "data", code)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("2fa", "data", code)
	assert.NotContains(t, buf.String(), "550123")
}
