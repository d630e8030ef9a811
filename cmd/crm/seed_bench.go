package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"crm/cmd/crm/benchdata"
	"crm/modules/identity"
	"crm/platform/boot"

	"github.com/uptrace/bun"
	"go.uber.org/fx"
)

const seedBenchUsage = "usage: crm seed bench [--clients N] [--payments-per-client P] [--employees E] [--seed S]"

// seedBench loads the standard benchmark dataset (shared/DATASET.md),
// replacing an earlier one.
func seedBench(args []string, stdout io.Writer) error {
	std := benchdata.Standard()
	fs := flag.NewFlagSet("seed bench", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	p := benchdata.Params{}
	fs.IntVar(&p.Clients, "clients", std.Clients, "clients of Bench Co (N)")
	fs.IntVar(&p.PaymentsPerClient, "payments-per-client", std.PaymentsPerClient, "payments of each client (P)")
	fs.IntVar(&p.Employees, "employees", std.Employees, "employees of Bench Co besides its super_admin (E)")
	fs.IntVar(&p.Seed, "seed", std.Seed, "shift of the name lists (S)")
	fs.Usage = func() { fmt.Fprintln(os.Stderr, seedBenchUsage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s", seedBenchUsage)
	}
	if err := p.Validate(); err != nil {
		return err
	}
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	var d *bun.DB
	var hasher *identity.Hasher
	if _, err := newApp(cfg, boot.Command, fx.Populate(&d, &hasher)); err != nil {
		return err
	}
	defer d.Close()
	// One hash for every login: hashing 71 passwords would take longer than
	// the load.
	hash, err := hasher.Hash(benchdata.Password)
	if err != nil {
		return err
	}
	rep, err := benchdata.Load(context.Background(), d, hash, p, os.Stderr)
	if err != nil {
		return err
	}
	printBenchReport(stdout, rep)
	return nil
}

func printBenchReport(w io.Writer, rep *benchdata.Report) {
	p := rep.Params
	fmt.Fprintf(w, "bench dataset loaded: N=%d P=%d E=%d S=%d in %s (+ %s planner statistics)\n",
		p.Clients, p.PaymentsPerClient, p.Employees, p.Seed, rep.Load.Round(time.Millisecond), rep.Analyze.Round(time.Millisecond))
	tables := make([]string, 0, len(rep.Rows))
	for t := range rep.Rows {
		tables = append(tables, t)
	}
	sort.Strings(tables)
	for _, t := range tables {
		fmt.Fprintf(w, "  %-16s %d rows\n", t, rep.Rows[t])
	}
	for _, name := range rep.Retired {
		fmt.Fprintf(w, "  kept as %q: its audit trail cannot be deleted\n", name)
	}
	fmt.Fprintf(w, "logins: bench@example.com (super_admin), emp1..emp%d@bench.example.com, other1..other%d@example.com; password %s\n",
		p.Employees, benchdata.OtherAccounts, benchdata.Password)
}
