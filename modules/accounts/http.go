package accounts

import (
	"context"
	"net/http"

	"crm/platform/httpx"
)

type handler struct{ svc *Service }

type listInput struct {
	httpx.ListParams
}

type idInput struct {
	ID int64 `path:"id" doc:"Account id"`
}

type accountOutput struct{ Body *Account }

type updateInput struct {
	ID   int64 `path:"id"`
	Body struct {
		Name *string `json:"name,omitempty" maxLength:"150" doc:"Account name"`
	}
}

func routes(svc *Service) []httpx.Route {
	h := handler{svc}
	return []httpx.Route{
		httpx.Handle(httpx.Op(http.MethodGet, "/api/accounts/", "listAccounts", "The caller's own account (a list of one)", "Accounts"), "accounts", "read", h.list),
		httpx.Handle(httpx.Op(http.MethodGet, "/api/accounts/{id}/", "getAccount", "The caller's account", "Accounts"), "accounts", "read", h.get),
		httpx.Handle(httpx.Op(http.MethodPatch, "/api/accounts/{id}/", "updateAccount", "Rename the account (super_admin)", "Accounts"), "accounts", "update", h.update),
		httpx.Handle(httpx.Op(http.MethodPut, "/api/accounts/{id}/", "replaceAccount", "Rename the account (super_admin)", "Accounts"), "accounts", "update", h.update),
	}
}

func (h handler) list(ctx context.Context, in *listInput) (*httpx.PageOutput[Account], error) {
	r, err := h.svc.List(ctx, in.Request())
	return httpx.Paged(&in.ListParams, r, err)
}

func (h handler) get(ctx context.Context, in *idInput) (*accountOutput, error) {
	a, err := h.svc.Get(ctx, in.ID)
	return &accountOutput{a}, err
}

func (h handler) update(ctx context.Context, in *updateInput) (*accountOutput, error) {
	a, err := h.svc.Update(ctx, in.ID, in.Body.Name)
	return &accountOutput{a}, err
}
