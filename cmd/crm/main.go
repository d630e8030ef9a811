// Command crm is the CRM API: its server and its administration commands.
// This file is the one place that lists the modules.
package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"crm/cmd/crm/bindings"
	"crm/modules/accounts"
	"crm/modules/audit"
	"crm/modules/billing"
	"crm/modules/catalog"
	"crm/modules/clients"
	"crm/modules/identity"
	"crm/modules/stripe"
	"crm/modules/webhooks"
	"crm/platform/authz"
	"crm/platform/boot"
	"crm/platform/config"
	"crm/platform/db"
	"crm/platform/emailaddr"
	"crm/platform/httpx"
	"crm/policies"

	"github.com/uptrace/bun"
	"go.uber.org/dig"
	"go.uber.org/fx"
)

// version is set at build time (-ldflags "-X main.version=v1.2.3").
var version = ""

func appVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// Modules are the business capabilities of the API, and the interfaces
// bound between them (package bindings).
func Modules() fx.Option {
	return fx.Options(
		accounts.Module,
		identity.Module,
		audit.Module,
		clients.Module,
		webhooks.Module,
		catalog.Module,
		billing.Module,
		stripe.Module,
		bindings.All,
	)
}

const usage = `crm: the CRM API

Commands:
  crm serve [--demo]        run the API (migrates the database first; --demo: on an
                            empty database, seed the demo account and print its logins)
  crm migrate [--unlock]    apply pending migrations (--unlock: clear a stale lock)
  crm accounts create --name NAME --email EMAIL [--password PW]
                            create an account and its super_admin
                            (the password is read from standard input when absent)
  crm policy check [DIR]    validate policy files (the embedded ones without DIR)
  crm seed demo [--password PW]
                            create the demo account (employees, clients, packages,
                            payments, instalments) and print its logins
  crm openapi [--yaml]      print the OpenAPI document (for Postman, Insomnia, linters)
  crm seed bench [--clients N] [--payments-per-client P] [--employees E] [--seed S]
                            load the benchmark dataset (docs/benchmarks.md)
  crm version               print the version

Configuration is read from the environment; see README.md.
`

func main() {
	err := run(os.Args[1:], os.Stdin, os.Stdout)
	if err == nil {
		return
	}
	// A setting crm cannot run with is one line naming it, and exit 2,
	// wherever it was found; any other failure is exit 1.
	var ce *config.Error
	if errors.As(err, &ce) {
		fmt.Fprintln(os.Stderr, "crm:", ce)
		os.Exit(2)
	}
	fmt.Fprintln(os.Stderr, "crm:", err)
	os.Exit(1)
}

func run(args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stdout, usage)
		return nil
	}
	switch args[0] {
	case "serve":
		return serve(args[1:])
	case "migrate":
		return migrate(args[1:])
	case "accounts":
		if len(args) < 2 || args[1] != "create" {
			return errors.New("usage: crm accounts create --name NAME --email EMAIL [--password PW]")
		}
		return createAccount(args[2:], stdin, stdout)
	case "policy":
		if len(args) < 2 || args[1] != "check" {
			return errors.New("usage: crm policy check [DIR]")
		}
		return policyCheck(args[2:], stdout)
	case "openapi":
		return printOpenAPI(args[1:], stdout)
	case "seed":
		if len(args) >= 2 && args[1] == "bench" {
			return seedBench(args[2:], stdout)
		}
		if len(args) >= 2 && args[1] == "demo" {
			return seedDemoCommand(args[2:], stdout)
		}
		return errors.New(seedBenchUsage + "\n" + seedDemoUsage)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, appVersion())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n\n%s", args[0], usage)
}

// loadConfig reads the configuration of the commands other than serve:
// they run as the database's owner (migrations, accounts, seeds cross
// accounts), without the app role that row-level security guards.
// CRM_DB_OWNER_URL stays set, so an error of that URL names it.
func loadConfig() (config.Config, error) {
	cfg, err := config.Load()
	cfg.DatabaseURL = cmp.Or(cfg.DBOwnerURL, cfg.DatabaseURL)
	cfg.DBAppRole = ""
	return cfg, err
}

