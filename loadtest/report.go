package loadtest

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Report is a run's result; it marshals to the --json form.
type Report struct {
	Driver       string  `json:"driver"`
	Workload     string  `json:"workload"`
	Distribution string  `json:"distribution"`
	Keys         int     `json:"keys"`
	KeyPrefix    string  `json:"key_prefix"`
	ValueSize    int     `json:"value_size"`
	Concurrency  int     `json:"concurrency"`
	TargetRate   float64 `json:"target_rate,omitempty"`
	Seed         uint64  `json:"seed,string"` // a string: JSON numbers lose 64-bit precision

	Preload     *PhaseReport  `json:"preload,omitempty"`
	Run         *PhaseReport  `json:"run,omitempty"`
	Verify      *VerifyReport `json:"verify,omitempty"`
	Interrupted bool          `json:"interrupted,omitempty"`
}

// PhaseReport covers the preload or the timed run.
type PhaseReport struct {
	Phase          string  `json:"phase"`
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	// Ops counts successful operations and Throughput is Ops per second;
	// failed ones are Errors.
	Ops          int64            `json:"ops"`
	Throughput   float64          `json:"throughput"`
	Errors       int64            `json:"errors"`
	ErrorsByKind map[string]int64 `json:"errors_by_kind"`
	Operations   []OpReport       `json:"operations"`
	// Reads counts the successful reads, including those inside
	// read-modify-writes; the two shares are of these.
	Reads             int64   `json:"reads"`
	ReadsNotFound     int64   `json:"reads_not_found"`
	ReadsWithSiblings int64   `json:"reads_with_siblings"`
	SiblingShare      float64 `json:"sibling_share"`
	// UpdatesReadFirst counts updates of keys the generator had no
	// context for yet, which read the key first (see Driver.Causal).
	UpdatesReadFirst int64 `json:"updates_read_first"`
	// ClientCPUSeconds is the CPU time the generator itself used (all its
	// clients, the drivers included): on a shared machine, what it took
	// from the store. Zero where the platform does not say.
	ClientCPUSeconds float64 `json:"client_cpu_seconds,omitempty"`
}

// OpReport is one operation kind's figures.
type OpReport struct {
	Op           string           `json:"op"`
	Ops          int64            `json:"ops"`
	Throughput   float64          `json:"throughput"`
	Errors       int64            `json:"errors"`
	ErrorsByKind map[string]int64 `json:"errors_by_kind,omitempty"`
	LatencyMS    Latency          `json:"latency_ms"`
}

// Latency is a latency distribution in milliseconds.
type Latency struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99.9"`
	Max  float64 `json:"max"`
}

func latencyOf(h *hdrhistogram.Histogram) Latency {
	if h == nil || h.TotalCount() == 0 {
		return Latency{}
	}
	ms := func(us int64) float64 { return float64(us) / 1000 }
	q := h.ValueAtPercentilesSlice([]float64{50, 95, 99, 99.9})
	return Latency{
		Mean: h.Mean() / 1000, P50: ms(q[0]), P95: ms(q[1]), P99: ms(q[2]), P999: ms(q[3]), Max: ms(h.Max()),
	}
}

func phaseReport(name string, elapsed time.Duration, t *[numOps]tally) PhaseReport {
	secs := elapsed.Seconds()
	p := PhaseReport{Phase: name, ElapsedSeconds: secs, ErrorsByKind: map[string]int64{}}
	for op := range numOps {
		ta := &t[op]
		ok, bad := ta.ok(), ta.counts.errors()
		p.Reads += ta.counts.reads
		p.ReadsNotFound += ta.counts.notFound
		p.ReadsWithSiblings += ta.counts.siblings
		p.UpdatesReadFirst += ta.counts.readFirst
		if ok == 0 && bad == 0 {
			continue
		}
		r := OpReport{Op: op.String(), Ops: ok, Errors: bad, LatencyMS: latencyOf(ta.hist)}
		if secs > 0 {
			r.Throughput = float64(ok) / secs
		}
		if bad > 0 {
			r.ErrorsByKind = maps.Clone(ta.counts.errs)
			for k, v := range ta.counts.errs {
				p.ErrorsByKind[k] += v
			}
		}
		p.Ops += ok
		p.Errors += bad
		p.Operations = append(p.Operations, r)
	}
	if secs > 0 {
		p.Throughput = float64(p.Ops) / secs
	}
	if p.Reads > 0 {
		p.SiblingShare = float64(p.ReadsWithSiblings) / float64(p.Reads)
	}
	return p
}

