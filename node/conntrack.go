package node

import (
	"net"
	"sync"
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

	mu       sync.Mutex
	conns    map[net.Conn]fasthttp.ConnState
	inflight int
	idle     chan struct{} // closed when inflight drops to 0; nil while 0
}

func newConnTracker(c clock.Clock) *connTracker {
	return &connTracker{time: c, conns: map[net.Conn]fasthttp.ConnState{}}
}

// wrap counts h's calls in flight.
func (t *connTracker) wrap(h fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(rc *fasthttp.RequestCtx) {
		t.mu.Lock()
		t.inflight++
		if t.idle == nil {
			t.idle = make(chan struct{})
		}
		t.mu.Unlock()
		defer t.done()
		h(rc)
	}
}

func (t *connTracker) done() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.inflight--
	if t.inflight == 0 {
		close(t.idle)
		t.idle = nil
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
	t.mu.Lock()
	idle := t.idle
	t.mu.Unlock()
	if idle != nil && timeout > 0 {
		deadline := t.time.NewTimer(timeout)
		select {
		case <-idle:
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
