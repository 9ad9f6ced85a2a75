package client

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestFailoverNotAnswering: a node that refuses connections is skipped, for
// reads and writes alike, and the client sticks to the one that answers.
func TestFailoverNotAnswering(t *testing.T) {
	t.Parallel()
	good := newFakeNode(t, ok)
	c := newTestClient(t, []string{closedAddr(t), good.URL})
	ctx := context.Background()
	var node string
	if _, err := c.Put(ctx, "k", []byte("v"), CausalContext{}, ServedBy(&node)); err != nil || node != "good" {
		t.Fatalf("Put: %v, served by %q", err, node)
	}
	res, err := c.Get(ctx, "k")
	if err != nil || res.Node != "good" || string(res.Siblings[0].Value) != "hi" {
		t.Fatalf("Get: %+v, %v", res, err)
	}
	if err := c.Delete(ctx, "k", res.Context); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if got := good.hits.Load(); got != 3 {
		t.Errorf("good node saw %d requests, want 3", got)
	}
	if got := c.preferred.Load(); got != 1 {
		t.Errorf("preferred endpoint %d, want 1 (the one that answers)", got)
	}
}

// TestFailoverShuttingDown: 503 shutting_down is refused before anything
// is written, so writes fail over too.
func TestFailoverShuttingDown(t *testing.T) {
	t.Parallel()
	stopping := newFakeNode(t, apiError(503, CodeShuttingDown, ""))
	good := newFakeNode(t, ok)
	c := newTestClient(t, []string{stopping.URL, good.URL})
	if _, err := c.Put(context.Background(), "k", []byte("v"), CausalContext{}); err != nil {
		t.Fatal(err)
	}
	// The stopping node is cooling down: the next call goes straight to the
	// good one.
	if _, err := c.Get(context.Background(), "k"); err != nil {
		t.Fatal(err)
	}
	if stopping.hits.Load() != 1 || good.hits.Load() != 2 {
		t.Errorf("hits: stopping %d, good %d; want 1 and 2", stopping.hits.Load(), good.hits.Load())
	}
}

// TestAmbiguousWritesNotRetried: after 503 quorum_unavailable or 504 a
// replica may hold the write; a read moves on to the next coordinator, a
// write does not unless asked to.
func TestAmbiguousWritesNotRetried(t *testing.T) {
	t.Parallel()
	for _, code := range []string{CodeQuorumUnavailable, CodeTimeout} {
		status := map[string]int{CodeQuorumUnavailable: 503, CodeTimeout: 504}[code]
		t.Run(code, func(t *testing.T) {
			t.Parallel()
			bad := newFakeNode(t, apiError(status, code, `,"acks":1,"required":2`))
			good := newFakeNode(t, ok)
			c := newTestClient(t, []string{bad.URL, good.URL})
			ctx := context.Background()
			if _, err := c.Get(ctx, "k"); err != nil {
				t.Fatalf("Get should fail over: %v", err)
			}
			c.preferred.Store(0)
			if _, err := c.Put(ctx, "k", []byte("v"), CausalContext{}); err == nil {
				t.Fatal("Put after an ambiguous failure was retried")
			}
			if good.hits.Load() != 1 {
				t.Errorf("good node saw %d requests, want 1 (the Get)", good.hits.Load())
			}

			retrying := newTestClient(t, []string{bad.URL, good.URL}, WithRetryAmbiguousWrites())
			if _, err := retrying.Put(ctx, "k", []byte("v"), CausalContext{}); err != nil {
				t.Fatalf("Put with WithRetryAmbiguousWrites: %v", err)
			}
		})
	}
}

// TestBrokenConnection: a node that takes the request and hangs up gives a
// read to the next node but a write back to the caller, saying it may have
// been applied.
func TestBrokenConnection(t *testing.T) {
	t.Parallel()
	hangup := newFakeNode(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" { // it probes ready: the failure is mid-request
			ok(w, r)
			return
		}
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	good := newFakeNode(t, ok)
	c := newTestClient(t, []string{hangup.URL, good.URL})
	ctx := context.Background()
	if _, err := c.Get(ctx, "k"); err != nil {
		t.Fatalf("Get: %v", err)
	}
	preferFailed(c, 0)
	_, err := c.Put(ctx, "k", []byte("v"), CausalContext{})
	if err == nil || !strings.Contains(err.Error(), "may have been applied") {
		t.Fatalf("Put: %v; want a failure saying the write may have been applied", err)
	}
}

// TestAttemptTimeout: a node that never answers is given up on after the
// attempt timeout; a read moves on, a write reports ErrTimeout.
func TestAttemptTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	slow := newFakeNode(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			ok(w, r)
			return
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) })
	good := newFakeNode(t, ok)
	c := newTestClient(t, []string{slow.URL, good.URL}, WithAttemptTimeout(50*time.Millisecond))
	ctx := context.Background()
	if _, err := c.Get(ctx, "k"); err != nil {
		t.Fatalf("Get: %v", err)
	}
	preferFailed(c, 0)
	if _, err := c.Put(ctx, "k", []byte("v"), CausalContext{}); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Put: %v; want ErrTimeout", err)
	}
}

// TestCallerDeadline: the caller's context bounds the whole call, retries
// included, and the error says so.
func TestCallerDeadline(t *testing.T) {
	t.Parallel()
	f := newFakeNode(t, apiError(503, CodeQuorumUnavailable, ""))
	c := newTestClient(t, []string{f.URL}, WithMaxAttempts(1000), WithBackoff(10*time.Millisecond, 20*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.Get(ctx, "k")
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v; want ErrTimeout and context.DeadlineExceeded", err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if _, err := c.Get(ctx, "k"); !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
		t.Fatalf("cancelled: got %v", err)
	}
}

// TestAllUnreachable: no endpoint answers: ErrUnavailable wrapping the
// network error, after the configured attempts.
func TestAllUnreachable(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, []string{closedAddr(t), closedAddr(t)}, WithMaxAttempts(4))
	_, err := c.Put(context.Background(), "k", []byte("v"), CausalContext{})
	var op *net.OpError
	if !errors.Is(err, ErrUnavailable) || !errors.As(err, &op) || !strings.Contains(err.Error(), "after 4 attempts") {
		t.Fatalf("got %v", err)
	}
}

// TestRoundRobin spreads calls over every endpoint.
func TestRoundRobin(t *testing.T) {
	t.Parallel()
	a, b := newFakeNode(t, ok), newFakeNode(t, ok)
	c := newTestClient(t, []string{a.URL, b.URL}, WithRoundRobin())
	for range 10 {
		if _, err := c.Get(context.Background(), "k"); err != nil {
			t.Fatal(err)
		}
	}
	if a.hits.Load() != 5 || b.hits.Load() != 5 {
		t.Errorf("hits %d and %d, want 5 and 5", a.hits.Load(), b.hits.Load())
	}
}
