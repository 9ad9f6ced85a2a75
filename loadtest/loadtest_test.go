package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// testConfig is a small, fast run over the fake store.
func testConfig(w Workload) Config {
	c := DefaultConfig()
	c.Workload = w
	c.Keys = 100
	c.ValueSize = 64
	c.Concurrency = 4
	c.Duration = 0
	c.Ops = 2000
	c.Preload = true
	c.Seed = 1
	return c
}

func run(t *testing.T, cfg Config, d Driver) (*Generator, *Report) {
	t.Helper()
	g, err := New(cfg, d)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	rep, err := g.Run(context.Background())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return g, rep
}

func opsOf(p *PhaseReport) map[string]int64 {
	m := map[string]int64{}
	for _, o := range p.Operations {
		m[o.Op] = o.Ops
	}
	return m
}

func TestWorkloadMixes(t *testing.T) {
	// Shares in per mille of 2000 operations, with a tolerance.
	for _, tc := range []struct {
		w    Workload
		want map[string]int64
	}{
		{WorkloadA, map[string]int64{"read": 1000, "update": 1000}},
		{WorkloadB, map[string]int64{"read": 1900, "update": 100}},
		{WorkloadC, map[string]int64{"read": 2000}},
		{WorkloadF, map[string]int64{"read": 1000, "rmw": 1000}},
		{WorkloadWrite, map[string]int64{"update": 2000}},
	} {
		t.Run(string(tc.w), func(t *testing.T) {
			t.Parallel()
			_, rep := run(t, testConfig(tc.w), newMemStore())
			if rep.Preload == nil || rep.Preload.Ops != 100 || opsOf(rep.Preload)["insert"] != 100 {
				t.Fatalf("preload: %+v, want 100 inserts", rep.Preload)
			}
			got := opsOf(rep.Run)
			if rep.Run.Ops != 2000 || rep.Run.Errors != 0 {
				t.Fatalf("run: %d ops, %d errors; want 2000 and 0", rep.Run.Ops, rep.Run.Errors)
			}
			for op, n := range got {
				want, ok := tc.want[op]
				if !ok || n < want-100 || n > want+100 {
					t.Errorf("%s: %d operations, want %d ± 100 (all: %v)", op, n, want, got)
				}
			}
			if rep.Run.ReadsNotFound != 0 {
				t.Errorf("%d reads found nothing after the preload", rep.Run.ReadsNotFound)
			}
		})
	}
}

// TestUpdatesCarryContext checks that updates send the context last seen
// for the key: one client updating alone never creates a sibling, while
// the same run with blind writes would leave one per write.
func TestUpdatesCarryContext(t *testing.T) {
	for _, w := range []Workload{WorkloadA, WorkloadWrite, WorkloadF} {
		s := newMemStore()
		cfg := testConfig(w)
		cfg.Concurrency = 1
		_, rep := run(t, cfg, s)
		if rep.Run.ReadsWithSiblings != 0 {
			t.Errorf("%s: %d reads returned siblings with a single client", w, rep.Run.ReadsWithSiblings)
		}
		for k := range cfg.Keys {
			if n := s.siblings(fmt.Sprintf("user%d", k)); n != 1 {
				t.Fatalf("%s: key user%d holds %d versions, want 1", w, k, n)
			}
		}
	}
}

// TestUpdateReadsFirstWithoutContext: a run that starts on keys written
// earlier (by a previous run) holds no context for them; its first update
// of each key reads it first instead of writing blind, so no sibling
// appears.
func TestUpdateReadsFirstWithoutContext(t *testing.T) {
	s := newMemStore()
	cl, _ := s.NewClient(0)
	var wr WriteResult
	for k := range 10 {
		cl.Write(context.Background(), []byte(fmt.Sprintf("user%d", k)), []byte("earlier"), nil, &wr)
	}
	// One client: with several, two may both find no context for a key
	// and both read it first, so the count would depend on timing.
	cfg := testConfig(WorkloadWrite)
	cfg.Keys, cfg.Preload, cfg.Ops, cfg.Concurrency = 10, false, 500, 1
	_, rep := run(t, cfg, s)
	if rep.Run.UpdatesReadFirst != 10 {
		t.Errorf("%d updates read first, want 10 (one per key)", rep.Run.UpdatesReadFirst)
	}
	for k := range 10 {
		if n := s.siblings(fmt.Sprintf("user%d", k)); n != 1 {
			t.Errorf("one client: user%d holds %d versions, want 1", k, n)
		}
	}
}

