package transport

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dynkv/dynkv/node/clock"
	"github.com/valyala/fasthttp"
)

// pipeConn is one pipelined HTTP/1.1 connection to a peer: callers write
// their requests back to back without waiting for answers, and one reader
// hands the answers out in the order the requests went. Under load one
// write and one read syscall then carry many messages (the peer's fasthttp
// server flushes answers only when it has no further request buffered),
// which is where a node's CPU went (docs/BENCHMARKS.md).
//
// Failure is never silent or slow: when the connection breaks (the peer
// died, closed it, sent garbage) every request waiting on it fails at once,
// and nothing is retried here — a request may have been applied, and the
// coordinator decides what to do. fasthttp's PipelineClient was measured
// first and dropped for the opposite behaviour: requests queued for a dead
// peer waited out their deadline while it redialled in a tight loop.
type pipeConn struct {
	conn net.Conn
	bw   *bufio.Writer
	host string // the Host header

	writeMu sync.Mutex
	// writers counts callers between deciding to write and having written:
	// the one that brings it back to 0 flushes, so requests that queue up
	// behind a write go out in one syscall (group commit).
	writers atomic.Int32
	pending chan *pipeCall // answers owed, in request order

	broken   atomic.Bool
	failOnce sync.Once
	err      error         // why it broke; set before done is closed
	done     chan struct{} // closed when broken
	lastUsed atomic.Int64  // unix nanoseconds of the last request written
	lastRead atomic.Int64  // unix nanoseconds of the last answer read
	// silentAfter is how long a request waits with no answer at all
	// coming back on the connection before the connection is declared
	// dead (see send).
	silentAfter time.Duration
	// maxAnswer bounds an answer's body, so that a peer (or anything
	// listening at its address) cannot make this node buffer without end.
	maxAnswer int
	time      clock.Clock
}

// pipeCall is one request's answer, filled in by the reader.
type pipeCall struct {
	status      int
	octetStream bool // the answer is dynkv's (not a proxy's page)
	body        []byte
	err         error
	ready       chan struct{}
}

// errPipelineFull refuses a request, unsent, when too many wait on a
// connection.
var errPipelineFull = errors.New("too many requests waiting on the connection")

func newPipeConn(conn net.Conn, host string, maxPending, maxAnswer int, silentAfter time.Duration, c clock.Clock) *pipeConn {
	pc := &pipeConn{
		conn:        conn,
		bw:          bufio.NewWriterSize(conn, 64<<10),
		host:        host,
		pending:     make(chan *pipeCall, maxPending),
		done:        make(chan struct{}),
		silentAfter: silentAfter,
		maxAnswer:   maxAnswer,
		time:        c,
	}
	now := c.Now().UnixNano()
	pc.lastUsed.Store(now)
	pc.lastRead.Store(now)
	go pc.readLoop()
	return pc
}

// fail breaks the connection: it is closed, and every request waiting on
// it (or arriving later) fails with err.
func (pc *pipeConn) fail(err error) {
	pc.failOnce.Do(func() {
		pc.err = err
		pc.broken.Store(true)
		pc.conn.Close()
		close(pc.done)
	})
}

// usable reports whether new requests may be written on pc.
func (pc *pipeConn) usable(maxIdle time.Duration) bool {
	return !pc.broken.Load() && pc.time.Now().Sub(time.Unix(0, pc.lastUsed.Load())) < maxIdle
}

