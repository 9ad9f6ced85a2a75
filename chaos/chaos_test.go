//go:build chaos

package chaos

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/dynkv/dynkv/loadtest"
)

// suiteBudget bounds the whole suite, so that it fails (and cleans up)
// before go test's own -timeout would kill it without cleaning up.
const suiteBudget = 19 * time.Minute

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

var (
	allNodes   = []string{"n1", "n2", "n3", "n4", "n5"}
	activeMu   sync.Mutex
	activeRuns = map[*cluster]bool{}
)

func TestMain(m *testing.M) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sigs
		fmt.Fprintf(os.Stderr, "chaos: %v: removing the test clusters\n", s)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		activeMu.Lock()
		for c := range activeRuns {
			if err := c.down(ctx); err != nil {
				fmt.Fprintln(os.Stderr, "chaos:", err)
			}
		}
		os.Exit(1)
	}()
	os.Exit(m.Run())
}

// requireDocker fails with CI=true and skips otherwise.
func requireDocker(t *testing.T, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and the chaos suite cannot run: %v", err)
	}
	t.Skipf("chaos suite skipped: %v", err)
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

type suite struct {
	c       *cluster
	ctx     context.Context
	loads   []*load // every scenario's, for the final verification
	results []result
	mu      sync.Mutex
}

func TestChaos(t *testing.T) {
	compose, err := tool()
	if err != nil {
		requireDocker(t, err)
	}
	image := os.Getenv("DYNKV_IMAGE")
	if image == "" {
		image = "dynkv:latest"
	}
	ctx, cancel := context.WithTimeout(context.Background(), suiteBudget)
	defer cancel()
	if _, err := run(ctx, os.Environ(), "docker", "image", "inspect", image); err != nil {
		requireDocker(t, fmt.Errorf("no image %s: build it with make image", image))
	}
	sweepAbandoned(ctx)

	services := append(slices.Clone(allNodes), "n6")
	c, err := newCluster(compose, image, services, append([]string{"../deploy/docker-compose.yml", "testdata/extra-node.yml"}, secureFiles...)...)
	if err != nil {
		t.Fatal(err)
	}
	activeMu.Lock()
	activeRuns[c] = true
	activeMu.Unlock()
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer ccancel()
		if t.Failed() {
			t.Logf("the nodes' last log lines:\n%s", c.logs(cctx))
		}
		if err := c.down(cctx); err != nil {
			t.Errorf("clean-up: %v", err)
		}
		activeMu.Lock()
		delete(activeRuns, c)
		activeMu.Unlock()
	})
	start := time.Now()
	t.Logf("project %s: network %s.0/24, nodes on 127.0.0.1 ports %v", c.project, c.netPrefix, c.ports)
	if err := c.makeSecrets(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.up(ctx, allNodes...); err != nil {
		t.Fatal(err)
	}
	if err := c.waitHealthy(ctx, allNodes...); err != nil {
		t.Fatal(err)
	}
	if err := c.waitMembers(ctx, allNodes, statuses(allNodes, "alive")); err != nil {
		t.Fatal(err)
	}
	t.Logf("5 nodes healthy and in one cluster after %.1f s", time.Since(start).Seconds())

	s := &suite{c: c, ctx: ctx}
	scenarios := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"partition", s.partition},
		{"kill", s.kill},
		{"rolling_restart", s.rollingRestart},
		{"wiped_volume", s.wipedVolume},
		{"join", s.join},
		{"leave", s.leave},
	}
	for _, sc := range scenarios {
		if ctx.Err() != nil {
			t.Fatalf("suite budget of %v spent before %s", suiteBudget, sc.name)
		}
		t.Run(sc.name, sc.run)
	}
	s.summary(t, time.Since(start))
}

