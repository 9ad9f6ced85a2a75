package node

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// connTracker follows the server's connections and requests so that
// shutdown can wait for requests in flight and then close every connection
// at once. fasthttp's own Shutdown only closes connections it considers
// idle, and it counts a new connection as idle only five seconds after it
// opened (and as active before its first byte arrives), so with busy peers
// a graceful shutdown would otherwise wait out its whole timeout.
type connTracker struct {
	inflight atomic.Int64

	mu    sync.Mutex
	conns map[net.Conn]fasthttp.ConnState
}

// wrap counts h's calls in flight.
func (t *connTracker) wrap(h fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(rc *fasthttp.RequestCtx) {
		t.inflight.Add(1)
		defer t.inflight.Add(-1)
		h(rc)
	}
}

func newConnTracker() *connTracker {
	return &connTracker{conns: map[net.Conn]fasthttp.ConnState{}}
}

// observe is the server's ConnState hook.
func (t *connTracker) observe(c net.Conn, st fasthttp.ConnState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch st {
	case fasthttp.StateClosed, fasthttp.StateHijacked:
		delete(t.conns, c)
	default:
		t.conns[c] = st
	}
}

// drain waits up to timeout for requests in flight to finish, then closes
// every connection.
func (t *connTracker) drain(timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for t.inflight.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for c := range t.conns {
		c.Close()
	}
}