// newApp builds the Fx app of the platform and every module, with what the
// command adds: boot.Serve for serve, boot.Command for the others, and what
// it populates or invokes. Fx builds only what these reach. Its error is
// the one a constructor returned (a config.Error for a setting), not Fx's
// account of the graph.
func newApp(cfg config.Config, extra ...fx.Option) (*fx.App, error) {
	opts := []fx.Option{
		fx.Supply(cfg, boot.Version(appVersion())),
		boot.Module,
		Modules(),
		fx.NopLogger,
		fx.StopTimeout(cfg.ShutdownTimeout + time.Second),
	}
	app := fx.New(append(opts, extra...)...)
	if err := app.Err(); err != nil {
		return nil, dig.RootCause(err)
	}
	return app, nil
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	demo := fs.Bool("demo", false, "on an empty database, seed the demo account and print its logins")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load() // serves as the app role (CRM_DB_APP_ROLE)
	if err != nil {
		return err
	}
	// Heard from the start: a signal while the demo is seeded or its
	// logins are printed stops the server cleanly, not by default action.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	var d db.Owner // every account counts, not the ones row-level security shows
	var srv *httpx.Server
	var acc *accounts.Service
	app, err := newApp(cfg, boot.Serve, fx.Populate(&d, &srv, &acc))
	if err != nil {
		return err
	}
	startCtx, cancel := context.WithTimeout(context.Background(), app.StartTimeout())
	defer cancel()
	if err := app.Start(startCtx); err != nil {
		return err
	}
	if *demo {
		if err := seedDemoIfEmpty(context.Background(), d, srv, acc, cfg, os.Stdout); err != nil {
			_ = stop(app)
			return err
		}
	}
	select {
	case <-sig:
	case <-app.Wait():
	}
	return stop(app)
}

func stop(app *fx.App) error {
	ctx, cancel := context.WithTimeout(context.Background(), app.StopTimeout())
	defer cancel()
	return app.Stop(ctx)
}

func migrate(args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	unlock := fs.Bool("unlock", false, "clear a lock left by a migrator that died")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	cfg.AutoMigrate = false
	var d *bun.DB
	var sets []db.Migrations
	var log *slog.Logger
	if _, err := newApp(cfg, boot.Command, fx.Populate(&log), fx.Invoke(fx.Annotate(func(x db.Owner, m []db.Migrations) { d, sets = x.DB, m }, fx.ParamTags(``, `group:"migrations"`)))); err != nil {
		return err
	}
	defer d.Close()
	ctx := context.Background()
	if *unlock {
		return db.Unlock(ctx, d, sets)
	}
	if err := db.Migrate(ctx, d, sets, log); err != nil {
		return err
	}
	fmt.Println("database is up to date")
	return nil
}

func createAccount(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("accounts create", flag.ContinueOnError)
	name := fs.String("name", "", "account name")
	email := fs.String("email", "", "email of the super_admin")
	password := fs.String("password", "", "password of the super_admin (read from standard input when absent)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *name == "" || *email == "" {
		return errors.New("usage: crm accounts create --name NAME --email EMAIL [--password PW]")
	}
	pw := *password
	if pw == "" {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && line == "" {
			return errors.New("no password given: pass --password or write it on standard input")
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	var d *bun.DB
	var svc *accounts.Service
	if _, err := newApp(cfg, boot.Command, fx.Populate(&d, &svc)); err != nil {
		return err
	}
	defer d.Close()
	acc, owner, err := svc.CreateWithOwner(context.Background(), *name, *email, pw)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d\n", acc.ID)
	fmt.Fprintf(os.Stderr, "account %d %q created with super_admin %s (employee %d)\n", acc.ID, acc.Name, emailaddr.Normalize(*email), owner)
	return nil
}

func policyCheck(args []string, stdout io.Writer) error {
	if len(args) > 1 {
		return errors.New("usage: crm policy check [DIR]")
	}
	var err error
	where := "embedded policy"
	if len(args) == 1 {
		where = args[0]
		err = authz.Check(os.DirFS(args[0]))
	} else {
		err = authz.Check(policies.FS)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	fmt.Fprintf(stdout, "%s: ok\n", where)
	return nil
}
