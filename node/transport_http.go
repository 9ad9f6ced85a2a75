package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// internodePrefix is the path under which nodes call each other; the
// operation follows it (e.g. /internal/v1/write).
const internodePrefix = "/internal/v1/"

// HTTPTransport sends internode requests over HTTP with fasthttp,
// pipelined: each peer gets a few long-lived connections on which requests
// are written back to back without waiting for answers. Under load a
// single write and a single read then carry many requests and answers (the
// peer's server flushes answers only once it has no further request
// buffered), which cut the in-process cluster benchmark's CPU per operation
// by a fifth against a pool of one connection per request in flight
// (docs/BENCHMARKS.md). The price is head-of-line blocking: a peer answers
// one connection's requests in order, so a slow one delays those behind
// it; pipelineConns bounds that from one side.
type HTTPTransport struct {
	// IdleConn must stay below the peers' server idle timeout, so the
	// client, not the server, closes an idle connection.
	idleConn time.Duration
	maxConns int
	// connect bounds dialing a peer: a partitioned peer's SYNs go
	// unanswered, and waiting the OS's seconds for each would spend a
	// request's whole budget before the next replica is tried.
	connect time.Duration

	mu      sync.Mutex
	clients map[string]*fasthttp.PipelineClient
}

// pipelineConns is the connections per peer. One measured fastest, but a
// request that is slow to apply would then hold up every other one to that
// peer; two keep most of the batching.
const pipelineConns = 2

// maxPipelined bounds the requests waiting on one connection; beyond it a
// call fails at once (ErrPipelineOverflow) rather than queue without end.
const maxPipelined = 1024

// NewHTTPTransport returns a transport; serverIdleTimeout is the IdleTimeout
// of the peers' HTTP servers, connectTimeout bounds dialing one.
func NewHTTPTransport(serverIdleTimeout, connectTimeout time.Duration) *HTTPTransport {
	return &HTTPTransport{
		idleConn: serverIdleTimeout / 2,
		maxConns: pipelineConns,
		connect:  connectTimeout,
		clients:  map[string]*fasthttp.PipelineClient{},
	}
}

func (t *HTTPTransport) client(addr string) *fasthttp.PipelineClient {
	t.mu.Lock()
	defer t.mu.Unlock()
	c, ok := t.clients[addr]
	if !ok {
		// No retries: a pipelined request that failed may have been
		// applied, and a repeated mint would add a duplicate sibling. The
		// coordinator moves on to another replica instead.
		c = &fasthttp.PipelineClient{
			Addr: addr,
			Name: "dynkv-internode",
			Dial: func(addr string) (net.Conn, error) {
				return fasthttp.DialTimeout(addr, t.connect)
			},
			MaxConns:                 t.maxConns,
			MaxPendingRequests:       maxPipelined,
			MaxIdleConnDuration:      t.idleConn,
			NoDefaultUserAgentHeader: true,
		}
		t.clients[addr] = c
	}
	return c
}

// Call implements Transport.
func (t *HTTPTransport) Call(ctx context.Context, addr string, op Op, body []byte) ([]byte, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(10 * time.Second)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("call %s %s: %w", addr, op, err)
	}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI(internodePrefix + string(op))
	req.SetHost(addr)
	req.Header.SetContentType("application/octet-stream")
	req.SetBodyRaw(body)
	if err := t.client(addr).DoDeadline(req, resp, deadline); err != nil {
		if errors.Is(err, fasthttp.ErrTimeout) {
			return nil, fmt.Errorf("call %s %s: %w", addr, op, context.DeadlineExceeded)
		}
		return nil, fmt.Errorf("%w: call %s %s: %v", ErrUnreachable, addr, op, err)
	}
	out := append([]byte(nil), resp.Body()...)
	if resp.StatusCode() != fasthttp.StatusOK {
		if string(resp.Header.ContentType()) != "application/octet-stream" {
			// Not a dynkv peer answering (proxy, wrong port, old version).
			return nil, &RemoteError{Code: codeBadMessage, Message: fmt.Sprintf("status %d from %s", resp.StatusCode(), addr)}
		}
		return nil, decodeRemoteError(out)
	}
	return out, nil
}

// Close is a no-op kept for symmetry with the node's shutdown: pipelined
// connections close themselves once idle for idleConn, and the process
// ending closes the rest.
func (t *HTTPTransport) Close() {}

// serveInternode answers an internode request on the node's HTTP server.
// It sets no deadline of its own: replica operations are local and end
// without one, and a timer per request cost 3 % of a node's CPU.
func serveInternode(rc *fasthttp.RequestCtx, h InternodeHandler, op Op) {
	out, err := h.HandleInternode(context.Background(), op, rc.PostBody())
	rc.SetContentType("application/octet-stream")
	if err != nil {
		re := asRemoteError(err)
		status := fasthttp.StatusInternalServerError
		if re.Code == codeBadMessage {
			status = fasthttp.StatusBadRequest
		} else if re.Code != codeInternal {
			status = fasthttp.StatusConflict
		}
		rc.SetStatusCode(status)
		rc.SetBody(encodeRemoteError(re))
		return
	}
	rc.SetBody(out)
}
