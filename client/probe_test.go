package client

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// TestRestartBehindProxy replays a node restarting behind a TCP proxy
// (Docker's published ports): it refuses with 503 shutting_down, then the
// proxy takes connections and hangs them up with nothing behind it, then
// the node is back. No write may fail, and no write may be sent to the
// endpoint before a probe found it ready again.
func TestRestartBehindProxy(t *testing.T) {
	t.Parallel()
	const (
		draining = iota
		proxyOnly
		back
	)
	var phase atomic.Int32
	var writesWhileDown atomic.Int64
	restarting := newFakeNode(t, func(w http.ResponseWriter, r *http.Request) {
		switch phase.Load() {
		case draining:
			apiError(503, CodeShuttingDown, "")(w, r)
		case proxyOnly:
			if r.URL.Path != "/healthz" {
				writesWhileDown.Add(1)
			}
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				conn.Close()
			}
		default:
			ok(w, r)
		}
	})
	good := newFakeNode(t, ok)
	// No cool-down: a failed endpoint is eligible at once, so only the
	// probe keeps requests away from it.
	c := newTestClient(t, []string{restarting.URL, good.URL}, WithRoundRobin(), WithEndpointCooldown(0))
	ctx := context.Background()
	put := func(n int) {
		t.Helper()
		for i := range n {
			if _, err := c.Put(ctx, "k", []byte("v"), CausalContext{}); err != nil {
				t.Fatalf("phase %d, write %d: %v", phase.Load(), i, err)
			}
		}
	}
	put(20)
	phase.Store(proxyOnly)
	put(50)
	if n := writesWhileDown.Load(); n != 0 {
		t.Errorf("%d writes reached the endpoint while nothing was behind it, want 0 (only probes)", n)
	}
	phase.Store(back)
	before := restarting.hits.Load()
	deadline := time.Now().Add(5 * time.Second)
	for restarting.hits.Load() < before+10 && time.Now().Before(deadline) {
		put(1)
	}
	if restarting.hits.Load() < before+10 {
		t.Error("the endpoint never came back into rotation after its probe succeeded")
	}
}

// TestProbeFailureIsNotAnAttemptError: when every endpoint failed and
// none probes ready, a write fails as unavailable, saying why, and nothing
// was sent.
func TestProbeFailureIsNotAnAttemptError(t *testing.T) {
	t.Parallel()
	var writes atomic.Int64
	down := newFakeNode(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			writes.Add(1)
		}
		apiError(503, CodeShuttingDown, "")(w, r)
	})
	c := newTestClient(t, []string{down.URL}, WithMaxAttempts(4), WithEndpointCooldown(0))
	_, err := c.Put(context.Background(), "k", []byte("v"), CausalContext{})
	if err == nil {
		t.Fatal("Put succeeded against a node that is shutting down")
	}
	if writes.Load() != 1 {
		t.Errorf("%d writes sent, want 1 (the first; then only probes)", writes.Load())
	}
	t.Logf("error: %v", err)
}