func statuses(nodes []string, status string) map[string]string {
	m := map[string]string{}
	for _, n := range nodes {
		m[n] = status
	}
	return m
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

// partition cuts n4 and n5 off for 20 s. Meanwhile a key is written on
// both sides of the cut from the same context: n5, alone, takes it with
// W=1; after the heal both values must be siblings on every replica.
func (s *suite) partition(t *testing.T) {
	var split *splitWrite
	s.run(t, scenario{
		name: "partition", clients: allNodes, members: allNodes,
		fault: func(ctx context.Context, t *testing.T) (string, error) {
			var err error
			if split, err = s.prepareSplit(ctx, "n5"); err != nil {
				return "", err
			}
			cut := []string{"n4", "n5"}
			start := time.Now()
			healed := false
			defer func() { // so that a failure here does not fail the next scenarios too
				if !healed {
					for _, n := range cut {
						s.c.heal(context.WithoutCancel(ctx), n)
					}
				}
			}()
			for _, n := range cut {
				if err := s.c.partition(ctx, n); err != nil {
					return "", err
				}
			}
			// The majority sees them fail, as a client sees them gone.
			if err := s.c.waitMembers(ctx, []string{"n1", "n2", "n3"}, statuses(cut, "failed")); err != nil {
				return "", err
			}
			if err := split.write(ctx, s); err != nil {
				return "", err
			}
			if err := sleep(ctx, partitionHold-time.Since(start)); err != nil {
				return "", err
			}
			healed = true
			for _, n := range cut {
				if err := s.c.heal(ctx, n); err != nil {
					return "", err
				}
			}
			held := time.Since(start)
			if err := s.c.waitHealthy(ctx, cut...); err != nil {
				return "", err
			}
			if err := s.c.waitMembers(ctx, allNodes, statuses(allNodes, "alive")); err != nil {
				return "", err
			}
			return fmt.Sprintf("n4 and n5 cut off the network for %.1f s; one key written on both sides", held.Seconds()), nil
		},
	})
	if split != nil && !t.Failed() {
		if err := split.waitChecked(s.ctx, s); err != nil {
			t.Errorf("G4 across a partition: %v", err)
		} else {
			t.Logf("the key written on both sides of the cut holds both values as siblings on all of %v", split.replicas)
		}
	}
}

// splitWrite is one key written concurrently on both sides of a partition.
type splitWrite struct {
	key, context string
	minority     string // the cut-off node that takes one of the writes
	replicas     []string
}

// prepareSplit writes a key that minority replicates and returns its context.
func (s *suite) prepareSplit(ctx context.Context, minority string) (*splitWrite, error) {
	for i := range 1000 {
		key := fmt.Sprintf("split-%d", i)
		var r struct {
			List []string `json:"preference_list"`
		}
		if err := s.c.getJSON(ctx, "n1", "/cluster/ring?key="+url.QueryEscape(key), &r); err != nil {
			return nil, err
		}
		if !slices.Contains(r.List, minority) {
			continue
		}
		status, body, hdr, err := s.put(ctx, "n1", key, "before the cut", "")
		if err != nil || status != http.StatusNoContent {
			return nil, fmt.Errorf("PUT %s: %d %s %v", key, status, body, err)
		}
		return &splitWrite{key: key, context: hdr.Get("X-Causal-Context"), minority: minority, replicas: r.List}, nil
	}
	return nil, fmt.Errorf("no key replicated on %s", minority)
}

// write sends "majority" through n1 and "minority" through the cut-off
// node itself (docker exec: the host cannot reach it), both with the
// context read before the cut.
func (w *splitWrite) write(ctx context.Context, s *suite) error {
	status, body, _, err := s.put(ctx, "n1", w.key, "majority", w.context)
	if err != nil || status != http.StatusNoContent {
		return fmt.Errorf("majority write: %d %s %v", status, body, err)
	}
	id, err := s.c.container(ctx, w.minority)
	if err != nil {
		return err
	}
	_, err = s.c.docker(ctx, "exec", "-e", "DYNKV_CA_CERT=/secure/ca.crt", "-e", "DYNKV_TOKEN="+s.c.token,
		id, "/dynkv", "put", "--endpoints", s.c.scheme+"://127.0.0.1:8080",
		"--w", "1", "--timeout", "20s", "--context", w.context, w.key, "minority")
	if err != nil {
		return fmt.Errorf("minority write on %s: %w", w.minority, err)
	}
	return nil
}

// waitChecked retries check within the convergence bound of one key.
func (w *splitWrite) waitChecked(ctx context.Context, s *suite) error {
	deadline := time.Now().Add(convergeBound(1))
	for {
		err := w.check(ctx, s)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		if err := sleep(ctx, 500*time.Millisecond); err != nil {
			return err
		}
	}
}

// check: every replica holds both writes as siblings, and a read returns both.
func (w *splitWrite) check(ctx context.Context, s *suite) error {
	for _, n := range w.replicas {
		var l struct {
			Siblings []struct {
				Value   string `json:"value"`
				Deleted bool   `json:"deleted"`
			} `json:"siblings"`
		}
		if err := s.c.getJSON(ctx, n, "/admin/local/"+url.PathEscape(w.key), &l); err != nil {
			return err
		}
		var values []string
		for _, sib := range l.Siblings {
			v, _ := base64.StdEncoding.DecodeString(sib.Value)
			if !sib.Deleted {
				values = append(values, string(v))
			}
		}
		slices.Sort(values)
		if !slices.Equal(values, []string{"majority", "minority"}) {
			return fmt.Errorf("%s holds %q of %s, want the siblings majority and minority", n, values, w.key)
		}
	}
	status, body, err := s.c.do(ctx, http.MethodGet, s.c.url("n2")+"/kv/"+url.PathEscape(w.key), nil, http.Header{"Accept": {"application/json"}})
	if err != nil || status != http.StatusMultipleChoices {
		return fmt.Errorf("GET %s: %d %s %v; want 300 with two siblings", w.key, status, body, err)
	}
	return nil
}

func (s *suite) put(ctx context.Context, node, key, value, causal string) (int, string, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, s.c.url(node)+"/kv/"+url.PathEscape(key), strings.NewReader(value))
	if err != nil {
		return 0, "", nil, err
	}
	req.Header.Set("Content-Type", "text/plain")
	if causal != "" {
		req.Header.Set("X-Causal-Context", causal)
	}
	resp, err := s.c.http.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 512)
	n, _ := resp.Body.Read(buf)
	b.Write(buf[:n])
	return resp.StatusCode, b.String(), resp.Header, nil
}

