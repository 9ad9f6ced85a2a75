package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dynkv/dynkv/node/internal/testutil"
	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/valyala/fasthttp"
)

// peerServer is a fasthttp server on loopback standing in for a peer.
type peerServer struct {
	ln   net.Listener
	srv  *fasthttp.Server
	addr string
}

func startPeer(t testing.TB, addr string, h fasthttp.RequestHandler) *peerServer {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	// A restarted peer's port may take a moment to free.
	testutil.Eventually(t, 5*time.Second, "listening on "+addr, func() bool {
		var err error
		ln, err = net.Listen("tcp", addr)
		return err == nil
	})
	p := &peerServer{ln: ln, srv: &fasthttp.Server{Handler: h, IdleTimeout: time.Minute}, addr: ln.Addr().String()}
	go p.srv.Serve(ln)
	t.Cleanup(p.stop)
	return p
}

// stop closes the listener and every connection, as a killed peer would.
func (p *peerServer) stop() {
	p.ln.Close()
	p.srv.Shutdown() // closes open connections once idle
}

// echo answers with the request body, as octet-stream.
func echo(rc *fasthttp.RequestCtx) {
	rc.SetContentType("application/octet-stream")
	rc.SetBody(rc.PostBody())
}

// TestPipelineAnswersInOrder: many concurrent callers on few pipelined
// connections each get their own answer.
func TestPipelineAnswersInOrder(t *testing.T) {
	p := startPeer(t, "", echo)
	tr := NewHTTPTransport(HTTPConfig{ServerIdleTimeout: time.Minute, ConnectTimeout: time.Second, MaxPending: 1024, MaxAnswer: 1 << 20})
	defer tr.Close()
	var wg sync.WaitGroup
	for g := range 64 {
		wg.Go(func() {
			for i := range 200 {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				want := fmt.Sprintf("caller %d request %d", g, i)
				got, err := tr.Call(ctx, p.addr, wire.OpRead, []byte(want))
				cancel()
				if err != nil || string(got) != want {
					t.Errorf("got %q, %v; want %q", got, err, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestPipelineDeadPeerFailsFast: requests to a peer that is gone fail as
// unreachable at once, not when their deadline runs out, so the
// coordinator moves on to a stand-in. This is what fasthttp's
// PipelineClient got wrong.
func TestPipelineDeadPeerFailsFast(t *testing.T) {
	p := startPeer(t, "", echo)
	tr := NewHTTPTransport(HTTPConfig{ServerIdleTimeout: time.Minute, ConnectTimeout: time.Second, MaxPending: 1024, MaxAnswer: 1 << 20})
	defer tr.Close()
	ctx := context.Background()
	long := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, 20*time.Second) }
	c, cancel := long()
	if _, err := tr.Call(c, p.addr, wire.OpRead, []byte("x")); err != nil {
		t.Fatal(err)
	}
	cancel()
	p.stop()
	for i := range 20 {
		c, cancel := long()
		_, err := tr.Call(c, p.addr, wire.OpRead, []byte("x"))
		cancel()
		if !errors.Is(err, wire.ErrUnreachable) {
			t.Fatalf("call %d to a stopped peer: %v; want wire.ErrUnreachable", i, err)
		}
	}
}

// TestPipelineInFlightFailOnBreak: requests waiting for answers when the
// connection breaks all fail at once.
func TestPipelineInFlightFailOnBreak(t *testing.T) {
	release := make(chan struct{})
	var arrived atomic.Int32
	p := startPeer(t, "", func(rc *fasthttp.RequestCtx) {
		arrived.Add(1)
		<-release
		echo(rc)
	})
	defer close(release)
	tr := NewHTTPTransport(HTTPConfig{ServerIdleTimeout: time.Minute, ConnectTimeout: time.Second, MaxPending: 1024, MaxAnswer: 1 << 20})
	defer tr.Close()
	errs := make(chan error, 10)
	for range 10 {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_, err := tr.Call(ctx, p.addr, wire.OpMerge, []byte("x"))
			errs <- err
		}()
	}
	testutil.Eventually(t, 5*time.Second, "a request reaches the peer", func() bool { return arrived.Load() > 0 })
	// Break every connection from the client side, as a reset would.
	tr.Close()
	for range 10 {
		select {
		case err := <-errs:
			if !errors.Is(err, wire.ErrUnreachable) {
				t.Errorf("in-flight request: %v; want wire.ErrUnreachable", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a request waiting on a broken connection did not fail")
		}
	}
}

// TestPipelineDeadlineThenNextAnswer: a request that times out leaves its
// answer to be read and dropped; the next request on the connection gets
// its own answer, not the late one.
func TestPipelineDeadlineThenNextAnswer(t *testing.T) {
	slow := make(chan struct{})
	p := startPeer(t, "", func(rc *fasthttp.RequestCtx) {
		if string(rc.PostBody()) == "slow" {
			<-slow
		}
		echo(rc)
	})
	tr := NewHTTPTransport(HTTPConfig{ServerIdleTimeout: time.Minute, ConnectTimeout: time.Second, MaxPending: 1024, MaxAnswer: 1 << 20})
	defer tr.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	// Both slots must carry a slow request, so that the next call shares a
	// connection with one.
	for range pipelineConns {
		if _, err := tr.Call(ctx, p.addr, wire.OpRead, []byte("slow")); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("slow call: %v; want a deadline error", err)
		}
	}
	cancel()
	close(slow)
	for i := range 10 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		want := fmt.Sprint("fast ", i)
		got, err := tr.Call(ctx, p.addr, wire.OpRead, []byte(want))
		cancel()
		if err != nil || string(got) != want {
			t.Fatalf("after a timed-out call: %q, %v; want %q", got, err, want)
		}
	}
}

// TestPipelineRedialsAfterRestart: a peer that closed the connections
// (restart, idle timeout) is dialled again, and no request is lost to the
// closed connection.
func TestPipelineRedialsAfterRestart(t *testing.T) {
	p := startPeer(t, "", echo)
	tr := NewHTTPTransport(HTTPConfig{ServerIdleTimeout: time.Minute, ConnectTimeout: time.Second, MaxPending: 1024, MaxAnswer: 1 << 20})
	defer tr.Close()
	call := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := tr.Call(ctx, p.addr, wire.OpRead, []byte("x"))
		return err
	}
	for range pipelineConns {
		if err := call(); err != nil {
			t.Fatal(err)
		}
	}
	addr := p.addr
	p.stop()
	p = startPeer(t, addr, echo)
	// The old connections were closed by the peer while idle: the reader
	// noticed, so the first requests after the restart go out on new ones.
	testutil.Eventually(t, 5*time.Second, "the transport notices the closed connections", func() bool {
		for _, pc := range tr.pool.conns(addr) {
			if !pc.broken.Load() {
				return false
			}
		}
		return true
	})
	// A dial that failed in the restart gap is remembered for a moment.
	testutil.Eventually(t, 5*time.Second, "a call succeeds after the restart", func() bool { return call() == nil })
	for i := range 10 {
		if err := call(); err != nil {
			t.Fatalf("call %d after the restart: %v", i, err)
		}
	}
}

// TestPipelineNotADynkvPeer: an answer that is not dynkv's is a bad
// message, not a crash or a hang.
func TestPipelineNotADynkvPeer(t *testing.T) {
	p := startPeer(t, "", func(rc *fasthttp.RequestCtx) {
		rc.SetStatusCode(fasthttp.StatusNotFound)
		rc.SetBodyString("<html>not here</html>")
	})
	tr := NewHTTPTransport(HTTPConfig{ServerIdleTimeout: time.Minute, ConnectTimeout: time.Second, MaxPending: 1024, MaxAnswer: 1 << 20})
	defer tr.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := tr.Call(ctx, p.addr, wire.OpRead, []byte("x"))
	var re *wire.RemoteError
	if !errors.As(err, &re) || re.Code != wire.CodeBadMessage {
		t.Fatalf("got %v; want a bad_message wire.RemoteError", err)
	}
}

// TestPipelineSilentPeerIsGivenUp: a peer that takes requests and never
// answers, as one cut off by a partition does, fails the requests after
// the silence bound, not at their deadline, so the coordinator can turn to
// a stand-in within the request's budget.
func TestPipelineSilentPeerIsGivenUp(t *testing.T) {
	addr := silentPeer(t)
	tr := NewHTTPTransport(HTTPConfig{ServerIdleTimeout: time.Minute, ConnectTimeout: 50 * time.Millisecond, MaxPending: 1024, MaxAnswer: 1 << 20}) // silent after 100 ms
	defer tr.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := tr.Call(ctx, addr, wire.OpMerge, []byte("x"))
	if !errors.Is(err, wire.ErrUnreachable) {
		t.Fatalf("call to a silent peer: %v; want wire.ErrUnreachable (given up on), not a deadline", err)
	}
}

// TestPipelineOversizedAnswer: an answer larger than the bound fails its
// request (the connection cannot be resynchronised, so it is dropped) and
// is not buffered; the next request goes out on a new connection.
func TestPipelineOversizedAnswer(t *testing.T) {
	p := startPeer(t, "", func(rc *fasthttp.RequestCtx) {
		rc.SetContentType("application/octet-stream")
		if string(rc.PostBody()) == "big" {
			rc.SetBody(make([]byte, 2<<10))
			return
		}
		echo(rc)
	})
	tr := NewHTTPTransport(HTTPConfig{ServerIdleTimeout: time.Minute, ConnectTimeout: time.Second, MaxPending: 1024, MaxAnswer: 1 << 10})
	defer tr.Close()
	call := func(body string) ([]byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return tr.Call(ctx, p.addr, wire.OpRead, []byte(body))
	}
	if _, err := call("big"); !errors.Is(err, wire.ErrUnreachable) {
		t.Fatalf("oversized answer: %v; want a failure", err)
	}
	testutil.Eventually(t, 5*time.Second, "the next request succeeds", func() bool {
		got, err := call("small")
		return err == nil && string(got) == "small"
	})
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
