package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/dynkv/dynkv/node/clock"
	"github.com/dynkv/dynkv/node/internal/wire"
)

// FramedTransport sends internode requests in the framed protocol
// (frame.go) to peers' internode listeners (FramedServer), multiplexed on
// framedConns connections per peer (mux.go).
type FramedTransport struct {
	cfg  FramedConfig
	pool *connPool[*muxConn]
}

// framedConns is the connections per peer. Calls do not wait behind each
// other on one, so more would only split the batching of writes; two keep
// one peer's traffic on both of a receiver's cores' reader goroutines.
const framedConns = 2

// FramedConfig configures a FramedTransport.
type FramedConfig struct {
	// ConnectTimeout bounds dialing a peer; twice it is the silence bound
	// of a connection with calls waiting.
	ConnectTimeout time.Duration
	// IdleTimeout is the peers' FramedServerConfig.IdleTimeout; this side
	// retires a connection idle for half of it.
	IdleTimeout time.Duration
	// MaxPending bounds the calls waiting on one connection.
	MaxPending int
	// MaxFrame bounds the body of one answer, in bytes.
	MaxFrame int
	// Time drives the silence bound and the dial-failure memo; default
	// clock.Real().
	Time clock.Clock
	// TLS, if set, gives the configuration to dial a peer with, which must
	// make the handshake fail unless the peer proves it is node (any node
	// of the cluster when node is ""): connections are then mutually
	// authenticated before any frame is sent (docs/SECURITY.md).
	TLS func(node string) *tls.Config
}

// NewFramedTransport returns a transport.
func NewFramedTransport(cfg FramedConfig) *FramedTransport {
	if cfg.Time == nil {
		cfg.Time = clock.Real()
	}
	t := &FramedTransport{cfg: cfg}
	t.pool = newConnPool(framedConns, cfg.IdleTimeout/2, cfg.Time, t.dial)
	return t
}

// poolKey names one peer's connections: the address and, because a
// connection is authenticated as one node, the node expected there.
func poolKey(node, addr string) string { return node + "\x00" + addr }

func (t *FramedTransport) dial(key string) (*muxConn, error) {
	node, addr, _ := strings.Cut(key, "\x00")
	d := &net.Dialer{Timeout: t.cfg.ConnectTimeout}
	if t.cfg.TLS == nil {
		c, err := d.Dial("tcp", addr)
		if err != nil {
			return nil, err
		}
		return newMuxConn(c, t.cfg), nil
	}
	// The handshake is bounded by the same timeout as the dial: a peer
	// that accepts and never answers must not hold the slot longer.
	ctx, cancel := context.WithTimeout(context.Background(), t.cfg.ConnectTimeout)
	defer cancel()
	c, err := (&tls.Dialer{NetDialer: d, Config: t.cfg.TLS(node)}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("TLS with %s: %w", addr, err)
	}
	return newMuxConn(c, t.cfg), nil
}

// Call implements Transport.
func (t *FramedTransport) Call(ctx context.Context, node, addr string, op wire.Op, body []byte) ([]byte, error) {
	if len(op) > maxOpLen {
		return nil, fmt.Errorf("call %s: operation name of %d bytes", addr, len(op))
	}
	ctx, cancel := withDefaultDeadline(ctx)
	defer cancel()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("call %s %s: %w", addr, op, err)
	}
	mc, err := t.pool.get(poolKey(node, addr))
	if err != nil {
		return nil, fmt.Errorf("%w: call %s %s: %v", wire.ErrUnreachable, addr, op, err)
	}
	c, err := mc.call(ctx, op, body)
	if err != nil {
		return nil, callError(addr, op, err)
	}
	if c.refused {
		return nil, wire.DecodeRemoteError(c.body)
	}
	return c.body, nil
}

// Close closes every connection; calls waiting on them fail, and so do
// later ones.
func (t *FramedTransport) Close() error {
	t.pool.close()
	return nil
}

// silentAfter bounds how long a connection may stay silent under calls
// before it is declared dead: twice the connect timeout, so that a peer cut
// off is given up on well within a request's budget while a slow one (a
// long GC or compaction stall) is not.
func silentAfter(connect time.Duration) time.Duration { return 2 * connect }

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
