package integrations

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSecretNeverPrints(t *testing.T) {
	t.Parallel()
	type settings struct {
		User     string
		Password Secret
	}
	s := settings{User: "u", Password: "hunter2"}
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%t", "%c", "%U", "%10s", "%-20v"} {
		out := fmt.Sprintf(format, s)
		assert.NotContains(t, out, "hunter2", format)
	}
	var buf bytes.Buffer
	// A struct logged whole goes through encoding/json, which must write
	// the secret for storage; settings types therefore implement
	// slog.LogValuer themselves.
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("settings", "password", s.Password)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("settings", "password", s.Password, "all", s)
	assert.NotContains(t, buf.String(), "hunter2")
	assert.Equal(t, "", Secret("").String(), "an unset secret shows as empty")
}

func TestSecretRoundTripsJSON(t *testing.T) {
	t.Parallel()
	in := struct {
		Password Secret `json:"password"`
	}{Password: "p\"ss\u00e9"}
	data, err := json.Marshal(in)
	require.NoError(t, err)
	var out struct {
		Password Secret `json:"password"`
	}
	require.NoError(t, json.Unmarshal(data, &out))
	assert.Equal(t, in.Password.Reveal(), out.Password.Reveal())
}