// TestSavedContexts: a run that loads the contexts an earlier run saved
// continues like the same client: no update reads first, no sibling.
func TestSavedContexts(t *testing.T) {
	s := newMemStore()
	cfg := testConfig(WorkloadWrite)
	cfg.Concurrency = 1
	g, _ := run(t, cfg, s)
	var saved bytes.Buffer
	if err := g.SaveContexts(&saved); err != nil {
		t.Fatal(err)
	}
	file := saved.Bytes()

	cfg.Preload = false
	g2, err := New(cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := g2.LoadContexts(bytes.NewReader(file)); err != nil || n != cfg.Keys {
		t.Fatalf("LoadContexts: %d, %v; want %d", n, err, cfg.Keys)
	}
	rep, err := g2.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Run.UpdatesReadFirst != 0 {
		t.Errorf("%d updates read first despite the saved contexts", rep.Run.UpdatesReadFirst)
	}
	for k := range cfg.Keys {
		if n := s.siblings(fmt.Sprintf("user%d", k)); n != 1 {
			t.Fatalf("user%d holds %d versions, want 1", k, n)
		}
	}

	other := cfg
	other.KeyPrefix = "other"
	g3, _ := New(other, s)
	if _, err := g3.LoadContexts(bytes.NewReader(file)); err == nil || !strings.Contains(err.Error(), "prefix") {
		t.Errorf("contexts of prefix user loaded for prefix other: %v", err)
	}
	if _, err := g3.LoadContexts(bytes.NewReader(file[:len(file)-3])); err == nil {
		t.Error("a truncated file was accepted")
	}
	if _, err := g3.LoadContexts(strings.NewReader("hello")); err == nil {
		t.Error("garbage was accepted")
	}
}

func TestVerifyPassesOnHealthyStore(t *testing.T) {
	for _, w := range []Workload{WorkloadA, WorkloadF, WorkloadWrite} {
		t.Run(string(w), func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(w)
			cfg.Concurrency, cfg.Keys, cfg.Ops, cfg.Verify = 16, 50, 5000, true
			g, rep := run(t, cfg, newMemStore())
			v, err := g.Verify(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !v.Passed || v.Lost != 0 || v.CorruptValues != 0 {
				t.Fatalf("verify failed on a healthy store: %+v", v)
			}
			if v.WritesAcknowledged != int64(cfg.Keys)+opsOf(rep.Run)["update"]+opsOf(rep.Run)["rmw"] {
				t.Errorf("%d acknowledged writes recorded; the report counts %d inserts and %v", v.WritesAcknowledged, cfg.Keys, opsOf(rep.Run))
			}
			if v.Present+v.Superseded != v.WritesAcknowledged || v.Superseded == 0 {
				t.Errorf("present %d + superseded %d != acknowledged %d (or nothing superseded)", v.Present, v.Superseded, v.WritesAcknowledged)
			}
		})
	}
}

// TestVerifyFailsWhenWritesDropped: a store that acknowledges writes to
// some keys without storing them must fail verification, naming them.
func TestVerifyFailsWhenWritesDropped(t *testing.T) {
	s := newMemStore()
	s.drop = func(key string) bool { return strings.HasSuffix(key, "3") }
	cfg := testConfig(WorkloadA)
	cfg.Verify = true
	g, _ := run(t, cfg, s)
	v, err := g.Verify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if v.Passed || v.Lost == 0 {
		t.Fatalf("verify passed although writes were dropped: %+v", v)
	}
	if v.Present+v.Superseded+v.Lost != v.WritesAcknowledged {
		t.Errorf("present %d + superseded %d + lost %d != acknowledged %d", v.Present, v.Superseded, v.Lost, v.WritesAcknowledged)
	}
	for _, l := range v.LostExamples {
		if !strings.HasSuffix(l.Key, "3") {
			t.Errorf("lost write reported for %s, whose writes were kept", l.Key)
		}
	}
	var text bytes.Buffer
	(&Report{Verify: v}).WriteText(&text)
	if !strings.Contains(text.String(), "verify FAILED") || !strings.Contains(text.String(), "lost: key user") {
		t.Errorf("report does not show the failure:\n%s", text.String())
	}
}

// TestVerifyFailsWhenDataWiped: writes removed behind the generator's back
// after they were acknowledged are lost; a damaged value is corrupt.
func TestVerifyFailsWhenDataWiped(t *testing.T) {
	s := newMemStore()
	cfg := testConfig(WorkloadA)
	cfg.Verify = true
	g, _ := run(t, cfg, s)
	ctx := context.Background()
	if v, err := g.Verify(ctx); err != nil || !v.Passed {
		t.Fatalf("before the wipe: %+v %v", v, err)
	}
	s.wipe("user7")
	v, err := g.Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v.Passed || v.Lost == 0 || len(v.LostExamples) == 0 || v.LostExamples[0].Key != "user7" {
		t.Fatalf("verify after wiping user7: %+v", v)
	}
	s.mu.Lock() // damage another key's value

	for i := range s.keys["user8"] {
		s.keys["user8"][i].value[len(s.keys["user8"][i].value)-1] ^= 1
	}
	s.mu.Unlock()
	if v, _ := g.Verify(ctx); v.Passed || v.CorruptValues == 0 {
		t.Fatalf("verify after damaging user8: %+v", v)
	}
}

// TestTooManySiblingsRead: after a too_many_siblings refusal the client
// reads the key, so its next update can resolve the siblings.
func TestTooManySiblingsRead(t *testing.T) {
	s := newMemStore()
	var once sync.Once
	refused := false
	s.failWrites = func(key string) string {
		if key != "user0" {
			return ""
		}
		kind := ""
		once.Do(func() { kind, refused = KindTooManySiblings, true })
		return kind
	}
	cfg := testConfig(WorkloadWrite)
	cfg.Keys, cfg.Preload = 1, false
	_, rep := run(t, cfg, s)
	if !refused {
		t.Fatal("the fake never refused")
	}
	if rep.Run.ErrorsByKind[KindTooManySiblings] != 1 || opsOf(rep.Run)["read"] != 1 {
		t.Errorf("errors %v, ops %v; want one refusal followed by one read", rep.Run.ErrorsByKind, opsOf(rep.Run))
	}
}

func TestErrorsByKind(t *testing.T) {
	s := newMemStore()
	s.failWrites = func(key string) string {
		if strings.HasSuffix(key, "1") {
			return "quorum_unavailable"
		}
		return ""
	}
	cfg := testConfig(WorkloadA)
	cfg.Preload = false
	_, rep := run(t, cfg, s)
	upd := rep.Run.Operations[1]
	if upd.Op != "update" || upd.Errors == 0 || upd.ErrorsByKind["quorum_unavailable"] != upd.Errors {
		t.Fatalf("update errors: %+v", upd)
	}
	if rep.Run.Errors != upd.Errors || rep.Run.Ops+rep.Run.Errors != cfg.Ops {
		t.Errorf("%d ops + %d errors, want %d in all", rep.Run.Ops, rep.Run.Errors, cfg.Ops)
	}
	// Keys never written are not found.
	if rep.Run.ReadsNotFound == 0 {
		t.Error("no read found a missing key although nothing was preloaded")
	}
}

// TestRate: with a target rate the run cannot finish faster than the
// schedule allows.
func TestRate(t *testing.T) {
	cfg := testConfig(WorkloadC)
	cfg.Preload, cfg.Ops, cfg.Rate = false, 100, 500
	start := time.Now()
	_, rep := run(t, cfg, newMemStore())
	// 4 clients, each scheduled every 8 ms: the last of 100 starts 25
	// intervals in at the earliest.
	if took, least := time.Since(start), 24*8*time.Millisecond; took < least {
		t.Errorf("100 ops at 500/s took %v, want at least %v", took, least)
	}
	if rep.Run.Ops != 100 || rep.TargetRate != 500 {
		t.Errorf("report: %d ops at target %v", rep.Run.Ops, rep.TargetRate)
	}
}

// lineWriter calls onLine for each write (each progress line).
type lineWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	onLine func()
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.onLine != nil {
		w.onLine()
	}
	return w.buf.Write(p)
}

