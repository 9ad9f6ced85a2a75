package client

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"syscall"
)

// A keep-alive connection goes stale when its node closes it or dies
// while it sits in the pool. net/http notices that in the background, but
// a request can pick the connection up first; its write then reaches a
// closed socket and fails with EOF. For a write that failure looks as
// ambiguous as a node dying mid-request, so the client could not retry it,
// and the first writes after any node restart would fail.
//
// checkedConn closes that gap the way Apache HttpClient's stale-connection
// check does. Before the first write of a request on a connection that
// already carried one, it peeks at the socket without blocking: if the peer
// has closed it (or reset it, or sent something unasked), the connection is
// closed and the write refused with nothing sent. net/http then retries the
// request on a new connection by itself (it does so for any request when
// nothing was written), which reaches a live node or fails to connect —
// both provable outcomes. What remains ambiguous is only a node dying
// while our request is on the wire, as it should be.

// errStaleConn refuses a write on a connection its peer has closed.
var errStaleConn = errors.New("keep-alive connection closed by the node")

type checkedConn struct {
	net.Conn
	raw      syscall.RawConn // nil when the socket cannot be peeked at
	answered atomic.Bool     // data arrived since the last request was written
}

// dialChecked wraps dial's connections in checkedConn.
func dialChecked(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		c := &checkedConn{Conn: conn}
		if sc, ok := conn.(syscall.Conn); ok && canPeek {
			c.raw, _ = sc.SyscallConn()
		}
		return c, nil
	}
}

func (c *checkedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.answered.Store(true)
	}
	return n, err
}

func (c *checkedConn) Write(p []byte) (int, error) {
	// The first write after an answer starts the next request: check the
	// connection is still open before sending it.
	if c.answered.Swap(false) && c.raw != nil && peerClosed(c.raw) {
		c.Conn.Close()
		return 0, errStaleConn
	}
	return c.Conn.Write(p)
}