// kill: kill -9 of n2, down until declared failed, then started; then
// kill -9 of n3 and an immediate start, before anyone noticed.
func (s *suite) kill(t *testing.T) {
	s.run(t, scenario{
		name: "kill", clients: allNodes, members: allNodes,
		fault: func(ctx context.Context, t *testing.T) (string, error) {
			c := s.c
			start := time.Now()
			if err := c.kill(ctx, "n2"); err != nil {
				return "", err
			}
			if err := c.waitMembers(ctx, []string{"n1", "n3", "n4", "n5"}, map[string]string{"n2": "failed"}); err != nil {
				return "", err
			}
			detected := time.Since(start)
			if err := sleep(ctx, 10*time.Second-detected); err != nil {
				return "", err
			}
			if err := c.start(ctx, "n2"); err != nil {
				return "", err
			}
			down := time.Since(start)
			if err := c.waitHealthy(ctx, "n2"); err != nil {
				return "", err
			}
			if err := c.waitMembers(ctx, allNodes, statuses(allNodes, "alive")); err != nil {
				return "", err
			}
			start3 := time.Now()
			if err := c.kill(ctx, "n3"); err != nil {
				return "", err
			}
			if err := c.start(ctx, "n3"); err != nil {
				return "", err
			}
			down3 := time.Since(start3)
			if err := c.waitHealthy(ctx, "n3"); err != nil {
				return "", err
			}
			if err := c.waitMembers(ctx, allNodes, statuses(allNodes, "alive")); err != nil {
				return "", err
			}
			return fmt.Sprintf("kill -9 n2, declared failed after %.1f s, started after %.1f s; kill -9 n3 and started again %.1f s later",
				detected.Seconds(), down.Seconds(), down3.Seconds()), nil
		},
	})
}

