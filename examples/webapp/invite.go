package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/siteadmin/integrations/notify"
	"github.com/siteadmin/integrations/notify/notifypg"
)

// The Invitations page (with -postgres) invites several people at once:
// one transaction records an invitation per address and queues its email
// in the outbox (notifypg.WithTx), so that a batch with one bad or
// already invited address leaves nothing behind, no row and no email.

// invitationsSchema is the invitations table: one invitation per
// address, whatever its case.
const invitationsSchema = `
CREATE TABLE IF NOT EXISTS webapp_invitations (
	email        text NOT NULL,
	organization text NOT NULL,
	invited_by   text NOT NULL,
	invited_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS webapp_invitations_email ON webapp_invitations (lower(email));
`

// maxInvites bounds one batch: one transaction holds a row lock per
// address until it commits.
const maxInvites = 1000

// invitationDays is how long an invitation's link is said to work.
const invitationDays = 14

func createInvitations(ctx context.Context, db *sql.DB) error {
	err := inTx(ctx, db, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('webapp_invitations', 0))`); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, invitationsSchema)
		return err
	})
	if err != nil {
		return fmt.Errorf("webapp: the invitations table: %w", err)
	}
	return nil
}

// invitation is one row of webapp_invitations, for the page.
type invitation struct {
	Email, Organization, InvitedBy string
	InvitedAt                      time.Time
}

// inviteBatch is what the form asks for.
type inviteBatch struct {
	Organization string
	Inviter      string   // who is logged in
	Emails       []string // one per non-blank line
}

// parseInviteLines returns the non-blank lines of text, trimmed.
func parseInviteLines(text string) []string {
	var out []string
	for line := range strings.Lines(text) {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}

// invite records and queues every invitation of b in one transaction, or
// none: the first address that cannot be invited rolls the batch back,
// emails included, and the error names it.
func (p *pgParts) invite(ctx context.Context, b inviteBatch, base string) error {
	switch {
	case len(b.Emails) == 0:
		return errors.New("no addresses: type one email address per line")
	case len(b.Emails) > maxInvites:
		return fmt.Errorf("%d addresses: invite at most %d at once", len(b.Emails), maxInvites)
	}
	expires := time.Now().AddDate(0, 0, invitationDays)
	// Rows are inserted in the order of their unique key, so that two
	// batches sharing addresses wait for each other instead of
	// deadlocking; errors still name the line the admin typed.
	order := make([]int, len(b.Emails))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(x, y int) int { return strings.Compare(strings.ToLower(b.Emails[x]), strings.ToLower(b.Emails[y])) })
	return inTx(ctx, p.db, func(tx *sql.Tx) error {
		qctx := notifypg.WithTx(ctx, tx)
		for _, i := range order {
			email := b.Emails[i]
			res, err := tx.ExecContext(ctx, `INSERT INTO webapp_invitations (email, organization, invited_by) VALUES ($1, $2, $3)
				ON CONFLICT ((lower(email))) DO NOTHING`, email, b.Organization, b.Inviter)
			if err != nil {
				return fmt.Errorf("line %d, %q: %w", i+1, email, err)
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				return fmt.Errorf("line %d, %q: already invited (in this batch or before)", i+1, email)
			}
			err = p.notifier.Invite(qctx, notify.Invitation{
				Inviter: b.Inviter, Organization: b.Organization,
				// Accepting is logging in with SSO: the first login
				// creates the account.
				AcceptURL: base + "/saml/login?return_to=%2Fdiff",
				ExpiresAt: expires,
			}, email)
			if err != nil {
				return fmt.Errorf("line %d, %q: %w", i+1, email, err)
			}
		}
		return nil
	})
}

// invitations returns the latest invitations, newest first, and how many
// there are in all.
func (p *pgParts) invitations(ctx context.Context, limit int) ([]invitation, int, error) {
	var total int
	if err := p.db.QueryRowContext(ctx, `SELECT count(*) FROM webapp_invitations`).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := p.db.QueryContext(ctx, `SELECT email, organization, invited_by, invited_at FROM webapp_invitations
		ORDER BY invited_at DESC, email LIMIT $1`, limit)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []invitation
	for rows.Next() {
		var inv invitation
		if err := rows.Scan(&inv.Email, &inv.Organization, &inv.InvitedBy, &inv.InvitedAt); err != nil {
			return nil, 0, err
		}
		out = append(out, inv)
	}
	return out, total, rows.Err()
}

// adminInvitations shows the invitations form and the latest invitations,
// and runs a batch.
func (a *app) adminInvitations(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	orgs, err := a.organizations(ctx)
	if err != nil {
		a.render(w, r, http.StatusInternalServerError, "message", map[string]any{"Title": "Invitations", "Text": err.Error()})
		return
	}
	data := map[string]any{"Title": "Invitations", "Orgs": orgs}
	status := http.StatusOK
	if r.Method == http.MethodPost {
		b := inviteBatch{Organization: r.PostFormValue("organization"), Emails: parseInviteLines(r.PostFormValue("emails"))}
		s, ok := a.siteAdmin(r)
		if !ok { // the session ended (or lost the flag) since requireAdmin looked
			a.render(w, r, http.StatusForbidden, "message", map[string]any{
				"Title": "Site admins only", "Text": "Log in as a site admin first.", "Link": "/login", "LinkText": "Log in",
			})
			return
		}
		b.Inviter = breakGlassName
		if !s.BreakGlass {
			b.Inviter = s.NameID.Value
		}
		if !slices.Contains(orgs, b.Organization) {
			err = fmt.Errorf("no organization %q: pick one of the list", b.Organization)
		} else {
			err = a.pg.invite(ctx, b, a.base)
		}
		if err != nil {
			status = http.StatusUnprocessableEntity
			data["InviteError"] = err.Error()
			data["Typed"] = r.PostFormValue("emails")
		} else {
			data["Invited"] = b.Emails
		}
		data["Org"] = b.Organization
	}
	if data["List"], data["Total"], err = a.pg.invitations(ctx, 50); err != nil {
		data["ListError"] = err.Error()
	}
	a.render(w, r, status, "admin-invitations", data)
}

// organizations returns the names of the directory's organizations.
func (a *app) organizations(ctx context.Context) ([]string, error) {
	teams, err := a.dir.Teams(ctx)
	if err != nil {
		return nil, err
	}
	var orgs []string
	for _, t := range teams {
		if !slices.Contains(orgs, t.Org) {
			orgs = append(orgs, t.Org)
		}
	}
	slices.Sort(orgs)
	return orgs, nil
}
