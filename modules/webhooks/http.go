package webhooks

import (
	"context"
	"net/http"

	"crm/platform/field"
	"crm/platform/httpx"
)

type handler struct{ svc *Service }

// webhookEndpointCreate is the create body (named: huma's schema names are global).
type webhookEndpointCreate struct {
	URL         string                 `json:"url" maxLength:"2000" example:"https://hooks.example.com/crm"`
	EventTypes  []string               `json:"event_types" maxItems:"50" example:"[\"client.created\",\"payment.recorded\"]" doc:"Event types to receive, or [\"*\"] for all."`
	Enabled     field.Nullable[bool]   `json:"enabled,omitempty" nullable:"false" doc:"Default true."`
	Description field.Nullable[string] `json:"description,omitempty" maxLength:"10000" nullable:"false"`
}

type createInput struct{ Body webhookEndpointCreate }

// webhookEndpointUpdate is the update body: the fields sent change.
type webhookEndpointUpdate struct{ EndpointInput }

type updateInput struct {
	ID   int64 `path:"id" doc:"Endpoint id"`
	Body webhookEndpointUpdate
}

type deliveriesInput struct {
	httpx.ListParams
	ID        int64  `path:"id" doc:"Endpoint id"`
	Status    string `query:"status" enum:"pending,succeeded,failed," doc:"pending, succeeded or failed."`
	EventType string `query:"event_type" maxLength:"100" doc:"Only this event type."`
}

type redeliverInput struct {
	ID         int64 `path:"id" doc:"Endpoint id"`
	DeliveryID int64 `path:"delivery_id" doc:"Delivery id"`
}

type deliveryOutput struct{ Body *DeliveryView }

const object = "webhook_endpoints"

func routes(svc *Service) []httpx.Route {
	h := handler{svc}
	op := httpx.Op
	return []httpx.Route{
		httpx.Handle(op(http.MethodGet, "/api/webhook-endpoints/", "listWebhookEndpoints", "List the account's webhook endpoints", "Webhooks"), object, "read", httpx.List(svc.List)),
		httpx.Handle(op(http.MethodPost, "/api/webhook-endpoints/", "createWebhookEndpoint", "Register a webhook endpoint (the signing secret is in this response only)", "Webhooks"), object, "create", h.create),
		httpx.Handle(op(http.MethodGet, "/api/webhook-endpoints/{id}/", "getWebhookEndpoint", "Get a webhook endpoint", "Webhooks"), object, "read", httpx.Get(svc.Get)),
		httpx.Handle(op(http.MethodPatch, "/api/webhook-endpoints/{id}/", "updateWebhookEndpoint", "Update a webhook endpoint (fields sent only)", "Webhooks"), object, "update", h.update),
		httpx.Handle(op(http.MethodPut, "/api/webhook-endpoints/{id}/", "replaceWebhookEndpoint", "Update a webhook endpoint", "Webhooks"), object, "update", h.update),
		httpx.Handle(op(http.MethodDelete, "/api/webhook-endpoints/{id}/", "deleteWebhookEndpoint", "Delete a webhook endpoint and its delivery log", "Webhooks"), object, "delete", httpx.Delete(svc.Delete)),
		httpx.Handle(op(http.MethodGet, "/api/webhook-endpoints/{id}/deliveries/", "listWebhookDeliveries", "An endpoint's delivery attempts", "Webhooks"), object, "read", h.deliveries),
		httpx.Handle(httpx.Action(http.MethodPost, "/api/webhook-endpoints/{id}/deliveries/{delivery_id}/redeliver/", "redeliverWebhook", "Send a delivery again now", "Webhooks"), object, "update", h.redeliver),
	}
}

func (h handler) create(ctx context.Context, in *createInput) (*httpx.One[*EndpointView], error) {
	b := in.Body
	return httpx.Reply(h.svc.Create(ctx, EndpointInput{URL: field.Of(b.URL), EventTypes: field.Of(b.EventTypes), Enabled: b.Enabled, Description: b.Description}))
}

func (h handler) update(ctx context.Context, in *updateInput) (*httpx.One[*EndpointView], error) {
	return httpx.Reply(h.svc.Update(ctx, in.ID, in.Body.EndpointInput))
}

func (h handler) deliveries(ctx context.Context, in *deliveriesInput) (*httpx.PageOutput[DeliveryView], error) {
	r, err := h.svc.Deliveries(ctx, in.ID, in.Status, in.EventType, in.Request())
	return httpx.Paged(&in.ListParams, r, err)
}

func (h handler) redeliver(ctx context.Context, in *redeliverInput) (*deliveryOutput, error) {
	d, err := h.svc.Redeliver(ctx, in.ID, in.DeliveryID)
	return &deliveryOutput{d}, err
}
