package stripe

import (
	"context"
	"net/http"

	"crm/platform/httpx"
)

type handler struct{ svc *Service }

type settingsOutput struct{ Body *SettingsView }

// stripeSettingsBody is what a super_admin sets (named: huma's schema names
// are global).
type stripeSettingsBody struct{ SettingsInput }

type settingsInput struct{ Body stripeSettingsBody }

type receiveInput struct {
	Account   string `path:"account" maxLength:"100" doc:"The account's endpoint token (from GET /api/stripe-settings/)."`
	Signature string `header:"Stripe-Signature" maxLength:"4096"`
	RawBody   []byte `contentType:"application/json"`
}

type receiptOutput struct{ Body *Receipt }

func routes(svc *Service) []httpx.Route {
	h := handler{svc}
	receive := httpx.Action(http.MethodPost, PathPrefix+"{account}/", "receiveStripeEvent", "Stripe webhook of one account (verified with its signing secret)", "Stripe")
	receive.SkipValidateBody = true // the raw bytes are what the signature covers
	return []httpx.Route{
		httpx.Handle(httpx.Op(http.MethodGet, "/api/stripe-settings/", "getStripeSettings", "The account's Stripe webhook path, and whether its signing secret is set", "Stripe"), "stripe_settings", "read", h.get),
		httpx.Handle(httpx.Action(http.MethodPut, "/api/stripe-settings/", "setStripeSettings", "Set the account's Stripe signing secret (write-only); returns the webhook path", "Stripe"), "stripe_settings", "update", h.put),
		httpx.Handle(httpx.Action(http.MethodPatch, "/api/stripe-settings/", "updateStripeSettings", "Set the account's Stripe signing secret (write-only); returns the webhook path", "Stripe"), "stripe_settings", "update", h.put),
		httpx.Public(receive, h.receive),
	}
}

func (h handler) get(ctx context.Context, _ *struct{}) (*settingsOutput, error) {
	v, err := h.svc.GetSettings(ctx)
	return &settingsOutput{v}, err
}

func (h handler) put(ctx context.Context, in *settingsInput) (*settingsOutput, error) {
	v, err := h.svc.PutSettings(ctx, in.Body.SettingsInput)
	return &settingsOutput{v}, err
}

func (h handler) receive(ctx context.Context, in *receiveInput) (*receiptOutput, error) {
	r, err := h.svc.Receive(ctx, in.Account, in.Signature, in.RawBody)
	return &receiptOutput{r}, err
}
