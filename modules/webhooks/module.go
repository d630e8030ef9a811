package webhooks

import (
	"context"
	"log/slog"

	"crm/migrations"
	"crm/platform/boot"
	"crm/platform/config"
	"crm/platform/db"
	"crm/platform/httpx"
	"crm/platform/journal"

	"go.uber.org/fx"
)

// Module is webhooks out: endpoints, the outbox sink, the delivery worker
// (run by `crm serve`, never built by the other commands) and the delivery
// log.
var Module = fx.Module("webhooks",
	fx.Provide(
		fx.Private,
		func(cfg config.Config) *guard { return newGuard(cfg.WebhooksAllowPrivate) },
		newOverdueScanner,
	),
	fx.Provide(
		func(cfg config.Config) *Sink { return NewSink(cfg.WebhooksRetryFor) },
		NewService,
		newWorker,
	),
	journal.AsSink(func(s *Sink) *Sink { return s }),
	httpx.AsRoutes(routes),
	boot.AsMigrations("webhooks", migrations.For("webhooks")),
	boot.AsWorker(deliveryWorker),
)

// OptionsFrom reads the worker's options from the configuration.
func OptionsFrom(cfg config.Config) WorkerOptions {
	return WorkerOptions{PollInterval: cfg.WebhooksPollInterval, RetryBase: cfg.WebhooksRetryBase, RetryMax: cfg.WebhooksRetryMax,
		Timeout: cfg.WebhooksTimeout, AllowPrivate: cfg.WebhooksAllowPrivate, OverdueScan: cfg.WebhooksOverdueScan}
}

func newWorker(d db.Owner, log *slog.Logger, cfg config.Config, s *overdueScanner) *Worker {
	return NewWorker(d, log, OptionsFrom(cfg), s)
}

// deliveryWorker runs the worker while the server runs, unless
// CRM_WEBHOOKS_DELIVERY is off (another process delivers).
func deliveryWorker(w *Worker, cfg config.Config, log *slog.Logger) fx.Hook {
	if !cfg.WebhooksDelivery {
		return fx.Hook{}
	}
	return fx.Hook{
		OnStart: func(context.Context) error {
			w.Start()
			log.Info("webhooks: delivery worker started")
			return nil
		},
		OnStop: func(ctx context.Context) error { return w.Stop(ctx) },
	}
}