func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestProgressAndInterrupt runs without a bound until the second progress
// line, then cancels: the run stops, says it was interrupted, and the
// progress lines show per-operation rates and latencies.
func TestProgressAndInterrupt(t *testing.T) {
	// The deadline only bounds the test should no progress line come.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	lines := 0
	out := &lineWriter{onLine: func() {
		if lines++; lines == 2 {
			cancel()
		}
	}}
	cfg := testConfig(WorkloadA)
	cfg.Ops, cfg.Duration = 0, time.Hour
	cfg.Progress, cfg.ProgressInterval = out, 20*time.Millisecond
	g, err := New(cfg, newMemStore())
	if err != nil {
		t.Fatal(err)
	}
	rep, err := g.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if lines < 2 {
		t.Fatalf("%d progress lines in 30 s", lines)
	}
	if !rep.Interrupted || rep.Run == nil || rep.Run.Ops == 0 {
		t.Fatalf("report after cancel: interrupted %v, run %+v", rep.Interrupted, rep.Run)
	}
	text := out.String()
	for _, want := range []string{"[run ", "ops/s", "| read ", "| update ", "p99 ", "errors 0"} {
		if !strings.Contains(text, want) {
			t.Errorf("progress lacks %q:\n%s", want, text)
		}
	}
}