// send writes one request and waits for its answer or ctx. sent reports
// whether any of the request may have reached the peer: if not, the
// caller may safely send it elsewhere.
func (pc *pipeConn) send(ctx context.Context, path string, body []byte) (call *pipeCall, sent bool, err error) {
	call = &pipeCall{ready: make(chan struct{})}
	pc.writers.Add(1)
	pc.writeMu.Lock()
	err = pc.write(ctx, call, path, body)
	sent = err == nil
	if pc.writers.Add(-1) == 0 && !pc.broken.Load() {
		if ferr := pc.bw.Flush(); ferr != nil {
			pc.fail(fmt.Errorf("write: %w", ferr))
		}
	}
	pc.writeMu.Unlock()
	if err != nil {
		return nil, false, err
	}
	// A peer cut off by a partition neither answers nor resets: without a
	// bound, every request queued on the connection would wait out its
	// deadline and the coordinator would never turn to a stand-in (the
	// chaos suite's partition showed 19 timed-out requests). So a connection on
	// which nothing at all came back for silentAfter while this request
	// waited is declared dead, and its requests fail as unreachable. An
	// answer to any request on it resets the clock; but a peer answers a
	// connection's requests in order, so one request slower than
	// silentAfter (a stall of seconds) also ends the connection.
	since := pc.time.Now().UnixNano()
	silent := pc.time.NewTimer(pc.silentAfter)
	defer silent.Stop()
	for {
		select {
		case <-call.ready:
			return call, true, call.err
		case <-ctx.Done():
			// The answer is still read, in turn, and dropped.
			return nil, true, ctx.Err()
		case <-silent.C():
			if last := pc.lastRead.Load(); last > since {
				since = last
				silent.Reset(pc.silentAfter)
				continue
			}
			pc.fail(fmt.Errorf("no answer from the peer for %v", pc.silentAfter))
			<-call.ready // the reader fails it (or had just answered it)
			return call, true, call.err
		}
	}
}

// write queues call and buffers its request; writeMu is held.
func (pc *pipeConn) write(ctx context.Context, call *pipeCall, path string, body []byte) error {
	if pc.broken.Load() {
		return pc.err
	}
	select {
	case pc.pending <- call:
	default:
		return errPipelineFull
	}
	pc.lastUsed.Store(pc.time.Now().UnixNano())
	if d, ok := ctx.Deadline(); ok {
		pc.conn.SetWriteDeadline(d)
	}
	// Written by hand: five header lines, and the body as is.
	b := pc.bw.AvailableBuffer()
	b = append(b, "POST "...)
	b = append(b, path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, pc.host...)
	b = append(b, "\r\nContent-Type: application/octet-stream\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n\r\n"...)
	if _, err := pc.bw.Write(b); err != nil {
		pc.fail(fmt.Errorf("write: %w", err))
		return nil // queued: the reader fails it with the rest
	}
	if _, err := pc.bw.Write(body); err != nil {
		pc.fail(fmt.Errorf("write: %w", err))
	}
	return nil
}

// readLoop reads answers in order and hands each to its call. It also
// watches the connection while nothing is owed, so a peer that closes an
// idle connection (its idle timeout, a restart) is noticed before the next
// request is written on it.
func (pc *pipeConn) readLoop() {
	br := bufio.NewReaderSize(pc.conn, 64<<10)
	var resp fasthttp.Response
	for {
		if _, err := br.Peek(1); err != nil {
			pc.fail(fmt.Errorf("read: %w", err))
			break
		}
		var call *pipeCall
		select {
		case call = <-pc.pending:
		default:
			pc.fail(errors.New("peer sent data nobody asked for"))
		}
		if call == nil {
			break
		}
		resp.Reset()
		if err := resp.ReadLimitBody(br, pc.maxAnswer); err != nil {
			pc.fail(fmt.Errorf("read answer: %w", err))
			call.err = pc.err
			close(call.ready)
			break
		}
		call.status = resp.StatusCode()
		call.octetStream = string(resp.Header.ContentType()) == "application/octet-stream"
		call.body = append([]byte(nil), resp.Body()...)
		pc.lastRead.Store(pc.time.Now().UnixNano())
		close(call.ready)
		if resp.ConnectionClose() {
			pc.fail(errors.New("peer closed the connection"))
			break
		}
	}
	// Fail whatever is still owed. Holding writeMu, no caller is between
	// its check of broken and queueing its call.
	pc.writeMu.Lock()
	defer pc.writeMu.Unlock()
	for {
		select {
		case call := <-pc.pending:
			call.err = pc.err
			close(call.ready)
		default:
			return
		}
	}
}
