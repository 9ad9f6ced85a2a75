package transport

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dynkv/dynkv/node/clock"
	"github.com/dynkv/dynkv/node/internal/wire"
)

// muxConn is one framed connection to a peer, carrying many calls at once:
// each request frame has an id, and its answer, whenever it comes, goes to
// the call waiting for that id. No call waits behind another, however
// slow the peer is to apply it.
//
// Failure is never silent or slow: when the connection breaks every call
// waiting on it fails at once, and nothing is retried
// here (a request may have been applied; the coordinator decides). A
// connection that stays silent for silentAfter while calls wait is
// declared dead (see watch).
type muxConn struct {
	conn     net.Conn
	w        *frameWriter
	maxFrame int
	// maxPending bounds the calls waiting on the connection.
	maxPending  int
	silentAfter time.Duration
	time        clock.Clock

	mu     sync.Mutex
	calls  map[uint64]*muxCall
	nextID uint64
	// waitingSince is when calls last went from none to some (unix ns).
	waitingSince int64

	broken   atomic.Bool
	failOnce sync.Once
	err      error         // why it broke; set before done is closed
	done     chan struct{} // closed when broken
	lastUsed atomic.Int64  // unix nanoseconds of the last request sent
	lastRead atomic.Int64  // unix nanoseconds of the last frame read
}

// muxCall is one call's answer, filled in by the reader.
type muxCall struct {
	body    []byte
	refused bool // body is a wire.EncodeRemoteError
	err     error
	ready   chan struct{}
}

func newMuxConn(conn net.Conn, cfg FramedConfig) *muxConn {
	mc := &muxConn{
		conn:        conn,
		maxFrame:    cfg.MaxFrame,
		maxPending:  cfg.MaxPending,
		silentAfter: silentAfter(cfg.ConnectTimeout),
		time:        cfg.Time,
		calls:       map[uint64]*muxCall{},
		done:        make(chan struct{}),
	}
	now := cfg.Time.Now().UnixNano()
	mc.lastUsed.Store(now)
	mc.lastRead.Store(now)
	mc.w = newFrameWriter(conn, mc.silentAfter, mc.fail)
	go mc.readLoop()
	go mc.watch()
	return mc
}

// fail breaks the connection: it is closed, and every call waiting on it
// (or arriving later) fails with err.
func (mc *muxConn) fail(err error) {
	mc.failOnce.Do(func() {
		mc.err = err
		mc.broken.Store(true)
		mc.w.stop(err)
		mc.conn.Close()
		close(mc.done)
		mc.mu.Lock()
		calls := mc.calls
		mc.calls = map[uint64]*muxCall{}
		mc.mu.Unlock()
		for _, c := range calls {
			c.err = err
			close(c.ready)
		}
	})
}

// usable implements pooledConn.
func (mc *muxConn) usable(maxIdle time.Duration) bool {
	return !mc.broken.Load() && mc.time.Now().Sub(time.Unix(0, mc.lastUsed.Load())) < maxIdle
}

// call sends one request and waits for its answer or ctx.
func (mc *muxConn) call(ctx context.Context, op wire.Op, body []byte) (*muxCall, error) {
	c := &muxCall{ready: make(chan struct{})}
	id, err := mc.register(c)
	if err != nil {
		return nil, err
	}
	if err := mc.w.send(frameRequest, id, op, body); err != nil {
		mc.forget(id)
		return nil, err
	}
	select {
	case <-c.ready:
		return c, c.err
	case <-ctx.Done():
		// A late answer finds no call and is dropped.
		mc.forget(id)
		return nil, ctx.Err()
	}
}

var errTooManyCalls = errors.New("too many calls waiting on the connection")

func (mc *muxConn) register(c *muxCall) (uint64, error) {
	now := mc.time.Now().UnixNano()
	mc.mu.Lock()
	defer mc.mu.Unlock()
	if mc.broken.Load() {
		return 0, mc.err
	}
	if len(mc.calls) >= mc.maxPending {
		return 0, errTooManyCalls
	}
	mc.nextID++
	if len(mc.calls) == 0 {
		mc.waitingSince = now
	}
	mc.calls[mc.nextID] = c
	mc.lastUsed.Store(now)
	return mc.nextID, nil
}

// take removes and returns the call waiting for id (nil: none, as for an
// answer that came after its caller gave up).
func (mc *muxConn) take(id uint64) *muxCall {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	c := mc.calls[id]
	delete(mc.calls, id)
	return c
}

func (mc *muxConn) forget(id uint64) { mc.take(id) }

// readLoop reads answers and hands each to its call on this goroutine:
// handing over is a channel close, too short to be worth a hand-off. It
// also notices a peer that closes an idle connection before the next call
// is sent on it.
func (mc *muxConn) readLoop() {
	br := bufio.NewReaderSize(mc.conn, 64<<10)
	for {
		f, err := readFrame(br, mc.maxFrame)
		if err != nil {
			mc.fail(fmt.Errorf("read: %w", err))
			return
		}
		mc.lastRead.Store(mc.time.Now().UnixNano())
		if f.kind == frameRequest {
			mc.fail(errors.New("peer sent a request on a connection this node dialled"))
			return
		}
		if f.id == 0 && f.kind == frameRefusal {
			// Not about one call: the peer refuses the connection (a
			// version it does not speak) and closes it.
			mc.fail(fmt.Errorf("peer refused the connection: %w", wire.DecodeRemoteError(f.body)))
			return
		}
		if c := mc.take(f.id); c != nil {
			c.body, c.refused = f.body, f.kind == frameRefusal
			close(c.ready)
		}
	}
}

// watch declares the connection dead when calls wait and nothing at all
// came back on it for silentAfter. A peer cut off by a partition neither
// answers nor resets: without a bound, every call on the connection would
// wait out its deadline and the coordinator would never turn to a stand-in
// (the chaos suite's partition showed 19 timed-out requests). Any frame
// read resets the clock, so one slow request on a connection that answers
// others keeps it alive. One ticker per connection, not a timer per call.
func (mc *muxConn) watch() {
	t := mc.time.NewTicker(mc.silentAfter / 4)
	defer t.Stop()
	for {
		select {
		case <-mc.done:
			return
		case <-t.C():
		}
		mc.mu.Lock()
		waiting, since := len(mc.calls) > 0, mc.waitingSince
		mc.mu.Unlock()
		if !waiting {
			continue
		}
		since = max(since, mc.lastRead.Load())
		if mc.time.Now().Sub(time.Unix(0, since)) >= mc.silentAfter {
			mc.fail(fmt.Errorf("no answer from the peer for %v", mc.silentAfter))
			return
		}
	}
}
