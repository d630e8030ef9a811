package stripe

import (
	"context"

	stripego "github.com/stripe/stripe-go/v82"
	"github.com/uptrace/bun"
)

func (s *Service) applyCustomer(ctx context.Context, tx bun.IDB, ev *stripego.Event) (result, error) {
	return ignored("not yet"), nil
}

func (s *Service) applyPaymentIntent(ctx context.Context, tx bun.IDB, ev *stripego.Event) (result, error) {
	return ignored("not yet"), nil
}

func (s *Service) applyRefund(ctx context.Context, tx bun.IDB, ev *stripego.Event) (result, error) {
	return ignored("not yet"), nil
}

func (s *Service) applyDispute(ctx context.Context, tx bun.IDB, ev *stripego.Event) (result, error) {
	return ignored("not yet"), nil
}

func (s *Service) applyInvoice(ctx context.Context, tx bun.IDB, ev *stripego.Event) (result, error) {
	return ignored("not yet"), nil
}
