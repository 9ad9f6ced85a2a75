package transport

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dynkv/dynkv/node/clock"
	"github.com/dynkv/dynkv/node/internal/testutil"
	"github.com/dynkv/dynkv/node/internal/wire"
)

// handlerFunc adapts a function to Handler.
type handlerFunc func(ctx context.Context, op wire.Op, body []byte) ([]byte, error)

func (f handlerFunc) HandleInternode(ctx context.Context, op wire.Op, body []byte) ([]byte, error) {
	return f(ctx, op, body)
}

// echoHandler answers with the body.
var echoHandler = handlerFunc(func(_ context.Context, _ wire.Op, body []byte) ([]byte, error) {
	return append([]byte(nil), body...), nil
})

type framedPeer struct {
	srv  *FramedServer
	addr string
	done chan error
}

func testServerConfig() FramedServerConfig {
	return FramedServerConfig{MaxFrame: 1 << 20, IdleTimeout: time.Minute, WriteTimeout: 5 * time.Second,
		MaxInFlight: 256, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func startFramedPeer(t testing.TB, addr string, h Handler, cfg FramedServerConfig) *framedPeer {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	testutil.Eventually(t, 5*time.Second, "listening on "+addr, func() bool {
		var err error
		ln, err = net.Listen("tcp", addr)
		return err == nil
	})
	p := &framedPeer{srv: NewFramedServer(h, cfg), addr: ln.Addr().String(), done: make(chan error, 1)}
	go func() { p.done <- p.srv.Serve(ln) }()
	t.Cleanup(p.stop)
	return p
}

func (p *framedPeer) stop() {
	p.srv.Close()
	<-p.done
	p.done <- nil // later stops return at once
}

func newTestFramed(c clock.Clock) *FramedTransport {
	return NewFramedTransport(FramedConfig{ConnectTimeout: time.Second, IdleTimeout: time.Minute,
		MaxPending: 1024, MaxFrame: 1 << 20, Time: c})
}

func callWithin(tr Transport, addr string, op wire.Op, body string, d time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return tr.Call(ctx, "", addr, op, []byte(body))
}

// Many concurrent callers on two connections each get their own answer,
// and a slow request holds up none of the others.
func TestFramedAnswersOutOfOrder(t *testing.T) {
	release := make(chan struct{})
	p := startFramedPeer(t, "", handlerFunc(func(ctx context.Context, op wire.Op, body []byte) ([]byte, error) {
		if op == wire.OpMerge {
			<-release
		}
		return append([]byte(nil), body...), nil
	}), testServerConfig())
	tr := newTestFramed(nil)
	defer tr.Close()
	slow := make(chan error, framedConns)
	for i := range framedConns { // one slow call on every connection
		go func() {
			got, err := callWithin(tr, p.addr, wire.OpMerge, fmt.Sprint("slow", i), 20*time.Second)
			if err == nil && string(got) != fmt.Sprint("slow", i) {
				err = fmt.Errorf("slow call got %q", got)
			}
			slow <- err
		}()
	}
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			want := fmt.Sprint("fast", i)
			got, err := callWithin(tr, p.addr, wire.OpRead, want, 10*time.Second)
			if err != nil || string(got) != want {
				errs <- fmt.Errorf("call %d: %q %v", i, got, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	close(release)
	for range framedConns {
		if err := <-slow; err != nil {
			t.Error(err)
		}
	}
}

// A peer's refusal reaches the caller as the same *wire.RemoteError.
func TestFramedRefusalIsARemoteError(t *testing.T) {
	p := startFramedPeer(t, "", handlerFunc(func(context.Context, wire.Op, []byte) ([]byte, error) {
		return nil, &wire.RemoteError{Code: wire.CodeShuttingDown, Message: "draining"}
	}), testServerConfig())
	tr := newTestFramed(nil)
	defer tr.Close()
	_, err := callWithin(tr, p.addr, wire.OpRead, "x", 5*time.Second)
	var re *wire.RemoteError
	if !errors.As(err, &re) || re.Code != wire.CodeShuttingDown || re.Message != "draining" {
		t.Fatalf("refusal: %v; want shutting_down draining", err)
	}
}

// A dead peer fails fast, and a failed dial is remembered for a moment so
// that it costs one dial, not one per call.
func TestFramedDeadPeerFailsFast(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := clock.NewManual(time.Unix(1700000000, 0))
	tr := newTestFramed(c)
	defer tr.Close()
	for range framedConns { // each connection slot dials once
		if _, err := callWithin(tr, addr, wire.OpRead, "x", 5*time.Second); !errors.Is(err, wire.ErrUnreachable) {
			t.Fatalf("call to a dead peer: %v; want wire.ErrUnreachable", err)
		}
	}
	// Within the memo the same dial error comes back without a dial: a
	// listener started now (which would leave a call waiting) is not
	// reached.
	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen again on %s, freed a moment ago: %v", addr, err)
	}
	defer ln2.Close()
	for range framedConns {
		if _, err := callWithin(tr, addr, wire.OpRead, "x", 5*time.Second); !errors.Is(err, wire.ErrUnreachable) {
			t.Fatalf("call within the dial-failure memo: %v; want the remembered failure", err)
		}
	}
	c.Advance(dialFailureMemo)
	if _, err := callWithin(tr, addr, wire.OpRead, "x", 50*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("call after the memo: %v; want a dial (and a wait: nothing answers)", err)
	}
}

// When the connection breaks every call waiting on it fails at once, as
// unreachable, long before its deadline.
func TestFramedInFlightFailOnBreak(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	p := startFramedPeer(t, "", handlerFunc(func(context.Context, wire.Op, []byte) ([]byte, error) {
		<-block
		return nil, nil
	}), testServerConfig())
	tr := newTestFramed(nil)
	defer tr.Close()
	const calls = 20
	errs := make(chan error, calls)
	for range calls {
		go func() {
			_, err := callWithin(tr, p.addr, wire.OpRead, "x", time.Minute)
			errs <- err
		}()
	}
	testutil.Eventually(t, 5*time.Second, "every call is waiting", func() bool {
		n := 0
		for _, mc := range tr.pool.conns(poolKey("", p.addr)) {
			mc.mu.Lock()
			n += len(mc.calls)
			mc.mu.Unlock()
		}
		return n == calls
	})
	for _, mc := range tr.pool.conns(poolKey("", p.addr)) {
		mc.conn.Close() // as a peer's crash resets it
	}
	for range calls {
		select {
		case err := <-errs:
			if !errors.Is(err, wire.ErrUnreachable) {
				t.Fatalf("call on a broken connection: %v; want wire.ErrUnreachable", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a call on a broken connection is still waiting")
		}
	}
}

// A call that gave up leaves its late answer to nobody: the next call on
// the connection gets its own.
func TestFramedLateAnswerReachesNobody(t *testing.T) {
	gate := make(chan struct{})
	p := startFramedPeer(t, "", handlerFunc(func(_ context.Context, op wire.Op, body []byte) ([]byte, error) {
		if op == wire.OpMerge {
			<-gate
		}
		return append([]byte(nil), body...), nil
	}), testServerConfig())
	tr := newTestFramed(nil)
	defer tr.Close()
	if _, err := callWithin(tr, p.addr, wire.OpMerge, "late", 50*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("call past its deadline: %v", err)
	}
	close(gate)
	for i := range 20 {
		want := fmt.Sprint("next", i)
		got, err := callWithin(tr, p.addr, wire.OpRead, want, 5*time.Second)
		if err != nil || string(got) != want {
			t.Fatalf("call after a late answer: %q %v; want %q", got, err, want)
		}
	}
}

// A restarted peer is reached again: the transport notices its old
// connections closed and dials new ones.
func TestFramedRedialsAfterRestart(t *testing.T) {
	p := startFramedPeer(t, "", echoHandler, testServerConfig())
	tr := newTestFramed(nil)
	defer tr.Close()
	for range framedConns {
		if _, err := callWithin(tr, p.addr, wire.OpRead, "x", 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	addr := p.addr
	p.stop()
	startFramedPeer(t, addr, echoHandler, testServerConfig())
	testutil.Eventually(t, 5*time.Second, "the transport notices the closed connections", func() bool {
		for _, mc := range tr.pool.conns(poolKey("", addr)) {
			if !mc.broken.Load() {
				return false
			}
		}
		return true
	})
	testutil.Eventually(t, 5*time.Second, "a call succeeds after the restart", func() bool {
		_, err := callWithin(tr, addr, wire.OpRead, "x", 5*time.Second)
		return err == nil
	})
}

// Something else at the address (an HTTP server) is a clear failure, not
// a hang or a huge allocation.
func TestFramedNotADynkvPeer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"))
				io.Copy(io.Discard, c)
			}()
		}
	}()
	tr := newTestFramed(nil)
	defer tr.Close()
	_, err = callWithin(tr, ln.Addr().String(), wire.OpRead, "x", 10*time.Second)
	if !errors.Is(err, wire.ErrUnreachable) || !strings.Contains(err.Error(), "not a dynkv internode peer") {
		t.Fatalf("call to an HTTP server: %v; want unreachable, naming the cause", err)
	}
}

// A peer that accepts and never answers is given up on at the silence
// bound (on the injected clock), not at the call's deadline.
func TestFramedSilentPeerIsGivenUp(t *testing.T) {
	addr := silentPeer(t)
	c := clock.NewManual(time.Unix(1700000000, 0))
	tr := newTestFramed(c) // silent after 2 s of c
	defer tr.Close()
	errc := make(chan error, 1)
	go func() {
		_, err := callWithin(tr, addr, wire.OpMerge, "x", time.Minute)
		errc <- err
	}()
	for {
		select {
		case err := <-errc:
			if !errors.Is(err, wire.ErrUnreachable) || !strings.Contains(err.Error(), "no answer") {
				t.Fatalf("call to a silent peer: %v; want unreachable at the silence bound", err)
			}
			return
		case <-time.After(10 * time.Millisecond):
			c.Advance(250 * time.Millisecond)
		}
	}
}

// An answer larger than the bound fails its call (the connection is
// dropped, never buffered), and the next call goes out on a new one.
func TestFramedOversizedAnswer(t *testing.T) {
	p := startFramedPeer(t, "", handlerFunc(func(_ context.Context, _ wire.Op, body []byte) ([]byte, error) {
		if string(body) == "big" {
			return make([]byte, 2<<10), nil
		}
		return append([]byte(nil), body...), nil
	}), testServerConfig())
	tr := NewFramedTransport(FramedConfig{ConnectTimeout: time.Second, IdleTimeout: time.Minute, MaxPending: 1024, MaxFrame: 1 << 10})
	defer tr.Close()
	if _, err := callWithin(tr, p.addr, wire.OpRead, "big", 5*time.Second); !errors.Is(err, wire.ErrUnreachable) {
		t.Fatalf("oversized answer: %v; want a failure", err)
	}
	testutil.Eventually(t, 5*time.Second, "the next call succeeds", func() bool {
		got, err := callWithin(tr, p.addr, wire.OpRead, "small", 5*time.Second)
		return err == nil && string(got) == "small"
	})
}

// A frame of a version the server does not speak is refused with a
// refusal naming both versions, and the connection closed; a client that
// gets such a refusal fails the connection with it.
func TestFramedOtherVersionRefused(t *testing.T) {
	p := startFramedPeer(t, "", echoHandler, testServerConfig())
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f := appendFrame(nil, frameRequest, 7, wire.OpRead, []byte("x"))
	f[4] = FrameVersion + 1
	if _, err := c.Write(f); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	got, err := readFrame(br, 1<<20)
	if err != nil || got.kind != frameRefusal || got.id != 0 {
		t.Fatalf("answer to a frame of version %d: %+v %v; want a refusal of the connection", FrameVersion+1, got, err)
	}
	re := wire.DecodeRemoteError(got.body)
	if re.Code != wire.CodeBadMessage || !strings.Contains(re.Message, fmt.Sprintf("version %d; this node speaks version %d", FrameVersion+1, FrameVersion)) {
		t.Fatalf("refusal %+v; want bad_message naming both versions", re)
	}
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("connection still open after the refusal")
	}
}

// Admission refuses a request before its body is read; the connection
// stays usable for the next.
func TestFramedAdmissionRefusal(t *testing.T) {
	cfg := testServerConfig()
	cfg.Admit = func(n int) (func(), error) {
		if n > 100 {
			return nil, &wire.RemoteError{Code: "overloaded", Message: "too many bytes in flight"}
		}
		return func() {}, nil
	}
	p := startFramedPeer(t, "", echoHandler, cfg)
	tr := newTestFramed(nil)
	defer tr.Close()
	_, err := callWithin(tr, p.addr, wire.OpMerge, strings.Repeat("x", 200), 5*time.Second)
	var re *wire.RemoteError
	if !errors.As(err, &re) || re.Code != "overloaded" {
		t.Fatalf("call over the admission limit: %v; want overloaded", err)
	}
	for range 2 * framedConns {
		if got, err := callWithin(tr, p.addr, wire.OpRead, "small", 5*time.Second); err != nil || string(got) != "small" {
			t.Fatalf("call after a refusal: %q %v", got, err)
		}
	}
}

// silentPeer listens on loopback, accepts connections and never reads
// from or answers on them, as a peer cut off by a partition looks; its
// connections are closed in cleanup.
func silentPeer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	return ln.Addr().String()
}
