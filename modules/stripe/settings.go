// Package stripe receives each account's Stripe webhooks: verified with the
// account's signing secret, applied once per event id, in any order, to the
// billing tables (Stripe customers, payments, instalments), each change
// journaled so the audit log and webhooks out see it.
package stripe

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"strings"

	"crm/platform/clock"
	"crm/platform/db"
	"crm/platform/errs"
	"crm/platform/field"
	"crm/platform/tenant"

	"github.com/uptrace/bun"
)

// PathPrefix is where Stripe posts an account's events.
const PathPrefix = "/api/webhooks/stripe/"

func newPathToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Settings) view() *SettingsView {
	if s == nil {
		return &SettingsView{}
	}
	p := PathPrefix + s.PathToken + "/"
	u := s.UpdatedAt.UTC()
	return &SettingsView{EndpointPath: &p, SecretSet: s.WebhookSecret != "", UpdatedAt: &u}
}

// loadSettings returns the caller's account settings, or nil.
func (s *Service) loadSettings(ctx context.Context, idb bun.IDB) (*Settings, error) {
	st := new(Settings)
	q, err := tenant.Scope(ctx, idb.NewSelect().Model(st))
	if err != nil {
		return nil, err
	}
	if err := q.Scan(ctx); err != nil {
		if db.IsNoRows(err) {
			return nil, nil
		}
		return nil, err
	}
	return st, nil
}

// GetSettings shows the account's Stripe webhook path and whether a secret
// is set (route: super_admins).
func (s *Service) GetSettings(ctx context.Context) (*SettingsView, error) {
	st, err := s.loadSettings(ctx, db.Use(ctx, s.db))
	if err != nil {
		return nil, err
	}
	return st.view(), nil
}

// SettingsInput is what a super_admin sets (absent: unchanged; null is
// refused before the service runs).
type SettingsInput struct {
	WebhookSecret field.Nullable[string] `json:"webhook_secret,omitempty" maxLength:"255" nullable:"false" example:"whsec_..." doc:"The signing secret of the account's Stripe webhook endpoint. Write-only: never shown again."`
	RotatePath    bool                   `json:"rotate_endpoint_path,omitempty" doc:"Give the account a new endpoint path (the old one stops working)."`
}

// PutSettings sets the signing secret (write-only) and, on the first call
// or when asked, a new unguessable path token.
func (s *Service) PutSettings(ctx context.Context, in SettingsInput) (*SettingsView, error) {
	accountID, err := tenant.Account(ctx)
	if err != nil {
		return nil, err
	}
	var secret string
	if in.WebhookSecret.Set {
		secret = strings.TrimSpace(in.WebhookSecret.Value)
		switch {
		case !strings.HasPrefix(secret, "whsec_") || len(secret) < 16:
			return nil, errs.Invalid("webhook_secret", "Give the endpoint's signing secret from Stripe (it starts with whsec_).")
		case len(secret) > 255 || strings.ContainsAny(secret, " \t\r\n"):
			return nil, errs.Invalid("webhook_secret", "This is not a Stripe signing secret.")
		}
	}
	var out *SettingsView
	err = db.InTx(ctx, s.db, func(tx bun.Tx) error {
		st, err := s.loadSettings(ctx, tx)
		if err != nil {
			return err
		}
		t := clock.Now()
		if st == nil {
			if secret == "" {
				return errs.Invalid("webhook_secret", "This field is required.")
			}
			st = &Settings{AccountID: accountID, PathToken: newPathToken(), WebhookSecret: secret, CreatedAt: t, UpdatedAt: t}
			if _, err := tx.NewInsert().Model(st).Exec(ctx); err != nil {
				return err
			}
			out = st.view()
			return nil
		}
		if secret != "" {
			st.WebhookSecret = secret
		}
		if in.RotatePath {
			st.PathToken = newPathToken()
		}
		st.UpdatedAt = t
		q, err := tenant.Scope(ctx, tx.NewUpdate().Model(st).Column("webhook_secret", "path_token", "updated_at").WherePK())
		if err != nil {
			return err
		}
		if _, err := q.Exec(ctx); err != nil {
			return err
		}
		out = st.view()
		return nil
	})
	return out, err
}
