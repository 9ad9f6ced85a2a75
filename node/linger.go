package node

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// Lingering close: a refused request's connection is closed only after
// the answer had time to arrive. Closing a socket with unread input makes
// the kernel send a reset, which can destroy the answer in the client's
// buffers before the client reads it; the client, still sending its body,
// would see "connection reset" or "broken pipe" instead of 413 or 503. So
// the node sends its end of the stream, then discards what the client
// still sends, at most lingerBytes (beyond that, TCP flow control holds
// the client while it reads the answer), and closes when the client does
// or lingerFor has passed. Memory is not at stake: nothing is kept.
const (
	lingerFor   = 2 * time.Second
	lingerBytes = 4 << 20
)

// lingerThenClose closes the connection after this answer, gently (see
// lingerFor).
func lingerThenClose(rc *fasthttp.RequestCtx) {
	rc.SetConnectionClose()
	if c, ok := rc.Conn().(*lingerConn); ok {
		c.linger.Store(true)
	}
}

// lingerListener hands out connections that can close gently.
type lingerListener struct{ net.Listener }

func (l lingerListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &lingerConn{Conn: c}, nil
}

// lingerConn, once marked, closes by sending its end of the stream, then
// discarding what the client still sends for a while, then closing. It
// does so in a goroutine of its own: Close is also called by shutdown,
// for every connection in turn, and must not wait.
type lingerConn struct {
	net.Conn
	linger atomic.Bool
	once   sync.Once
	err    error
}

func (c *lingerConn) Close() error {
	c.once.Do(func() {
		if !c.linger.Load() {
			c.err = c.Conn.Close()
			return
		}
		go c.lingerClose()
	})
	return c.err
}

func (c *lingerConn) lingerClose() {
	defer c.Conn.Close()
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	// A socket deadline is wall-clock time by definition: no clock.Clock.
	deadline := time.Now().Add(lingerFor)
	c.Conn.SetReadDeadline(deadline)
	n, err := io.CopyN(io.Discard, c.Conn, lingerBytes)
	if n == lingerBytes && err == nil {
		// The client is still sending: let flow control hold it. Real
		// time, as the deadline is: this paces a socket, not the node.
		time.Sleep(time.Until(deadline))
	}
}