func TestReportFormats(t *testing.T) {
	cfg := testConfig(WorkloadB)
	_, rep := run(t, cfg, newMemStore())
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var decoded struct {
		Driver string
		Run    struct {
			Throughput float64
			Operations []struct {
				Op        string
				LatencyMS map[string]float64 `json:"latency_ms"`
			}
			SiblingShare *float64 `json:"sibling_share"`
		}
	}
	if err := json.Unmarshal(js.Bytes(), &decoded); err != nil {
		t.Fatalf("JSON: %v\n%s", err, js.String())
	}
	if decoded.Driver != "mem" || decoded.Run.Throughput <= 0 || len(decoded.Run.Operations) != 2 || decoded.Run.SiblingShare == nil {
		t.Fatalf("JSON report: %+v\n%s", decoded, js.String())
	}
	for _, q := range []string{"mean", "p50", "p95", "p99", "p99.9", "max"} {
		if _, ok := decoded.Run.Operations[0].LatencyMS[q]; !ok {
			t.Errorf("latency_ms lacks %q", q)
		}
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"mem: workload B", "preload: 100 ops", "run: 2000 ops", "p99.9 ms", "insert", "read", "update", "returned siblings"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
}

func TestConfigValidate(t *testing.T) {
	bad := DefaultConfig()
	bad.Workload, bad.Distribution, bad.Keys, bad.Concurrency, bad.ValueSize, bad.Verify = "Z", "pareto", 0, 0, 8, true
	err := bad.Validate()
	if err == nil {
		t.Fatal("a config with every field wrong was accepted")
	}
	for _, want := range []string{"workload", "distribution", "keys", "concurrency", "value size"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s: %v", want, err)
		}
	}
	idle := DefaultConfig()
	idle.Duration = 0
	if idle.Validate() == nil {
		t.Error("a run with nothing to do was accepted")
	}
	idle.Preload = true
	if err := idle.Validate(); err != nil {
		t.Errorf("a preload-only run was refused: %v", err)
	}
	for _, s := range []string{"a", "B", " c ", "F", "write-only"} {
		if _, err := ParseWorkload(s); err != nil {
			t.Errorf("ParseWorkload(%q): %v", s, err)
		}
	}
}
