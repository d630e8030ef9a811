package audit

import (
	"context"
	"net/http"

	"crm/platform/httpx"
)

type handler struct{ svc *Service }

type listInput struct {
	httpx.ListParams
	Actor      int64  `query:"actor" minimum:"1" doc:"Employee id of the actor."`
	ObjectType string `query:"object_type" maxLength:"50" doc:"employee, account, client, payment, ..."`
	ObjectID   int64  `query:"object_id" minimum:"1" doc:"Id of the object (with object_type)."`
	Action     string `query:"action" maxLength:"50" doc:"create, update, delete, deactivate, role_change, permission_change, password_change, login, login_failed, logout, ..."`
	Since      string `query:"since" maxLength:"64" doc:"Events at or after this RFC 3339 time."`
	Until      string `query:"until" maxLength:"64" doc:"Events at or before this RFC 3339 time."`
}

func routes(svc *Service) []httpx.Route {
	h := handler{svc}
	const tag = "Audit"
	return []httpx.Route{
		httpx.Handle(httpx.Op(http.MethodGet, "/api/audit-events/", "listAuditEvents", "The account's audit log, newest first (admins). Ordering: at, id, action, object_type, object_id, actor.", tag), "audit_events", "read", h.list),
		httpx.Handle(httpx.Op(http.MethodGet, "/api/audit-events/{id}/", "getAuditEvent", "One audit event (admins)", tag), "audit_events", "read", httpx.Get(svc.Get)),
	}
}

func (h handler) list(ctx context.Context, in *listInput) (*httpx.PageOutput[EventView], error) {
	r, err := h.svc.List(ctx, Filter{Actor: in.Actor, ObjectType: in.ObjectType, ObjectID: in.ObjectID, Action: in.Action,
		Since: in.Since, Until: in.Until}, in.Request())
	return httpx.Paged(&in.ListParams, r, err)
}