// WriteJSON writes r as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes r as the human-readable tables.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: workload %s, %s keys (%d, prefix %q), %d-byte values, %d clients",
		r.Driver, r.Workload, r.Distribution, r.Keys, r.KeyPrefix, r.ValueSize, r.Concurrency)
	if r.TargetRate > 0 {
		fmt.Fprintf(&b, ", target %.0f ops/s", r.TargetRate)
	}
	fmt.Fprintf(&b, ", seed %d\n", r.Seed)
	if r.Interrupted {
		b.WriteString("interrupted: the figures cover what ran\n")
	}
	for _, p := range []*PhaseReport{r.Preload, r.Run} {
		if p != nil {
			b.WriteByte('\n')
			p.writeText(&b)
		}
	}
	if r.Verify != nil {
		b.WriteByte('\n')
		r.Verify.writeText(&b)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (p *PhaseReport) writeText(b *strings.Builder) {
	fmt.Fprintf(b, "%s: %d ops in %.1fs = %.0f ops/s, %d errors\n", p.Phase, p.Ops, p.ElapsedSeconds, p.Throughput, p.Errors)
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "op    \tops\tops/s\tmean ms\tp50 ms\tp95 ms\tp99 ms\tp99.9 ms\tmax ms\terrors\t")
	for _, o := range p.Operations {
		l := o.LatencyMS
		fmt.Fprintf(tw, "%-6s\t%d\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t\n",
			o.Op, o.Ops, o.Throughput, l.Mean, l.P50, l.P95, l.P99, l.P999, l.Max, o.Errors)
	}
	tw.Flush()
	if p.Reads > 0 {
		fmt.Fprintf(b, "reads: %d, %.2f%% returned siblings, %d not found\n", p.Reads, 100*p.SiblingShare, p.ReadsNotFound)
	}
	if p.UpdatesReadFirst > 0 {
		fmt.Fprintf(b, "updates that read the key first (no context cached yet): %d\n", p.UpdatesReadFirst)
	}
	if len(p.ErrorsByKind) > 0 {
		fmt.Fprintf(b, "errors: %s\n", kindsText(p.ErrorsByKind))
	}
	if p.ClientCPUSeconds > 0 && p.ElapsedSeconds > 0 {
		fmt.Fprintf(b, "generator CPU: %.1f s (%.2f cores)\n", p.ClientCPUSeconds, p.ClientCPUSeconds/p.ElapsedSeconds)
	}
}

// kindsText lists error counts, most frequent first.
func kindsText(m map[string]int64) string {
	kinds := slices.Collect(maps.Keys(m))
	slices.SortFunc(kinds, func(a, b string) int {
		if m[a] != m[b] {
			return int(m[b] - m[a])
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// printProgress writes one line about the last interval.
func (g *Generator) printProgress(p *phase, iv *[numOps]tally, sinceStart, span time.Duration) {
	secs := span.Seconds()
	if secs <= 0 {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[%s %5.1fs]", p.name, sinceStart.Seconds())
	var ok, bad, reads, sib int64
	var ops strings.Builder
	for op := range numOps {
		t := &iv[op]
		n := t.ok()
		ok += n
		bad += t.counts.errors()
		reads += t.counts.reads
		sib += t.counts.siblings
		if n == 0 {
			continue
		}
		l := latencyOf(t.hist)
		fmt.Fprintf(&ops, " | %s %.0f/s p50 %.2fms p99 %.2fms", op, float64(n)/secs, l.P50, l.P99)
	}
	fmt.Fprintf(&b, " %.0f ops/s%s | errors %d", float64(ok)/secs, ops.String(), bad)
	if reads > 0 {
		fmt.Fprintf(&b, " | siblings %.1f%%", 100*float64(sib)/float64(reads))
	}
	if p.preload {
		fmt.Fprintf(&b, " | %d of %d keys", min(p.next.Load(), int64(g.cfg.Keys)), g.cfg.Keys)
	}
	b.WriteByte('\n')
	io.WriteString(g.cfg.Progress, b.String())
}
