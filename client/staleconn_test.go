package client

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// TestStaleConnCheck: a pooled connection whose node has closed it refuses
// the next request's write with nothing sent (so net/http retries it on a
// new connection), while an open one carries requests as usual.
func TestStaleConnCheck(t *testing.T) {
	t.Parallel()
	if !canPeek {
		t.Skip("no socket peek on this platform")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	conn, err := dialChecked((&net.Dialer{}).DialContext)(context.Background(), "tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	srv, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	exchange := func(req string) {
		t.Helper()
		if _, err := conn.Write([]byte(req)); err != nil {
			t.Fatalf("write %s: %v", req, err)
		}
		if _, err := io.ReadFull(srv, buf[:len(req)]); err != nil {
			t.Fatal(err)
		}
		if _, err := srv.Write([]byte("ok")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(conn, buf[:2]); err != nil {
			t.Fatal(err)
		}
	}
	exchange("first")
	exchange("second") // reused and open: goes through
	srv.Close()
	// The close reaches the client's socket asynchronously.
	deadline := time.Now().Add(10 * time.Second)
	for !peerClosed(conn.(*checkedConn).raw) {
		if time.Now().After(deadline) {
			t.Fatal("the peer's close never showed on the socket")
		}
		time.Sleep(time.Millisecond)
	}
	if n, err := conn.Write([]byte("third")); n != 0 || !errors.Is(err, errStaleConn) {
		t.Fatalf("write on a closed keep-alive connection: %d, %v; want 0, errStaleConn", n, err)
	}
}
