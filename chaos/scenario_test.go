//go:build chaos

package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/dynkv/dynkv/loadtest"
)

// Scenario timing: the load runs warmup before the fault and tail after
// it heals.
const (
	warmup        = 5 * time.Second
	tail          = 5 * time.Second
	partitionHold = 20 * time.Second
)

// convergeBound is the documented bound on convergence after faults heal
// and writes stop (README, "Replicas converge without reads"): one hint
// interval plus one anti-entropy pass, that is the pause between passes
// plus the pass itself. A pass repairs at most 1,000 keys a second (the
// default --anti-entropy-rate) and compares 256 partitions with two peers
// each; passTime allows it 10 s plus that rate over the keys checked.
func convergeBound(keys int) time.Duration {
	passTime := 10*time.Second + time.Duration(keys)*time.Second/1000
	return hintInterval + aeInterval + passTime
}

// result is one scenario's figures.
type result struct {
	Scenario     string  `json:"scenario"`
	Fault        string  `json:"fault"`
	Load         string  `json:"load"`
	Ops          int64   `json:"ops"`
	Errors       int64   `json:"errors"`
	ErrorsByKind any     `json:"errors_by_kind,omitempty"`
	Reads        int64   `json:"reads"`
	SiblingReads int64   `json:"reads_with_siblings"`
	NotFound     int64   `json:"reads_not_found"`
	Acked        int64   `json:"writes_acknowledged"`
	Present      int64   `json:"present"`
	Superseded   int64   `json:"superseded"`
	Lost         int64   `json:"lost"`
	Keys         int     `json:"keys_converged"`
	KeySiblings  int     `json:"keys_with_siblings"`
	ConvergeSecs float64 `json:"converge_seconds"`
	BoundSecs    float64 `json:"bound_seconds"`
}

func (s *suite) urls(nodes []string, direct bool) []string {
	var out []string
	for _, n := range nodes {
		if direct {
			out = append(out, s.c.directURL(n))
		} else {
			out = append(out, s.c.url(n))
		}
	}
	return out
}

// scenario runs one fault under load and checks the outcome.
type scenario struct {
	name    string
	fault   func(ctx context.Context, t *testing.T) (string, error)
	clients []string // nodes the load is spread over
	members []string // the ring once the fault is over
	// allKeys converges and verifies every scenario's keys so far, not only
	// this one's: for faults that touch data written before (a wiped disk,
	// a membership change).
	allKeys bool
	// direct adds a second load that reaches the nodes on the cluster
	// network (not through docker-proxy).
	direct bool
	// noFailures fails the scenario on any failed client request, in
	// either load.
	noFailures bool
}

func (s *suite) run(t *testing.T, sc scenario) {
	ctx := s.ctx
	prefix := sc.name + "-"
	rate := float64(loadRate)
	if sc.direct {
		rate /= 2
	}
	loads := []*load{startLoad(t, s.c, sc.name, prefix, s.urls(sc.clients, false), rate)}
	if sc.direct {
		loads = append(loads, startLoad(t, s.c, sc.name+"(direct)", sc.name+"-direct-", s.urls(sc.clients, true), rate))
	}
	stopped := false
	stopAll := func() {
		if !stopped {
			stopped = true
			for _, l := range loads {
				l.stopLoad()
			}
		}
	}
	defer stopAll()
	if err := sleep(ctx, warmup); err != nil {
		t.Fatal(err)
	}
	fault, err := sc.fault(ctx, t)
	if err != nil {
		t.Fatalf("%s: %v", sc.name, err)
	}
	t.Logf("fault over: %s", fault)
	if err := sleep(ctx, tail); err != nil {
		t.Fatal(err)
	}
	stopAll()
	reports := make([]*loadtest.Report, len(loads))
	for i, l := range loads {
		if reports[i], err = l.stopLoad(); err != nil {
			t.Fatalf("load %s: %v", l.name, err)
		}
	}
	s.loads = append(s.loads, loads...)

	// Converge, then verify: see the package documentation.
	keys := []string{}
	verifyLoads := loads
	if sc.allKeys {
		verifyLoads = s.loads
	}
	for _, l := range verifyLoads {
		keys = append(keys, l.keys()...)
	}
	bound := convergeBound(len(keys))
	conv, convErr := s.c.waitConverged(ctx, sc.members, keys, bound)
	if convErr != nil {
		t.Errorf("G3: %v", convErr)
	}
	t.Logf("converged in %.1f s (bound %.0f s): %d keys, %d copies compared, %d keys with siblings",
		conv.Elapsed.Seconds(), bound.Seconds(), conv.Keys, conv.Replicas, conv.WithSiblings)
	for i, l := range loads {
		r := s.figures(t, sc.name, fault, l, reports[i], conv, bound)
		if sc.noFailures && (r.Errors > 0 || reports[i].Preload.Errors > 0) {
			t.Errorf("%s: %d failed client requests, want 0:%s", l.name, r.Errors+reports[i].Preload.Errors, l.errorExamples())
		}
	}
	for _, l := range verifyLoads[:len(verifyLoads)-len(loads)] {
		v, err := l.verify(ctx)
		if err != nil || !v.Passed {
			t.Errorf("G2: %s's writes re-verified after %s: %v %+v", l.name, sc.name, err, v)
			continue
		}
		t.Logf("%s's writes re-verified after %s: %d acknowledged, %d present, %d superseded, 0 lost",
			l.name, sc.name, v.WritesAcknowledged, v.Present, v.Superseded)
	}
}

