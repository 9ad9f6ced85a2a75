package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dynkv/dynkv/node/clock"
	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/valyala/fasthttp"
)

// InternodePrefix is the path under which nodes call each other; the
// operation follows it (e.g. /internal/v1/write).
const InternodePrefix = "/internal/v1/"

// HTTPTransport sends internode requests over HTTP, pipelined
// (pipeline.go) on pipelineConns connections per peer.
type HTTPTransport struct {
	// idleConn must stay below the peers' server idle timeout, so that
	// this side, not the server, retires an idle connection.
	idleConn time.Duration
	// connect bounds dialing a peer: a partitioned peer's SYNs go
	// unanswered, and waiting the OS's seconds for each would spend a
	// request's whole budget before the next replica is tried.
	connect    time.Duration
	maxPending int
	maxAnswer  int
	time       clock.Clock

	mu     sync.Mutex
	peers  map[string]*peerConns
	closed atomic.Bool
}

// pipelineConns is the connections per peer. One measured fastest, but a
// peer answers one connection's requests in order, so a request that is
// slow to apply would hold up every other one to that peer; two keep most
// of the batching.
const pipelineConns = 2

// dialFailureMemo is how long a failed dial is reported to further callers
// without dialling again, so that a dead or cut-off peer costs one dial,
// not one per request.
const dialFailureMemo = 100 * time.Millisecond

type peerConns struct {
	next  atomic.Uint32
	slots [pipelineConns]connSlot
}

type connSlot struct {
	mu      sync.Mutex
	pc      *pipeConn
	dialErr error
	dialAt  time.Time
}

// HTTPConfig configures an HTTPTransport.
type HTTPConfig struct {
	// ServerIdleTimeout is the IdleTimeout of the peers' HTTP servers.
	ServerIdleTimeout time.Duration
	// ConnectTimeout bounds dialing a peer.
	ConnectTimeout time.Duration
	// MaxPending bounds the requests waiting on one connection.
	MaxPending int
	// MaxAnswer bounds the body of one answer, in bytes.
	MaxAnswer int
	// Time drives the silence bound and the dial-failure memo; default
	// clock.Real().
	Time clock.Clock
}

// NewHTTPTransport returns a transport.
func NewHTTPTransport(cfg HTTPConfig) *HTTPTransport {
	if cfg.Time == nil {
		cfg.Time = clock.Real()
	}
	return &HTTPTransport{
		idleConn:   cfg.ServerIdleTimeout / 2,
		connect:    cfg.ConnectTimeout,
		maxPending: cfg.MaxPending,
		maxAnswer:  cfg.MaxAnswer,
		time:       cfg.Time,
		peers:      map[string]*peerConns{},
	}
}

// silentAfter bounds how long a connection may stay silent under requests
// before it is declared dead: twice the connect timeout, so that a peer cut
// off is given up on well within a request's budget while a slow one (a
// long GC or compaction stall) is not.
func (t *HTTPTransport) silentAfter() time.Duration { return 2 * t.connect }

// conn returns a usable connection to addr, dialling if needed.
func (t *HTTPTransport) conn(addr string) (*pipeConn, error) {
	t.mu.Lock()
	p, ok := t.peers[addr]
	if !ok {
		p = &peerConns{}
		t.peers[addr] = p
	}
	t.mu.Unlock()
	s := &p.slots[p.next.Add(1)%pipelineConns]
	s.mu.Lock()
	defer s.mu.Unlock()
	// Checked under the slot's lock: Close sets closed before it takes
	// the slots' locks, so no connection is opened after it passed.
	if t.closed.Load() {
		return nil, errors.New("transport closed")
	}
	if s.pc != nil && s.pc.usable(t.idleConn) {
		return s.pc, nil
	}
	if s.pc != nil {
		s.pc.fail(errors.New("retired: idle or broken"))
		s.pc = nil
	}
	if s.dialErr != nil && t.time.Now().Sub(s.dialAt) < dialFailureMemo {
		return nil, s.dialErr
	}
	c, err := net.DialTimeout("tcp", addr, t.connect)
	s.dialAt, s.dialErr = t.time.Now(), err
	if err != nil {
		return nil, err
	}
	s.pc = newPipeConn(c, addr, t.maxPending, t.maxAnswer, t.silentAfter(), t.time)
	return s.pc, nil
}

// Call implements Transport.
func (t *HTTPTransport) Call(ctx context.Context, addr string, op wire.Op, body []byte) ([]byte, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("call %s %s: %w", addr, op, err)
	}
	pc, err := t.conn(addr)
	if err != nil {
		return nil, fmt.Errorf("%w: call %s %s: %v", wire.ErrUnreachable, addr, op, err)
	}
	call, _, err := pc.send(ctx, InternodePrefix+string(op), body)
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		return nil, fmt.Errorf("call %s %s: %w", addr, op, err)
	case err != nil:
		return nil, fmt.Errorf("%w: call %s %s: %v", wire.ErrUnreachable, addr, op, err)
	}
	if call.status != fasthttp.StatusOK {
		if !call.octetStream {
			// Not a dynkv peer answering (proxy, wrong port, old version).
			return nil, &wire.RemoteError{Code: wire.CodeBadMessage, Message: fmt.Sprintf("status %d from %s", call.status, addr)}
		}
		return nil, wire.DecodeRemoteError(call.body)
	}
	return call.body, nil
}

// Close closes every connection; requests waiting on them fail, and so
// do later ones.
func (t *HTTPTransport) Close() error {
	t.closed.Store(true)
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range t.peers {
		for i := range p.slots {
			s := &p.slots[i]
			s.mu.Lock()
			if s.pc != nil {
				s.pc.fail(errors.New("transport closed"))
			}
			s.mu.Unlock()
		}
	}
	return nil
}

// ServeInternode answers an internode request on the node's HTTP server.
// It sets no deadline of its own: replica operations are local and end
// without one, so a timer per request would be spent for nothing.
func ServeInternode(rc *fasthttp.RequestCtx, h Handler, op wire.Op) {
	out, err := h.HandleInternode(context.Background(), op, rc.PostBody())
	rc.SetContentType("application/octet-stream")
	if err != nil {
		re := wire.AsRemoteError(err)
		status := fasthttp.StatusInternalServerError
		if re.Code == wire.CodeBadMessage {
			status = fasthttp.StatusBadRequest
		} else if re.Code != wire.CodeInternal {
			status = fasthttp.StatusConflict
		}
		rc.SetStatusCode(status)
		rc.SetBody(wire.EncodeRemoteError(re))
		return
	}
	rc.SetBody(out)
}
