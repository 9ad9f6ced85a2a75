package client

import (
	"context"
	"errors"
	"net/http"
	"testing"
)

// A node refusing a write as overloaded (503 overloaded) applied nothing:
// the write goes to the next endpoint, as with shutting_down, and not only
// when ambiguous writes may be retried. A quorum failure is still handed
// back, since replicas may have taken the write.
func TestOverloadedWriteFailsOver(t *testing.T) {
	t.Parallel()
	busy := newFakeNode(t, apiError(http.StatusServiceUnavailable, CodeOverloaded, ""))
	good := newFakeNode(t, ok)
	c := newTestClient(t, []string{busy.URL, good.URL})
	if _, err := c.Put(context.Background(), "k", []byte("v"), CausalContext{}); err != nil {
		t.Fatalf("Put: %v; want it taken by the second endpoint", err)
	}
	if busy.hits.Load() != 1 || good.hits.Load() != 1 {
		t.Fatalf("hits: overloaded node %d, good node %d; want 1 and 1", busy.hits.Load(), good.hits.Load())
	}

	all := newFakeNode(t, apiError(http.StatusServiceUnavailable, CodeOverloaded, ""))
	c = newTestClient(t, []string{all.URL}, WithMaxAttempts(2))
	_, err := c.Put(context.Background(), "k", []byte("v"), CausalContext{})
	if !errors.Is(err, ErrOverloaded) || errors.Is(err, ErrQuorumUnavailable) || errors.Is(err, ErrShuttingDown) {
		t.Fatalf("Put on an overloaded node only: %v; want ErrOverloaded", err)
	}
}

// 431 headers_too_large is a request refused as malformed: nothing written.
func TestHeadersTooLargeIsBadRequest(t *testing.T) {
	t.Parallel()
	f := newFakeNode(t, apiError(http.StatusRequestHeaderFieldsTooLarge, CodeHeadersTooLarge, ""))
	c := newTestClient(t, []string{f.URL}, WithMaxAttempts(2))
	_, err := c.Put(context.Background(), "k", []byte("v"), CausalContext{})
	if !errors.Is(err, ErrBadRequest) || f.hits.Load() != 1 {
		t.Fatalf("Put: %v after %d attempts; want ErrBadRequest after one", err, f.hits.Load())
	}
}
