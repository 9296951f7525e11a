package main

import (
	"context"
	"crypto/x509"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/siteadmin/integrations/saml"
	"github.com/siteadmin/integrations/saml/samlsp"
)

// metadataSource builds the IdP metadata source of settings with an IdP
// metadata URL: the stored metadata is its backing copy, each new good
// metadata is stored back into the settings, and without a backing copy
// it fetches once before the service provider is built (and stores that
// metadata in s, the settings being applied).
func (a *app) metadataSource(ctx context.Context, s *samlsp.Settings) (*saml.MetadataSource, error) {
	var starting atomic.Bool
	starting.Store(true)
	defer starting.Store(false)
	metadataURL := s.IdPMetadataURL
	cfg, err := s.MetadataSourceConfig(saml.MetadataSourceConfig{
		Timeout: 10 * time.Second,
		SaveBackingCopy: func(_ context.Context, md []byte) error {
			if starting.Load() { // the first fetch, inside applySAML
				s.IdPMetadata = string(md)
				return nil
			}
			a.mu.Lock()
			defer a.mu.Unlock()
			if a.samlSet.IdPMetadataURL == metadataURL {
				a.samlSet.IdPMetadata = string(md) // the app's "settings table"
			}
			return nil
		},
	})
	if err != nil {
		return nil, err
	}
	src, err := saml.NewMetadataSource(cfg)
	if err != nil {
		return nil, err
	}
	if _, ok := src.IdentityProvider(); !ok {
		if err := src.Refresh(ctx); err != nil {
			return nil, &samlsp.FieldError{Field: "idp-metadata-url", Problem: err.Error()}
		}
	}
	return src, nil
}

// runSource refreshes src on its schedule until the settings change or the
// app closes; it replaces the previous source's loop.
func (a *app) runSource(src *saml.MetadataSource) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopSource != nil {
		a.stopSource()
		a.stopSource = nil
	}
	if src == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.stopSource = cancel
	go src.Run(ctx)
}

// refreshMetadata is the SAML page's "Refresh now" button.
func (a *app) refreshMetadata(w http.ResponseWriter, r *http.Request) {
	a.mu.RLock()
	src := a.source
	a.mu.RUnlock()
	if src != nil {
		_ = src.Refresh(r.Context()) // the outcome shows in the status on the page
	}
	http.Redirect(w, r, "/admin/saml#metadata-status", http.StatusSeeOther)
}

// certRow is one certificate in the SAML page's status table.
type certRow struct {
	Use, Subject, Serial string
	NotAfter             time.Time
	Expired              bool
}

// samlStatus is what the SAML page shows above the settings: the metadata
// source's last and next refresh, the certificates in use and when they
// expire, and the current alerts.
func (a *app) samlStatus(ctx context.Context) map[string]any {
	a.mu.RLock()
	sp, src := a.sp, a.source
	a.mu.RUnlock()
	if sp == nil {
		return nil
	}
	now := time.Now()
	out := map[string]any{}
	var rows []certRow
	add := func(use string, c *x509.Certificate) {
		if c != nil {
			rows = append(rows, certRow{use, c.Subject.CommonName, c.SerialNumber.String(), c.NotAfter.UTC(), now.After(c.NotAfter)})
		}
	}
	idp := sp.IdentityProvider()
	for _, c := range idp.Certificates {
		add("IdP signing", c)
	}
	cfg := sp.Config()
	add("SP signing", cfg.SigningCertificate)
	add("SP encryption", cfg.EncryptionCertificate)
	out["Certs"] = rows
	if !idp.ValidUntil.IsZero() {
		out["ValidUntil"] = idp.ValidUntil.UTC()
	}
	if src != nil {
		st := src.Status()
		out["Source"] = st
		if st.LastError != nil {
			out["LastError"] = st.LastError.Error()
		}
	}
	out["Alerts"] = a.alerter.Check(ctx, sp, src)
	return out
}
