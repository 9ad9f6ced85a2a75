// Command benchtable prints the comparison table of scripts/bench.sh from
// the JSON reports of `dynkv loadtest --json`.
//
//	benchtable half REPORT          half the run's throughput, for --rate
//	benchtable table DIR            the dynkv/Redis table of DIR's reports
//
// DIR holds dynkv-A.json, redis-A.json, ... for each workload, optionally
// dynkv-A-half.json (workload A at half of its peak rate), and for each
// report NAME.json a NAME.cpu.json with the CPU seconds the servers and
// the whole machine used during the run.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/dynkv/dynkv/loadtest"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: benchtable half REPORT | benchtable table DIR")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "half":
		var r *loadtest.Report
		if r, err = read(os.Args[2]); err == nil {
			fmt.Printf("%.0f\n", r.Run.Throughput/2)
		}
	case "table":
		err = table(os.Args[2])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

func read(path string) (*loadtest.Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r loadtest.Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if r.Run == nil {
		return nil, fmt.Errorf("%s: no timed run", path)
	}
	return &r, nil
}

// lat is the p50 and p99 of the run's slowest operation kind (for A, the
// update).
func lat(r *loadtest.Report) (p50, p99 float64) {
	for _, o := range r.Run.Operations {
		p50 = max(p50, o.LatencyMS.P50)
		p99 = max(p99, o.LatencyMS.P99)
	}
	return p50, p99
}

func table(dir string) error {
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "workload\tdynkv ops/s\tRedis ops/s\tdynkv/Redis\tdynkv p50 / p99 ms\tRedis p50 / p99 ms\terrors dynkv / Redis\tdynkv reads with siblings\t")
	for _, w := range []string{"A", "B", "C"} {
		d, err := read(filepath.Join(dir, "dynkv-"+w+".json"))
		if err != nil {
			return err
		}
		r, err := read(filepath.Join(dir, "redis-"+w+".json"))
		if err != nil {
			return err
		}
		dp50, dp99 := lat(d)
		rp50, rp99 := lat(r)
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.2f×\t%.2f / %.2f\t%.2f / %.2f\t%d / %d\t%.1f %%\t\n", w,
			d.Run.Throughput, r.Run.Throughput, d.Run.Throughput/r.Run.Throughput,
			dp50, dp99, rp50, rp99, d.Run.Errors, r.Run.Errors, 100*d.Run.SiblingShare)
	}
	tw.Flush()
	cpuTable(dir)
	if h, err := read(filepath.Join(dir, "dynkv-A-half.json")); err == nil {
		var parts []string
		for _, o := range h.Run.Operations {
			parts = append(parts, fmt.Sprintf("%s p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms", o.Op, o.LatencyMS.P50, o.LatencyMS.P99, o.LatencyMS.P999))
		}
		fmt.Printf("\ndynkv A at half of its peak (target %.0f ops/s, achieved %.0f): %s; %d errors\n",
			h.TargetRate, h.Run.Throughput, strings.Join(parts, "; "), h.Run.Errors)
	}
	return nil
}

// cpuFigures is what scripts/bench.sh measured around one run.
type cpuFigures struct {
	ServerCPUSeconds      float64 `json:"server_cpu_seconds"`
	MachineBusyCPUSeconds float64 `json:"machine_busy_cpu_seconds"`
}

func readCPU(dir, name string) (*loadtest.Report, *cpuFigures, error) {
	r, err := read(filepath.Join(dir, name+".json"))
	if err != nil {
		return nil, nil, err
	}
	b, err := os.ReadFile(filepath.Join(dir, name+".cpu.json"))
	if err != nil {
		return nil, nil, err
	}
	var c cpuFigures
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, nil, fmt.Errorf("%s.cpu.json: %w", name, err)
	}
	return r, &c, nil
}

// cpuTable prints the servers' CPU per operation, and the CPU the
// generator and everything else on the machine took during each run.
func cpuTable(dir string) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	busiest := 0.0
	defer func() {
		if busiest > 0.2 {
			fmt.Printf("\nwarning: other processes took up to %.2f cores during the runs; throughput and latency are\nlower than on a quiet machine (CPU per operation is the steadier figure)\n", busiest)
		}
	}()
	fmt.Fprintln(tw, "\nworkload\tdynkv nodes CPU µs/op\tRedis CPU µs/op\tratio\tdynkv nodes / generator / others, cores\tRedis / generator / others, cores\t")
	for _, w := range []string{"A", "B", "C"} {
		d, dc, err := readCPU(dir, "dynkv-"+w)
		if err != nil {
			return
		}
		r, rc, err := readCPU(dir, "redis-"+w)
		if err != nil {
			return
		}
		perOp := func(r *loadtest.Report, c *cpuFigures) float64 {
			return 1e6 * c.ServerCPUSeconds / float64(max(1, r.Run.Ops))
		}
		cores := func(r *loadtest.Report, c *cpuFigures) string {
			secs := r.Run.ElapsedSeconds
			others := max(0, c.MachineBusyCPUSeconds-c.ServerCPUSeconds-r.Run.ClientCPUSeconds) / secs
			busiest = max(busiest, others)
			return fmt.Sprintf("%.2f / %.2f / %.2f", c.ServerCPUSeconds/secs, r.Run.ClientCPUSeconds/secs, others)
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.1f\t%.0f×\t%s\t%s\t\n", w, perOp(d, dc), perOp(r, rc), perOp(d, dc)/perOp(r, rc), cores(d, dc), cores(r, rc))
	}
	tw.Flush()
}
