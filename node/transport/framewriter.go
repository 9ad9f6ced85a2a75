package transport

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"time"

	"github.com/dynkv/dynkv/node/internal/wire"
)

// frameWriter is a connection's one writer. Callers append frames to a
// queue and return at once; one goroutine writes the whole queue with one
// syscall, so every frame queued while the previous write was in the
// kernel goes out together (group commit of the network: under load one
// write carries many frames, where one write per message was 28 % of a
// node's CPU; docs/BENCHMARKS.md). When idle it costs nothing: the
// goroutine sleeps on a channel.
type frameWriter struct {
	conn net.Conn
	// timeout bounds one write: a peer that stops reading (frozen,
	// partitioned with a full window) breaks the connection instead of
	// holding this side's queue for ever.
	timeout time.Duration
	onFail  func(error)

	mu      sync.Mutex
	queue   []byte
	err     error // set once the connection broke; nothing is queued after
	wake    chan struct{}
	stopped chan struct{}
	exited  chan struct{} // closed when the goroutine has returned
}

// maxKeptBuffer bounds the buffer capacity a writer keeps between writes,
// so that one burst of large frames does not pin its memory.
const maxKeptBuffer = 1 << 20

func newFrameWriter(conn net.Conn, timeout time.Duration, onFail func(error)) *frameWriter {
	w := &frameWriter{conn: conn, timeout: timeout, onFail: onFail,
		wake: make(chan struct{}, 1), stopped: make(chan struct{}), exited: make(chan struct{})}
	go w.loop()
	return w
}

var errConnClosed = errors.New("connection closed")

// send queues one frame. It fails only if the connection already broke;
// a frame queued may still be lost when it breaks later, which the
// connection's callers learn from their calls failing.
func (w *frameWriter) send(kind uint8, id uint64, op wire.Op, body []byte) error {
	w.mu.Lock()
	if w.err != nil {
		err := w.err
		w.mu.Unlock()
		return err
	}
	w.queue = appendFrame(w.queue, kind, id, op, body)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default: // already woken: the write to come takes this frame too
	}
	return nil
}

// stop makes later sends fail with err and ends the writer goroutine;
// what was queued is dropped.
func (w *frameWriter) stop(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
		close(w.stopped)
	}
	w.mu.Unlock()
}

// stopAndWait stops the writer and returns once no write is in progress,
// so that the caller may write to the connection itself.
func (w *frameWriter) stopAndWait(err error) {
	w.stop(err)
	<-w.exited
}

func (w *frameWriter) loop() {
	defer close(w.exited)
	var spare []byte
	for {
		select {
		case <-w.wake:
		case <-w.stopped:
			return
		}
		// Let the goroutines that are about to queue a frame do so first:
		// woken by the first frame of a burst, the writer would otherwise
		// send it alone.
		runtime.Gosched()
		w.mu.Lock()
		if len(w.queue) == 0 {
			w.mu.Unlock()
			continue
		}
		// Two buffers in turn: callers fill one while the other is written.
		out := w.queue
		w.queue = spare[:0]
		w.mu.Unlock()
		if w.timeout > 0 {
			// The kernel's deadline is on the real clock, whatever clock
			// the node's timers use.
			w.conn.SetWriteDeadline(time.Now().Add(w.timeout))
		}
		if _, err := w.conn.Write(out); err != nil {
			w.stop(fmt.Errorf("write: %w", err))
			w.onFail(fmt.Errorf("write: %w", err))
			return
		}
		if cap(out) <= maxKeptBuffer {
			spare = out[:0]
		} else {
			spare = nil
		}
	}
}
