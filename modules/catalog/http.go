package catalog

import (
	"context"
	"net/http"

	"crm/platform/httpx"

	"github.com/uptrace/bun"
)

type handler struct{ svc *Service }

type listPackagesInput struct {
	httpx.ListParams
	Search string `query:"search" maxLength:"200" doc:"Case-insensitive substring of the package name."`
}

type listClientPackagesInput struct {
	httpx.ListParams
	Client          int64  `query:"client" doc:"Client id."`
	Package         int64  `query:"package" doc:"Package id."`
	Status          string `query:"status" enum:"active,inactive," doc:"active or inactive."`
	PaymentSchedule string `query:"payment_schedule" enum:"PIF,Monthly,Quarterly,Yearly," doc:"PIF, Monthly, Quarterly or Yearly."`
}

func routes(svc *Service, d *bun.DB) []httpx.Route {
	h := handler{svc}
	op := httpx.Op
	const pk, cp = "packages", "client_packages"
	listPackages := op(http.MethodGet, "/api/packages/", "listPackages", "List the account's packages", "Packages")
	listPackages.Description = "Everybody in the account. Ordering: id, package_name, created_at, updated_at; default package_name."
	listCP := op(http.MethodGet, "/api/client-packages/", "listClientPackages", "List the client packages of the clients the caller can read", "Client packages")
	listCP.Description = "Admins read every client package of the account; an employee those of the clients they can read. " +
		"Ordering: id, client, package, custom_price, monthly_payment_amount, payment_schedule, start_date, end_date, status, created_at, updated_at; default -created_at."
	return []httpx.Route{
		httpx.Handle(listPackages, pk, "read", h.listPackages),
		httpx.HandleIdempotent(d, op(http.MethodPost, "/api/packages/", "createPackage", "Create a package", "Packages"), pk, "create", httpx.Create(svc.CreatePackage)),
		httpx.Handle(op(http.MethodGet, "/api/packages/{id}/", "getPackage", "Get a package", "Packages"), pk, "read", httpx.Get(svc.GetPackage)),
		httpx.Handle(op(http.MethodPatch, "/api/packages/{id}/", "updatePackage", "Update a package (the fields sent only)", "Packages"), pk, "update", httpx.Patch(svc.UpdatePackage)),
		httpx.Handle(op(http.MethodPut, "/api/packages/{id}/", "replacePackage", "Replace a package", "Packages"), pk, "update", httpx.Put(svc.UpdatePackage)),
		httpx.Handle(op(http.MethodDelete, "/api/packages/{id}/", "deletePackage", "Delete a package (409 while client packages use it)", "Packages"), pk, "delete", httpx.Delete(svc.DeletePackage)),

		httpx.Handle(listCP, cp, "read", h.listClientPackages),
		httpx.HandleIdempotent(d, op(http.MethodPost, "/api/client-packages/", "createClientPackage", "Sell a package to a client", "Client packages"), cp, "create", httpx.Create(svc.CreateClientPackage)),
		httpx.Handle(op(http.MethodGet, "/api/client-packages/{id}/", "getClientPackage", "Get a client package", "Client packages"), cp, "read", httpx.Get(svc.GetClientPackage)),
		httpx.Handle(op(http.MethodPatch, "/api/client-packages/{id}/", "updateClientPackage", "Update a client package (the fields sent only)", "Client packages"), cp, "update", httpx.Patch(svc.UpdateClientPackage)),
		httpx.Handle(op(http.MethodPut, "/api/client-packages/{id}/", "replaceClientPackage", "Replace a client package", "Client packages"), cp, "update", httpx.Put(svc.UpdateClientPackage)),
		httpx.Handle(op(http.MethodDelete, "/api/client-packages/{id}/", "deleteClientPackage", "Delete a client package (409 while instalments refer to it)", "Client packages"), cp, "delete", httpx.Delete(svc.DeleteClientPackage)),
	}
}

func (h handler) listPackages(ctx context.Context, in *listPackagesInput) (*httpx.PageOutput[Package], error) {
	r, err := h.svc.ListPackages(ctx, in.Search, in.Request())
	return httpx.Paged(&in.ListParams, r, err)
}

func (h handler) listClientPackages(ctx context.Context, in *listClientPackagesInput) (*httpx.PageOutput[ClientPackage], error) {
	f := ClientPackageFilter{Client: in.Client, Package: in.Package, Status: in.Status, PaymentSchedule: in.PaymentSchedule}
	r, err := h.svc.ListClientPackages(ctx, f, in.Request())
	return httpx.Paged(&in.ListParams, r, err)
}
