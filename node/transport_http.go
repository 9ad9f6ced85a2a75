package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// internodePrefix is the path under which nodes call each other; the
// operation follows it (e.g. /internal/v1/write).
const internodePrefix = "/internal/v1/"

// HTTPTransport sends internode requests over HTTP with fasthttp, keeping a
// pool of keep-alive connections per peer.
type HTTPTransport struct {
	// IdleConn must stay below the peers' server idle timeout, or a pooled
	// connection the server already closed fails a non-idempotent POST.
	idleConn time.Duration
	maxConns int
	// connect bounds dialing a peer: a partitioned peer's SYNs go
	// unanswered, and waiting the OS's seconds for each would spend a
	// request's whole budget before the next replica is tried.
	connect time.Duration

	mu      sync.Mutex
	clients map[string]*fasthttp.HostClient
}

// NewHTTPTransport returns a transport; serverIdleTimeout is the IdleTimeout
// of the peers' HTTP servers, connectTimeout bounds dialing one.
func NewHTTPTransport(serverIdleTimeout, connectTimeout time.Duration, maxConnsPerPeer int) *HTTPTransport {
	return &HTTPTransport{
		idleConn: serverIdleTimeout / 2,
		maxConns: maxConnsPerPeer,
		connect:  connectTimeout,
		clients:  map[string]*fasthttp.HostClient{},
	}
}

func (t *HTTPTransport) client(addr string) *fasthttp.HostClient {
	t.mu.Lock()
	defer t.mu.Unlock()
	c, ok := t.clients[addr]
	if !ok {
		c = &fasthttp.HostClient{
			Addr: addr,
			Name: "dynkv-internode",
			Dial: func(addr string) (net.Conn, error) {
				return fasthttp.DialTimeout(addr, t.connect)
			},
			MaxConns:            t.maxConns,
			MaxIdleConnDuration: t.idleConn,
			// Wait briefly for a pooled connection under bursts instead of
			// failing at once with ErrNoFreeConns.
			MaxConnWaitTimeout: time.Second,
			// Retry only when a pooled connection turned out closed before
			// any answer (the peer's idle timeout): the request was not
			// processed. A timeout may have been, and a repeated mint
			// would add a duplicate sibling.
			RetryIfErr: func(_ *fasthttp.Request, _ int, err error) (bool, bool) {
				return false, errors.Is(err, fasthttp.ErrConnectionClosed) || errors.Is(err, io.EOF)
			},
			MaxIdemponentCallAttempts: 2,
			NoDefaultUserAgentHeader:  true,
			DisablePathNormalizing:    true,
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

// Close releases pooled connections.
func (t *HTTPTransport) Close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range t.clients {
		c.CloseIdleConnections()
	}
}

// serveInternode answers an internode request on the node's HTTP server.
// It sets no deadline of its own: replica operations are local and end
// without one, so a timer per request would be spent for nothing.
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
