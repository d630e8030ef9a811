// Command crmbench load-tests a running CRM API loaded with the standard
// benchmark dataset (`crm seed bench`). For each scenario it keeps
// --connections requests in flight for --duration and prints requests per
// second, p50 and p99 latency, errors, the server's CPU per request (and
// PostgreSQL's with --db-cpu) and the server's peak memory. See
// docs/benchmarks.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"time"

	"crm/cmd/crmbench/bench"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "crmbench:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("crmbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o bench.Options
	var scenarios string
	var markdown bool
	fs.StringVar(&o.URL, "url", "http://127.0.0.1:8080", "base URL of the API (loopback only)")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "measured time of each scenario")
	fs.DurationVar(&o.Warmup, "warmup", 2*time.Second, "unmeasured load before each scenario")
	fs.IntVar(&o.Connections, "connections", 32, "connections, each with one request in flight")
	fs.StringVar(&scenarios, "scenarios", "", "comma-separated scenarios (default all): "+strings.Join(bench.ScenarioNames(), ", "))
	fs.IntVar(&o.PID, "pid", 0, "process id of the server (default: the process listening on the URL's port)")
	fs.BoolVar(&o.DBCPU, "db-cpu", false, "also measure PostgreSQL's CPU (this machine's postgres processes)")
	fs.StringVar(&o.DBName, "db-name", "", "with --db-cpu: count only the backends of this database")
	fs.BoolVar(&o.ResetPeak, "reset-peak", true, "reset the server's peak RSS (VmHWM) before each scenario, so each shows its own peak, not the logins' (Linux clear_refs)")
	fs.Uint64Var(&o.Seed, "seed", 1, "seed of the random client ids")
	fs.DurationVar(&o.Timeout, "timeout", 10*time.Second, "timeout of one request")
	fs.BoolVar(&markdown, "markdown", false, "also print the results as a Markdown table")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := loopbackOnly(o.URL); err != nil {
		return err
	}
	if scenarios != "" {
		o.Scenarios = strings.Split(scenarios, ",")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	fmt.Fprintf(stdout, "crmbench: %s, %d connections, %s per scenario (+ %s warm-up)\n", o.URL, o.Connections, o.Duration, o.Warmup)
	o.Log = stdout
	first := true
	results, err := bench.Run(ctx, o, func(r bench.Result) {
		if first {
			bench.Header(stdout, o.DBCPU)
			first = false
		}
		bench.Line(stdout, r)
	})
	if markdown && len(results) > 0 {
		fmt.Fprintln(stdout)
		bench.Markdown(stdout, results)
	}
	return err
}

// loopbackOnly refuses a target that is not this machine: a load test
// sends its traffic to loopback addresses only.
func loopbackOnly(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return fmt.Errorf("--url %q: want http://127.0.0.1:PORT", raw)
	}
	h := u.Hostname()
	if h == "localhost" {
		return nil
	}
	if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("--url %q: crmbench only loads servers on this machine (a loopback address)", raw)
}
