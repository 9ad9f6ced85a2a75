package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/dynkv/dynkv/node/clock"
	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/valyala/fasthttp"
)

// InternodePrefix is the path under which nodes call each other; the
// operation follows it (e.g. /internal/v1/write).
const InternodePrefix = "/internal/v1/"

// HTTPTransport sends internode requests over HTTP, pipelined
// (pipeline.go) on pipelineConns connections per peer. It is the transport
// of peers that announce no framed internode address (FramedTransport).
type HTTPTransport struct {
	// connect bounds dialing a peer: a partitioned peer's SYNs go
	// unanswered, and waiting the OS's seconds for each would spend a
	// request's whole budget before the next replica is tried.
	connect    time.Duration
	maxPending int
	maxAnswer  int
	time       clock.Clock
	pool       *connPool[*pipeConn]
}

// pipelineConns is the connections per peer. One measured fastest, but a
// peer answers one connection's requests in order, so a request that is
// slow to apply would hold up every other one to that peer; two keep most
// of the batching.
const pipelineConns = 2

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
	t := &HTTPTransport{
		connect:    cfg.ConnectTimeout,
		maxPending: cfg.MaxPending,
		maxAnswer:  cfg.MaxAnswer,
		time:       cfg.Time,
	}
	// An idle connection is retired at half the server's idle timeout, so
	// that this side, not the server, ends it.
	t.pool = newConnPool(pipelineConns, cfg.ServerIdleTimeout/2, cfg.Time, t.dial)
	return t
}

// silentAfter bounds how long a connection may stay silent under requests
// before it is declared dead: twice the connect timeout, so that a peer cut
// off is given up on well within a request's budget while a slow one (a
// long GC or compaction stall) is not.
func silentAfter(connect time.Duration) time.Duration { return 2 * connect }

func (t *HTTPTransport) dial(addr string) (*pipeConn, error) {
	c, err := net.DialTimeout("tcp", addr, t.connect)
	if err != nil {
		return nil, err
	}
	return newPipeConn(c, addr, t.maxPending, t.maxAnswer, silentAfter(t.connect), t.time), nil
}

// Call implements Transport.
func (t *HTTPTransport) Call(ctx context.Context, addr string, op wire.Op, body []byte) ([]byte, error) {
	ctx, cancel := withDefaultDeadline(ctx)
	defer cancel()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("call %s %s: %w", addr, op, err)
	}
	pc, err := t.pool.get(addr)
	if err != nil {
		return nil, fmt.Errorf("%w: call %s %s: %v", wire.ErrUnreachable, addr, op, err)
	}
	call, _, err := pc.send(ctx, InternodePrefix+string(op), body)
	if err != nil {
		return nil, callError(addr, op, err)
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

// withDefaultDeadline gives ctx a deadline if it has none: no call may
// wait for ever.
func withDefaultDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, 10*time.Second)
}

// callError is the error of a call that got no answer: a context error as
// such, anything else as unreachable.
func callError(addr string, op wire.Op, err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("call %s %s: %w", addr, op, err)
	}
	return fmt.Errorf("%w: call %s %s: %v", wire.ErrUnreachable, addr, op, err)
}

// Close closes every connection; requests waiting on them fail, and so
// do later ones.
func (t *HTTPTransport) Close() error {
	t.pool.close()
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
