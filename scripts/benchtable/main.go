// Command benchtable prints the comparison tables of scripts/bench.sh from
// the JSON reports of `dynkv loadtest --json` (and scripts/peers/olricload,
// which writes the same report).
//
//	benchtable half REPORT          half the run's throughput, for --rate
//	benchtable table DIR            the dynkv/Olric/Redis tables of DIR's reports
//
// DIR holds, for each round r (from 1) and store s (dynkv, olric, redis),
// r<r>-<s>-<A|B|C>.json, and r<r>-<s>-Ahalf.json for dynkv and Olric
// (workload A at half of dynkv's peak in that round). Next to each report
// NAME.json: NAME.cpu.json with the CPU seconds the servers and the whole
// machine used during the run, and NAME.progress, the run's stderr with
// one progress line per second.
//
// Every figure printed is the median over the rounds; a ratio is the
// median of the rounds' ratios, since within a round the stores ran
// minutes apart and across rounds the machine's speed drifts.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
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

// store is one system under test: its file name part and its title.
type store struct{ key, title string }

var stores = []store{{"dynkv", "dynkv"}, {"olric", "Olric"}, {"redis", "Redis"}}

// run is one loadtest run with what bench.sh measured around it.
type run struct {
	rep *loadtest.Report
	cpu cpuFigures
	// worstP99 is the highest p99 of any operation kind in any progress
	// window (1 s in bench.sh); 0 when there were no progress lines.
	worstP99 float64
}

// cpuFigures is what scripts/bench.sh measured around one run.
type cpuFigures struct {
	ServerCPUSeconds      float64 `json:"server_cpu_seconds"`
	MachineBusyCPUSeconds float64 `json:"machine_busy_cpu_seconds"`
}

func load(dir, name string) (*run, error) {
	rep, err := read(filepath.Join(dir, name+".json"))
	if err != nil {
		return nil, err
	}
	r := &run{rep: rep}
	b, err := os.ReadFile(filepath.Join(dir, name+".cpu.json"))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &r.cpu); err != nil {
		return nil, fmt.Errorf("%s.cpu.json: %w", name, err)
	}
	b, err = os.ReadFile(filepath.Join(dir, name+".progress"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		r.worstP99 = worstWindowP99(string(b))
	}
	return r, nil
}

// lat is the p50, p99 and p99.9 of the run's slowest operation kind (for
// A, usually the update).
func (r *run) lat() (p50, p99, p999 float64) {
	for _, o := range r.rep.Run.Operations {
		p50 = max(p50, o.LatencyMS.P50)
		p99 = max(p99, o.LatencyMS.P99)
		p999 = max(p999, o.LatencyMS.P999)
	}
	return p50, p99, p999
}

// usPerOp is the servers' CPU per successful operation, in µs.
func (r *run) usPerOp() float64 {
	return 1e6 * r.cpu.ServerCPUSeconds / float64(max(1, r.rep.Run.Ops))
}

// others is the cores that processes other than the servers and the
// generator used during the run.
func (r *run) others() float64 {
	c := r.cpu
	return max(0, c.MachineBusyCPUSeconds-c.ServerCPUSeconds-r.rep.Run.ClientCPUSeconds) / r.rep.Run.ElapsedSeconds
}

// results holds every round's runs: results[round][name], where name is
// "<store>-<workload>".
type results []map[string]*run

// loadAll reads rounds 1, 2, ... until r<n>-dynkv-A.json is missing.
func loadAll(dir string) (results, error) {
	var res results
	for n := 1; ; n++ {
		prefix := fmt.Sprintf("r%d-", n)
		if _, err := os.Stat(filepath.Join(dir, prefix+"dynkv-A.json")); err != nil {
			break
		}
		round := map[string]*run{}
		for _, s := range stores {
			names := []string{"A", "B", "C"}
			if s.key != "redis" {
				names = append(names, "Ahalf")
			}
			for _, w := range names {
				r, err := load(dir, prefix+s.key+"-"+w)
				if err != nil {
					return nil, fmt.Errorf("round %d: %w", n, err)
				}
				round[s.key+"-"+w] = r
			}
		}
		// The secured cluster's A and C, when the run had one.
		for _, w := range []string{"A", "C"} {
			name := prefix + "dynkvs-" + w
			if _, err := os.Stat(filepath.Join(dir, name+".json")); err != nil {
				continue
			}
			r, err := load(dir, name)
			if err != nil {
				return nil, fmt.Errorf("round %d: %w", n, err)
			}
			round["dynkvs-"+w] = r
		}
		res = append(res, round)
	}
	if len(res) == 0 {
		return nil, fmt.Errorf("%s: no r1-dynkv-A.json", dir)
	}
	return res, nil
}

// med is the median over the rounds of f applied to run name.
func (res results) med(name string, f func(*run) float64) float64 {
	xs := make([]float64, len(res))
	for i, round := range res {
		xs[i] = f(round[name])
	}
	return median(xs)
}

// ratio is the median over the rounds of f(a)/f(b).
func (res results) ratio(a, b string, f func(*run) float64) float64 {
	xs := make([]float64, len(res))
	for i, round := range res {
		xs[i] = f(round[a]) / f(round[b])
	}
	return median(xs)
}

func (res results) sum(name string, f func(*run) int64) int64 {
	var n int64
	for _, round := range res {
		n += f(round[name])
	}
	return n
}

func throughput(r *run) float64 { return r.rep.Run.Throughput }
func p50(r *run) float64        { a, _, _ := r.lat(); return a }
func p99(r *run) float64        { _, b, _ := r.lat(); return b }
func p999(r *run) float64       { _, _, c := r.lat(); return c }
func errorCount(r *run) int64   { return r.rep.Run.Errors }

