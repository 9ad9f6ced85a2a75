package node

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/dynkv/dynkv/node/clock"
)

// connTracker follows the server's connections and requests so that
// shutdown can wait for requests in flight and then close every connection
// at once. fasthttp's own Shutdown only closes connections it considers
// idle, and it counts a new connection as idle only five seconds after it
// opened (and as active before its first byte arrives), so with busy peers
// a graceful shutdown would otherwise wait out its whole timeout.
type connTracker struct {
	time clock.Clock

	// inflight counts handler calls; every request, client and internode,
	// passes here, so it is an atomic, not a lock. Once draining is set,
	// the call that brings it to zero closes idle.
	inflight atomic.Int64
	draining atomic.Bool
	idle     chan struct{}
	idleOnce sync.Once

	mu    sync.Mutex
	conns map[net.Conn]fasthttp.ConnState
}

func newConnTracker(c clock.Clock) *connTracker {
	return &connTracker{time: c, conns: map[net.Conn]fasthttp.ConnState{}, idle: make(chan struct{})}
}

// wrap counts h's calls in flight.
func (t *connTracker) wrap(h fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(rc *fasthttp.RequestCtx) {
		t.inflight.Add(1)
		defer t.done()
		h(rc)
	}
}

func (t *connTracker) done() {
	if t.inflight.Add(-1) == 0 && t.draining.Load() {
		t.idleOnce.Do(func() { close(t.idle) })
	}
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
	// Set before reading inflight: a call ending after this either sees
	// draining and closes idle, or ended before and the read sees zero.
	t.draining.Store(true)
	if t.inflight.Load() > 0 && timeout > 0 {
		deadline := t.time.NewTimer(timeout)
		select {
		case <-t.idle:
		case <-deadline.C():
		}
		deadline.Stop()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for c := range t.conns {
		c.Close()
	}
}
