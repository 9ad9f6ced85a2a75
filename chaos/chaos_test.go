//go:build chaos

package chaos

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

// suiteBudget bounds the whole suite, so that it fails (and cleans up)
// before go test's own -timeout would kill it without cleaning up.
const suiteBudget = 19 * time.Minute

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
