package clients

import (
	"context"
	"net/http"

	"crm/platform/httpx"
)

type handler struct{ svc *Service }

// FilterParams are the list filters (query parameters), shared by the list,
// my_clients and statistics.
type FilterParams struct {
	Status  string `query:"status" enum:"active,inactive,onboarding,paused,cancelled," doc:"active, inactive, onboarding, paused or cancelled."`
	Coach   int64  `query:"coach" doc:"Employee id of the coach."`
	Closer  int64  `query:"closer" doc:"Employee id of the closer."`
	Setter  int64  `query:"setter" doc:"Employee id of the setter."`
	Country string `query:"country" doc:"ISO 3166-1 alpha-2 code (any case)."`
	Search  string `query:"search" maxLength:"200" doc:"Case-insensitive substring of the first name, last name or email; several terms (separated by spaces or commas) must all match. % _ and \\ match themselves."`
}

func (f FilterParams) filter() Filter {
	return Filter{Status: f.Status, Coach: f.Coach, Closer: f.Closer, Setter: f.Setter, Country: f.Country, Search: f.Search}
}

type listInput struct {
	httpx.ListParams
	FilterParams
}

type statisticsInput struct {
	FilterParams
}

type statisticsOutput struct{ Body *ClientStatistics }

const orderingDoc = " Ordering (?ordering=, '-' for descending): id, first_name, last_name, email, status, country, currency, created_at, updated_at; default -created_at."

func routes(svc *Service) []httpx.Route {
	h := handler{svc}
	op := httpx.Op
	list := op(http.MethodGet, "/api/clients/", "listClients", "List the clients the caller can read", "Clients")
	list.Description = "Admins read every client of the account; an employee the clients assigned to them (coach, closer or setter), or all with view_all_clients." + orderingDoc
	mine := op(http.MethodGet, "/api/clients/my_clients/", "myClients", "List the clients assigned to the caller (coach, closer or setter)", "Clients")
	mine.Description = "Any role; the list's filters, ordering and pagination." + orderingDoc
	return []httpx.Route{
		httpx.Handle(list, "clients", "read", h.list),
		httpx.Handle(op(http.MethodPost, "/api/clients/", "createClient", "Create a client", "Clients"), "clients", "create", httpx.Create(svc.Create)),
		httpx.Handle(mine, "clients", "read", h.myClients),
		httpx.Handle(op(http.MethodGet, "/api/clients/statistics/", "clientStatistics", "Count by status the clients the caller can read (the list's filters apply)", "Clients"), "clients", "read", h.statistics),
		httpx.Handle(op(http.MethodGet, "/api/clients/{id}/", "getClient", "Get a client", "Clients"), "clients", "read", httpx.Get(svc.Get)),
		httpx.Handle(op(http.MethodPatch, "/api/clients/{id}/", "updateClient", "Update a client (the fields sent only)", "Clients"), "clients", "update", httpx.Patch(svc.Update)),
		httpx.Handle(op(http.MethodPut, "/api/clients/{id}/", "replaceClient", "Replace a client (absent optional fields take their defaults)", "Clients"), "clients", "update", httpx.Put(svc.Update)),
		httpx.Handle(op(http.MethodDelete, "/api/clients/{id}/", "deleteClient", "Delete a client (409 while billing records reference it)", "Clients"), "clients", "delete", httpx.Delete(svc.Delete)),
	}
}

func (h handler) list(ctx context.Context, in *listInput) (*httpx.PageOutput[Client], error) {
	r, err := h.svc.List(ctx, in.filter(), false, in.Request())
	return httpx.Paged(&in.ListParams, r, err)
}

func (h handler) myClients(ctx context.Context, in *listInput) (*httpx.PageOutput[Client], error) {
	r, err := h.svc.List(ctx, in.filter(), true, in.Request())
	return httpx.Paged(&in.ListParams, r, err)
}

func (h handler) statistics(ctx context.Context, in *statisticsInput) (*statisticsOutput, error) {
	st, err := h.svc.Statistics(ctx, in.filter())
	return &statisticsOutput{st}, err
}