// rollingRestart restarts every node in turn, each healthy and seen alive
// by all before the next.
func (s *suite) rollingRestart(t *testing.T) {
	s.run(t, scenario{
		name: "rolling_restart", clients: allNodes, members: allNodes, direct: true, noFailures: true,
		fault: func(ctx context.Context, t *testing.T) (string, error) {
			var took []string
			for _, n := range allNodes {
				start := time.Now()
				if err := s.c.restart(ctx, n); err != nil {
					return "", err
				}
				restarted := time.Since(start)
				if err := s.c.waitHealthy(ctx, n); err != nil {
					return "", err
				}
				if err := s.c.waitMembers(ctx, allNodes, statuses(allNodes, "alive")); err != nil {
					return "", err
				}
				took = append(took, fmt.Sprintf("%s %.1f/%.1f s", n, restarted.Seconds(), time.Since(start).Seconds()))
				if err := sleep(ctx, 2*time.Second); err != nil {
					return "", err
				}
			}
			return "docker restart of every node in turn (restarted/healthy): " + strings.Join(took, ", "), nil
		},
	})
}

// wipedVolume deletes n3's container and volume and recreates it empty.
func (s *suite) wipedVolume(t *testing.T) {
	s.run(t, scenario{
		name: "wiped_volume", clients: allNodes, members: allNodes, allKeys: true,
		fault: func(ctx context.Context, t *testing.T) (string, error) {
			start := time.Now()
			if err := s.c.wipe(ctx, "n3"); err != nil {
				return "", err
			}
			recreated := time.Since(start)
			if err := s.c.waitHealthy(ctx, "n3"); err != nil {
				return "", err
			}
			if err := s.c.waitMembers(ctx, allNodes, statuses(allNodes, "alive")); err != nil {
				return "", err
			}
			return fmt.Sprintf("n3's container and volume deleted and recreated empty in %.1f s", recreated.Seconds()), nil
		},
	})
}

// join starts a sixth node, which takes its share by handoff.
func (s *suite) join(t *testing.T) {
	six := append(slices.Clone(allNodes), "n6")
	s.run(t, scenario{
		name: "join", clients: allNodes, members: six, allKeys: true,
		fault: func(ctx context.Context, t *testing.T) (string, error) {
			start := time.Now()
			if err := s.c.up(ctx, "n6"); err != nil {
				return "", err
			}
			if err := s.c.waitHealthy(ctx, "n6"); err != nil {
				return "", err
			}
			if err := s.c.waitMembers(ctx, six, statuses(six, "alive")); err != nil {
				return "", err
			}
			return fmt.Sprintf("n6 started and joined in %.1f s", time.Since(start).Seconds()), nil
		},
	})
}

// leave makes n5 leave; once every node sees it left, its container is
// stopped, so the final checks find nothing on it.
func (s *suite) leave(t *testing.T) {
	rest := []string{"n1", "n2", "n3", "n4", "n6"}
	s.run(t, scenario{
		name: "leave", clients: rest, members: rest, allKeys: true,
		fault: func(ctx context.Context, t *testing.T) (string, error) {
			start := time.Now()
			status, body, err := s.c.do(ctx, http.MethodPost, s.c.url("n5")+"/cluster/leave", nil, nil)
			if err != nil || status != http.StatusAccepted {
				return "", fmt.Errorf("POST /cluster/leave on n5: %d %s %v", status, body, err)
			}
			if err := s.c.waitMembers(ctx, rest, map[string]string{"n5": "left"}); err != nil {
				return "", err
			}
			left := time.Since(start)
			if err := s.c.stop(ctx, "n5"); err != nil {
				return "", err
			}
			return fmt.Sprintf("n5 left (handoff done, status left) %.1f s after POST /cluster/leave; its container then stopped", left.Seconds()), nil
		},
	})
}
