package billing

import (
	"context"
	"net/http"

	"crm/platform/httpx"

	"github.com/uptrace/bun"
)

type handler struct{ svc *Service }

// PaymentFilterParams are the payment list's filters, shared with the
// statistics.
type PaymentFilterParams struct {
	Client   int64  `query:"client" doc:"Client id."`
	Status   string `query:"status" enum:"paid,failed,refunded,disputed," doc:"paid, failed, refunded or disputed."`
	Currency string `query:"currency" maxLength:"3" doc:"ISO 4217 code (any case)."`
}

func (f PaymentFilterParams) filter() PaymentFilter {
	return PaymentFilter{Client: f.Client, Status: f.Status, Currency: f.Currency}
}

type listPaymentsInput struct {
	httpx.ListParams
	PaymentFilterParams
}

type statisticsInput struct{ PaymentFilterParams }

type statisticsOutput struct{ Body *Statistics }

type listInstalmentsInput struct {
	httpx.ListParams
	Client        int64  `query:"client" doc:"Client id."`
	ClientPackage int64  `query:"client_package" doc:"Client package id."`
	Status        string `query:"status" enum:"open,paid,failed,closed," doc:"open, paid, failed or closed."`
}

type listStripeCustomersInput struct {
	httpx.ListParams
	Client int64  `query:"client" doc:"Client id."`
	Status string `query:"status" enum:"active,inactive," doc:"active or inactive."`
}

const visibility = "Admins read every row of the account; an employee those of the clients they can read (assigned to them, or all with view_all_clients). "

func routes(svc *Service, d *bun.DB) []httpx.Route {
	h := handler{svc}
	op := httpx.Op
	const pay, ins, sc = "payments", "instalments", "stripe_customers"

	listPayments := op(http.MethodGet, "/api/payments/", "listPayments", "List the payments of the clients the caller can read", "Payments")
	listPayments.Description = visibility + "Ordering: id, client, amount, currency, status, payment_date, created_at, updated_at; default -payment_date."
	stats := op(http.MethodGet, "/api/payments/statistics/", "paymentStatistics", "Count and sum the payments the caller can read (the list's filters apply)", "Payments")
	stats.Description = "Exact sums as two-place strings, overall (the seed's shape) and per currency. " + visibility
	updatePayment := op(http.MethodPatch, "/api/payments/{id}/", "updatePayment", "Change a payment's status", "Payments")
	updatePayment.Description = "A payment is a financial record: only its status changes; another value for any other field is 403. A payment is never deleted (DELETE is 405)."
	listInstalments := op(http.MethodGet, "/api/installments/", "listInstallments", "List the instalments of the clients the caller can read", "Installments")
	listInstalments.Description = visibility + "Ordering: id, client, client_package, amount, currency, schedule_date, status, instalment_number, created_at, updated_at; default schedule_date."
	listCustomers := op(http.MethodGet, "/api/stripe-customers/", "listStripeCustomers", "List the Stripe customers of the clients the caller can read", "Stripe customers")
	listCustomers.Description = visibility + "Ordering: id, client, stripe_customer_id, email, status, created_at, updated_at; default -created_at."

	return []httpx.Route{
		httpx.Handle(listPayments, pay, "read", h.listPayments),
		httpx.HandleIdempotent(d, op(http.MethodPost, "/api/payments/", "createPayment", "Record a payment", "Payments"), pay, "create", httpx.Create(svc.CreatePayment)),
		httpx.Handle(stats, pay, "read", h.paymentStatistics),
		httpx.Handle(op(http.MethodGet, "/api/payments/{id}/", "getPayment", "Get a payment", "Payments"), pay, "read", httpx.Get(svc.GetPayment)),
		httpx.Handle(updatePayment, pay, "update", httpx.Change(svc.UpdatePayment)),

		httpx.Handle(listInstalments, ins, "read", h.listInstalments),
		httpx.HandleIdempotent(d, op(http.MethodPost, "/api/installments/", "createInstallment", "Schedule an instalment", "Installments"), ins, "create", httpx.Create(svc.CreateInstalment)),
		httpx.Handle(op(http.MethodGet, "/api/installments/{id}/", "getInstallment", "Get an instalment", "Installments"), ins, "read", httpx.Get(svc.GetInstalment)),
		httpx.Handle(op(http.MethodPatch, "/api/installments/{id}/", "updateInstallment", "Update an instalment (the fields sent only)", "Installments"), ins, "update", httpx.Patch(svc.UpdateInstalment)),
		httpx.Handle(op(http.MethodPut, "/api/installments/{id}/", "replaceInstallment", "Replace an instalment", "Installments"), ins, "update", httpx.Put(svc.UpdateInstalment)),
		httpx.Handle(op(http.MethodDelete, "/api/installments/{id}/", "deleteInstallment", "Delete an instalment", "Installments"), ins, "delete", httpx.Delete(svc.DeleteInstalment)),

		httpx.Handle(listCustomers, sc, "read", h.listStripeCustomers),
		httpx.HandleIdempotent(d, op(http.MethodPost, "/api/stripe-customers/", "createStripeCustomer", "Link a client to a Stripe customer", "Stripe customers"), sc, "create", httpx.Create(svc.CreateStripeCustomer)),
		httpx.Handle(op(http.MethodGet, "/api/stripe-customers/{id}/", "getStripeCustomer", "Get a Stripe customer", "Stripe customers"), sc, "read", httpx.Get(svc.GetStripeCustomer)),
		httpx.Handle(op(http.MethodPatch, "/api/stripe-customers/{id}/", "updateStripeCustomer", "Update a Stripe customer (the fields sent only)", "Stripe customers"), sc, "update", httpx.Patch(svc.UpdateStripeCustomer)),
		httpx.Handle(op(http.MethodPut, "/api/stripe-customers/{id}/", "replaceStripeCustomer", "Replace a Stripe customer", "Stripe customers"), sc, "update", httpx.Put(svc.UpdateStripeCustomer)),
		httpx.Handle(op(http.MethodDelete, "/api/stripe-customers/{id}/", "deleteStripeCustomer", "Delete a Stripe customer", "Stripe customers"), sc, "delete", httpx.Delete(svc.DeleteStripeCustomer)),
	}
}

func (h handler) listPayments(ctx context.Context, in *listPaymentsInput) (*httpx.PageOutput[Payment], error) {
	r, err := h.svc.ListPayments(ctx, in.filter(), in.Request())
	return httpx.Paged(&in.ListParams, r, err)
}

func (h handler) paymentStatistics(ctx context.Context, in *statisticsInput) (*statisticsOutput, error) {
	st, err := h.svc.PaymentStatistics(ctx, in.filter())
	return &statisticsOutput{st}, err
}

func (h handler) listInstalments(ctx context.Context, in *listInstalmentsInput) (*httpx.PageOutput[Instalment], error) {
	r, err := h.svc.ListInstalments(ctx, InstalmentFilter{Client: in.Client, ClientPackage: in.ClientPackage, Status: in.Status}, in.Request())
	return httpx.Paged(&in.ListParams, r, err)
}

func (h handler) listStripeCustomers(ctx context.Context, in *listStripeCustomersInput) (*httpx.PageOutput[StripeCustomer], error) {
	r, err := h.svc.ListStripeCustomers(ctx, StripeCustomerFilter{Client: in.Client, Status: in.Status}, in.Request())
	return httpx.Paged(&in.ListParams, r, err)
}
