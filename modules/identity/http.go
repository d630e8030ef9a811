package identity

import (
	"context"
	"net/http"

	"crm/platform/httpx"
)

type handler struct{ svc *Service }

type loginInput struct {
	Body struct {
		Email    string `json:"email" maxLength:"254" example:"admin@example.com"`
		Password string `json:"password" maxLength:"256" example:"a-secure-password"`
	}
}

type loginOutput struct{ Body *LoginResult }

type detailOutput struct {
	Body struct {
		Detail string `json:"detail"`
	}
}

func detail(s string) *detailOutput {
	o := &detailOutput{}
	o.Body.Detail = s
	return o
}

type meOutput struct{ Body *Me }

type listInput struct {
	httpx.ListParams
	Role   string `query:"role" maxLength:"50" doc:"Filter by role: super_admin, admin or employee."`
	Status string `query:"status" enum:"active,inactive," doc:"active or inactive."`
	Search string `query:"search" maxLength:"200" doc:"Case-insensitive substring of the name or email."`
}

type createBody struct {
	Name        string   `json:"name" maxLength:"150" example:"Jane Smith"`
	Email       string   `json:"email" maxLength:"254" example:"jane@example.com"`
	Password    string   `json:"password" maxLength:"256" example:"secure-password"`
	Role        string   `json:"role,omitempty" doc:"super_admin, admin or employee (default)." example:"employee"`
	JobRole     string   `json:"job_role,omitempty" maxLength:"150" example:"Sales Manager"`
	PhoneNumber string   `json:"phone_number,omitempty" maxLength:"50" example:"+1234567890"`
	IsActive    *bool    `json:"is_active,omitempty"`
	Permissions []string `json:"permissions,omitempty" maxItems:"50"`
}

type createInput struct{ Body createBody }

// updateBody is the update body (named: huma's schema names are global).
type updateBody struct{ UpdateInput }

type updateInput struct {
	ID   int64 `path:"id"`
	Body updateBody
}

type changePasswordInput struct {
	ID   int64 `path:"id"`
	Body struct {
		OldPassword *string `json:"old_password,omitempty" maxLength:"256" doc:"Required when changing one's own password."`
		NewPassword string  `json:"new_password" maxLength:"256"`
	}
}

type permissionsInput struct {
	ID   int64 `path:"id"`
	Body struct {
		Permissions []string `json:"permissions" maxItems:"50" example:"[\"view_all_clients\",\"manage_all_clients\"]"`
	}
}

func routes(svc *Service) []httpx.Route {
	h := handler{svc}
	op := httpx.Op
	return []httpx.Route{
		httpx.Public(httpx.Action(http.MethodPost, "/api/auth/login/", "login", "Sign in: a token and the user", "Auth"), h.login),
		httpx.Handle(httpx.Action(http.MethodPost, "/api/auth/logout/", "logout", "Revoke the token of this request", "Auth"), "session", "delete", h.logout),
		httpx.Handle(op(http.MethodGet, "/api/auth/me/", "me", "The signed-in employee and their effective permissions", "Auth"), "session", "read", h.me),

		httpx.Handle(op(http.MethodGet, "/api/employees/", "listEmployees", "List the account's employees", "Employees"), "employees", "read", h.list),
		httpx.Handle(op(http.MethodPost, "/api/employees/", "createEmployee", "Create an employee", "Employees"), "employees", "create", h.create),
		httpx.Handle(op(http.MethodGet, "/api/employees/{id}/", "getEmployee", "Get an employee", "Employees"), "employees", "read", httpx.Get(svc.Get)),
		httpx.Handle(op(http.MethodPatch, "/api/employees/{id}/", "updateEmployee", "Update an employee (fields sent only)", "Employees"), "employees", "update", h.update),
		httpx.Handle(op(http.MethodPut, "/api/employees/{id}/", "replaceEmployee", "Update an employee", "Employees"), "employees", "update", h.update),
		httpx.Handle(op(http.MethodDelete, "/api/employees/{id}/", "deleteEmployee", "Deactivate an employee (references stay)", "Employees"), "employees", "delete", httpx.Delete(svc.Deactivate)),
		httpx.Handle(httpx.Action(http.MethodPost, "/api/employees/{id}/change_password/", "changePassword", "Change a password", "Employees"), "employees", "change_password", h.changePassword),
		httpx.Handle(httpx.Action(http.MethodPost, "/api/employees/{id}/update_permissions/", "updatePermissions", "Replace an employee's granular permissions", "Employees"), "employees", "update_permissions", h.updatePermissions),
	}
}

func (h handler) login(ctx context.Context, in *loginInput) (*loginOutput, error) {
	r, err := h.svc.Login(ctx, in.Body.Email, in.Body.Password)
	if err != nil {
		return nil, err
	}
	return &loginOutput{r}, nil
}

func (h handler) logout(ctx context.Context, _ *struct{}) (*detailOutput, error) {
	if err := h.svc.Logout(ctx); err != nil {
		return nil, err
	}
	return detail("Logged out."), nil
}

func (h handler) me(ctx context.Context, _ *struct{}) (*meOutput, error) {
	m, err := h.svc.Me(ctx)
	return &meOutput{m}, err
}

func (h handler) list(ctx context.Context, in *listInput) (*httpx.PageOutput[EmployeeView], error) {
	r, err := h.svc.List(ctx, ListFilter{Role: in.Role, Status: in.Status, Search: in.Search}, in.Request())
	return httpx.Paged(&in.ListParams, r, err)
}

func (h handler) create(ctx context.Context, in *createInput) (*httpx.One[*EmployeeView], error) {
	b := in.Body
	e, err := h.svc.Create(ctx, CreateInput{Name: b.Name, Email: b.Email, Password: b.Password, Role: b.Role, JobRole: b.JobRole,
		PhoneNumber: b.PhoneNumber, IsActive: b.IsActive, Permissions: b.Permissions})
	return httpx.Reply(e, err)
}

func (h handler) update(ctx context.Context, in *updateInput) (*httpx.One[*EmployeeView], error) {
	return httpx.Reply(h.svc.Update(ctx, in.ID, in.Body.UpdateInput))
}

func (h handler) changePassword(ctx context.Context, in *changePasswordInput) (*detailOutput, error) {
	if err := h.svc.ChangePassword(ctx, in.ID, in.Body.OldPassword, in.Body.NewPassword); err != nil {
		return nil, err
	}
	return detail("Password changed."), nil
}

func (h handler) updatePermissions(ctx context.Context, in *permissionsInput) (*httpx.One[*EmployeeView], error) {
	return httpx.Reply(h.svc.UpdatePermissions(ctx, in.ID, in.Body.Permissions))
}