// figures verifies one load's writes and prints and records its figures.
func (s *suite) figures(t *testing.T, name, fault string, l *load, rep *loadtest.Report, conv convergence, bound time.Duration) result {
	t.Helper()
	v, err := l.verify(s.ctx)
	if err != nil || v == nil {
		t.Errorf("verify %s: %v", l.name, err)
		v = &loadtest.VerifyReport{}
	}
	run := rep.Run
	r := result{
		Scenario: name, Fault: fault, Load: l.name,
		Ops: run.Ops, Errors: run.Errors, Reads: run.Reads, SiblingReads: run.ReadsWithSiblings, NotFound: run.ReadsNotFound,
		Acked: v.WritesAcknowledged, Present: v.Present, Superseded: v.Superseded, Lost: v.Lost,
		Keys: conv.Keys, KeySiblings: conv.WithSiblings, ConvergeSecs: conv.Elapsed.Seconds(), BoundSecs: bound.Seconds(),
	}
	if len(run.ErrorsByKind) > 0 {
		r.ErrorsByKind = run.ErrorsByKind
	}
	t.Logf("%s: %d ops in %.1f s (%.0f/s), %d errors %v; %d reads, %d with siblings (%.2f%%), %d not found",
		l.name, run.Ops, run.ElapsedSeconds, run.Throughput, run.Errors, run.ErrorsByKind, run.Reads, run.ReadsWithSiblings, 100*run.SiblingShare, run.ReadsNotFound)
	if run.Errors > 0 {
		t.Logf("%s: first error of each kind:%s", l.name, l.errorExamples())
	}
	t.Logf("%s: verify %v: %d acknowledged writes (of %d attempted): %d present, %d superseded, %d lost; %d keys unreadable",
		l.name, v.Passed, v.WritesAcknowledged, v.WritesAttempted, v.Present, v.Superseded, v.Lost, v.KeysUnreadable)
	if !v.Passed {
		t.Errorf("G2: %s lost acknowledged writes or could not read them: %+v", l.name, v)
	}
	s.mu.Lock()
	s.results = append(s.results, r)
	s.mu.Unlock()
	return r
}

// summary prints every scenario's figures as one table, and writes them
// to $DYNKV_ARTIFACTS/chaos.json when that is set.
func (s *suite) summary(t *testing.T, total time.Duration) {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tload\tops\terrors\tsibling reads\tacked writes\tlost\tconverged (s)\tbound (s)\t")
	for _, r := range s.results {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%.1f\t%.0f\t\n", r.Scenario, r.Load, r.Ops, r.Errors, r.SiblingReads, r.Acked, r.Lost, r.ConvergeSecs, r.BoundSecs)
	}
	tw.Flush()
	t.Logf("chaos suite figures (%.0f s in all):\n%s", total.Seconds(), b.String())
	if dir := os.Getenv("DYNKV_ARTIFACTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err == nil {
			buf, _ := json.MarshalIndent(s.results, "", "  ")
			path := filepath.Join(dir, "chaos.json")
			if err := os.WriteFile(path, buf, 0o644); err == nil {
				t.Logf("figures written to %s", path)
			}
		}
	}
}
