package accounts

import (
	"context"
	"net/http"

	"crm/platform/httpx"
)

type handler struct{ svc *Service }

type updateInput struct {
	ID   int64 `path:"id"`
	Body struct {
		Name *string `json:"name,omitempty" maxLength:"150" doc:"Account name"`
	}
}

func routes(svc *Service) []httpx.Route {
	h := handler{svc}
	return []httpx.Route{
		httpx.Handle(httpx.Op(http.MethodGet, "/api/accounts/", "listAccounts", "The caller's own account (a list of one)", "Accounts"), "accounts", "read", httpx.List(svc.List)),
		httpx.Handle(httpx.Op(http.MethodGet, "/api/accounts/{id}/", "getAccount", "The caller's account", "Accounts"), "accounts", "read", httpx.Get(svc.Get)),
		httpx.Handle(httpx.Op(http.MethodPatch, "/api/accounts/{id}/", "updateAccount", "Rename the account (super_admin)", "Accounts"), "accounts", "update", h.update),
		httpx.Handle(httpx.Op(http.MethodPut, "/api/accounts/{id}/", "replaceAccount", "Rename the account (super_admin)", "Accounts"), "accounts", "update", h.update),
	}
}

func (h handler) update(ctx context.Context, in *updateInput) (*httpx.One[*Account], error) {
	return httpx.Reply(h.svc.Update(ctx, in.ID, in.Body.Name))
}
