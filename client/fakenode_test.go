package client

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeNode is an httptest server answering with a scripted handler and
// counting the requests it saw.
type fakeNode struct {
	*httptest.Server
	hits atomic.Int64
	mu   sync.Mutex
	last *http.Request
	body string
}

func newFakeNode(t *testing.T, h http.HandlerFunc) *fakeNode {
	t.Helper()
	return startFakeNode(t, h, (*httptest.Server).Start)
}

// startFakeNode is newFakeNode with the server set up and started by
// start: StartTLS, say.
func startFakeNode(t *testing.T, h http.HandlerFunc, start func(*httptest.Server)) *fakeNode {
	t.Helper()
	f := &fakeNode{}
	f.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.last, f.body = r, string(b)
		f.mu.Unlock()
		h(w, r)
	}))
	start(f.Server)
	t.Cleanup(f.Close)
	return f
}

func (f *fakeNode) lastRequest() (*http.Request, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last, f.body
}

// apiError answers like a dynkv node refusing a request.
func apiError(status int, code string, extra string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Dynkv-Node", "fake")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error":"scripted %s","code":%q%s}`, code, code, extra)
	}
}

func ok(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Dynkv-Node", "good")
	switch r.Method {
	case http.MethodGet:
		w.Header().Set("X-Causal-Context", "AQEP")
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"siblings":[{"value":"aGk=","content_type":"text/plain","modified":"2026-01-02T03:04:05.006Z"}],"context":"AQEP"}`)
	default:
		w.Header().Set("X-Causal-Context", "AQIP")
		w.WriteHeader(http.StatusNoContent)
	}
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func newTestClient(t *testing.T, endpoints []string, opts ...Option) *Client {
	t.Helper()
	opts = append([]Option{WithBackoff(time.Millisecond, 5*time.Millisecond)}, opts...)
	c, err := New(endpoints, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// preferFailed makes the failed endpoint i the first choice again, as
// if its cool-down were over; it is still probed before it carries a request.
func preferFailed(c *Client, i int) {
	c.preferred.Store(int32(i))
	c.endpoints[i].downUntil.Store(0)
}
