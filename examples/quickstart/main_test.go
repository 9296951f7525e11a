package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestQuickstart(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out))
	for _, want := range []string{
		"verified: NameID alice@example.com",
		"the same response again: saml: replay",
		`The username changes from "alice.smith" to "alice"`,
		"Site admin access is granted",
		`Joins team "developers" of organization "acme"`,
		`Leaves team "legacy" of organization "acme"`,
		"logging in again changes nothing: true",
		"mail from noreply@app.example.com to bob@example.com over TLS 1.3",
		"https://app.example.com/invitations/accept?token=quickstart",
		"to +14155550100 (1 segment)",
		"done",
	} {
		assert.Contains(t, out.String(), want)
	}
}