func table(dir string) error {
	res, err := loadAll(dir)
	if err != nil {
		return err
	}
	fmt.Printf("medians over %d rounds; ratios are the medians of each round's ratio\n\n", len(res))
	throughputTable(res)
	latencyTable(res)
	cpuTable(res)
	halfTable(res)
	if res[0]["dynkvs-A"] != nil {
		secureTable(res)
	}
	busiest := 0.0
	for _, round := range res {
		for _, r := range round {
			busiest = max(busiest, r.others())
		}
	}
	if busiest > 0.2 {
		fmt.Printf("\nwarning: other processes took up to %.2f cores during the runs; throughput and latency are\nlower than on a quiet machine (CPU per operation is the steadier figure)\n", busiest)
	}
	return nil
}

func throughputTable(res results) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "workload\tdynkv ops/s\tOlric ops/s\tRedis ops/s\tdynkv/Olric\tdynkv/Redis\terrors dynkv / Olric / Redis\tdynkv reads with siblings\t")
	for _, w := range []string{"A", "B", "C"} {
		d, o, r := "dynkv-"+w, "olric-"+w, "redis-"+w
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.0f\t%.2f×\t%.2f×\t%d / %d / %d\t%.1f %%\t\n", w,
			res.med(d, throughput), res.med(o, throughput), res.med(r, throughput),
			res.ratio(d, o, throughput), res.ratio(d, r, throughput),
			res.sum(d, errorCount), res.sum(o, errorCount), res.sum(r, errorCount),
			100*res.med(d, func(r *run) float64 { return r.rep.Run.SiblingShare }))
	}
	tw.Flush()
}

// latencyTable prints each store's p50 / p99 / p99.9 of the slowest
// operation kind of each workload.
func latencyTable(res results) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "\nworkload\t")
	for _, s := range stores {
		fmt.Fprintf(tw, "%s p50 / p99 / p99.9 ms\t", s.title)
	}
	fmt.Fprintln(tw)
	for _, w := range []string{"A", "B", "C"} {
		fmt.Fprintf(tw, "%s\t", w)
		for _, s := range stores {
			n := s.key + "-" + w
			fmt.Fprintf(tw, "%s / %s / %s\t", ms(res.med(n, p50)), ms(res.med(n, p99)), ms(res.med(n, p999)))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

// cpuTable prints the servers' CPU per operation, and the CPU the
// generator and everything else on the machine took during each run.
func cpuTable(res results) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nworkload\tCPU µs/op: dynkv's 3 nodes\tOlric's 3 members\tRedis\tdynkv/Olric\tdynkv/Redis\tcores: servers / generator / others, dynkv; Olric; Redis\t")
	cores := func(n string) string {
		return fmt.Sprintf("%.2f / %.2f / %.2f",
			res.med(n, func(r *run) float64 { return r.cpu.ServerCPUSeconds / r.rep.Run.ElapsedSeconds }),
			res.med(n, func(r *run) float64 { return r.rep.Run.ClientCPUSeconds / r.rep.Run.ElapsedSeconds }),
			res.med(n, (*run).others))
	}
	perOp := (*run).usPerOp
	for _, w := range []string{"A", "B", "C"} {
		d, o, r := "dynkv-"+w, "olric-"+w, "redis-"+w
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.1f\t%s\t%s\t%s; %s; %s\t\n", w,
			res.med(d, perOp), res.med(o, perOp), res.med(r, perOp),
			times(res.ratio(d, o, perOp)), times(res.ratio(d, r, perOp)), cores(d), cores(o), cores(r))
	}
	tw.Flush()
}

// halfTable prints workload A on dynkv and Olric at half of dynkv's peak
// of the same round, where tails compare at equal load.
func halfTable(res results) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nA at half of dynkv's peak\ttarget ops/s\tachieved ops/s\tp50 / p99 / p99.9 ms\tworst 1 s window p99 ms\tCPU µs/op\terrors\tp99.9 ms per round\t")
	for _, s := range stores[:2] {
		n := s.key + "-Ahalf"
		var rounds []string
		for _, round := range res {
			rounds = append(rounds, ms(p999(round[n])))
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%s / %s / %s\t%s\t%.0f\t%d\t%s\t\n", s.title,
			res.med(n, func(r *run) float64 { return r.rep.TargetRate }), res.med(n, throughput),
			ms(res.med(n, p50)), ms(res.med(n, p99)), ms(res.med(n, p999)),
			ms(res.med(n, func(r *run) float64 { return r.worstP99 })),
			res.med(n, (*run).usPerOp), res.sum(n, errorCount), strings.Join(rounds, " / "))
	}
	tw.Flush()
}

// secureTable prints the secured cluster (TLS, tokens, gossip encryption)
// against the plain one, which ran just before it in each round.
func secureTable(res results) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nsecured vs plain dynkv\tplain ops/s\tsecured ops/s\tsecured/plain\tp99 ms plain / secured\tCPU µs/op plain / secured\terrors secured\t")
	for _, w := range []string{"A", "C"} {
		p, s := "dynkv-"+w, "dynkvs-"+w
		if res[0][s] == nil {
			continue
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.2f×\t%s / %s\t%.0f / %.0f\t%d\t\n", w,
			res.med(p, throughput), res.med(s, throughput), res.ratio(s, p, throughput),
			ms(res.med(p, p99)), ms(res.med(s, p99)), res.med(p, (*run).usPerOp), res.med(s, (*run).usPerOp), res.sum(s, errorCount))
	}
	tw.Flush()
}
