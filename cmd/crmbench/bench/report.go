package bench

import (
	"fmt"
	"io"
	"time"
)

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }

func mb(b int64) string { return fmt.Sprintf("%.1f", float64(b)/(1<<20)) }

// Header is the first line of the text report.
func Header(w io.Writer, dbMeasured bool) {
	fmt.Fprintf(w, "%-22s %9s %9s %9s %7s %11s", "scenario", "req/s", "p50 ms", "p99 ms", "errors", "srv ms/req")
	if dbMeasured {
		fmt.Fprintf(w, " %10s %11s", "db ms/req", "both ms/req")
	}
	fmt.Fprintf(w, " %10s %9s %12s\n", "gen ms/req", "RSS MB", "peak RSS MB")
}

// Line writes one result of the text report.
func Line(w io.Writer, r Result) {
	srv, db, both := r.CPUPerRequest()
	gen := time.Duration(0)
	if r.Requests > 0 {
		gen = r.LoadGenCPU / time.Duration(r.Requests)
	}
	fmt.Fprintf(w, "%-22s %9.0f %9s %9s %7d %11s", r.Scenario, r.Rate, ms(r.P50), ms(r.P99), r.Errors, ms3(srv))
	if r.DBMeasured {
		fmt.Fprintf(w, " %10s %11s", ms3(db), ms3(both))
	}
	fmt.Fprintf(w, " %10s %9s %12s\n", ms3(gen), mb(r.RSS), mb(r.PeakRSS))
	if r.FirstError != "" {
		fmt.Fprintf(w, "    first error: %.300s\n", r.FirstError)
	}
}

func ms3(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d)/float64(time.Millisecond)) }

// Markdown writes the results as a Markdown table (BENCHMARKS.md).
func Markdown(w io.Writer, rs []Result) {
	db := len(rs) > 0 && rs[0].DBMeasured
	fmt.Fprint(w, "| scenario | req/s | p50 ms | p99 ms | errors | server CPU ms/req |")
	if db {
		fmt.Fprint(w, " PostgreSQL CPU ms/req | both ms/req |")
	}
	fmt.Fprintln(w, " server peak RSS MB |")
	fmt.Fprint(w, "|---|---:|---:|---:|---:|---:|")
	if db {
		fmt.Fprint(w, "---:|---:|")
	}
	fmt.Fprintln(w, "---:|")
	for _, r := range rs {
		srv, dbc, both := r.CPUPerRequest()
		fmt.Fprintf(w, "| %s | %.0f | %s | %s | %d | %s |", r.Scenario, r.Rate, ms(r.P50), ms(r.P99), r.Errors, ms3(srv))
		if db {
			fmt.Fprintf(w, " %s | %s |", ms3(dbc), ms3(both))
		}
		fmt.Fprintf(w, " %s |\n", mb(r.PeakRSS))
	}
}
