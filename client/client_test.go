package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
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

// TestErrorCodes checks that every error code of the API maps to its
// sentinel and that the APIError carries the detail.
func TestErrorCodes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		status int
		code   string
		want   error
	}{
		{400, CodeBadKey, ErrBadRequest},
		{400, CodeBadQuorum, ErrBadRequest},
		{400, CodeBadContext, ErrBadRequest},
		{400, CodeBadRequest, ErrBadRequest},
		{404, CodeNotFound, ErrNotFound},
		{408, CodeRequestTimeout, ErrTimeout},
		{409, CodeTooManySiblings, ErrTooManySiblings},
		{413, CodeValueTooLarge, ErrValueTooLarge},
		{503, CodeQuorumUnavailable, ErrQuorumUnavailable},
		{503, CodeShuttingDown, ErrShuttingDown},
		{504, CodeTimeout, ErrTimeout},
		{500, CodeInternal, ErrInternal},
		{401, CodeUnauthenticated, ErrUnauthenticated},
		{403, CodeForbidden, ErrForbidden},
	}
	sentinels := []error{ErrNotFound, ErrBadRequest, ErrValueTooLarge, ErrTooManySiblings,
		ErrQuorumUnavailable, ErrTimeout, ErrShuttingDown, ErrInternal, ErrUnavailable, ErrUnauthenticated, ErrForbidden}
	for _, tc := range cases {
		t.Run(tc.code, func(t *testing.T) {
			t.Parallel()
			f := newFakeNode(t, apiError(tc.status, tc.code, `,"acks":1,"required":2`))
			c := newTestClient(t, []string{f.URL}, WithMaxAttempts(2))
			_, err := c.Put(context.Background(), "k", []byte("v"), CausalContext{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("Put: %v; want errors.Is %v", err, tc.want)
			}
			for _, s := range sentinels {
				if s != tc.want && errors.Is(err, s) {
					t.Errorf("error %v also matches %v", err, s)
				}
			}
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("%v is not an *APIError", err)
			}
			if ae.Status != tc.status || ae.Code != tc.code || ae.Node != "fake" || ae.Acks != 1 || ae.Required != 2 ||
				ae.Message != "scripted "+tc.code || ae.Endpoint != f.URL {
				t.Errorf("APIError %+v", *ae)
			}
			if !strings.Contains(err.Error(), `put "k"`) || !strings.Contains(err.Error(), tc.code) {
				t.Errorf("message %q does not name the operation, key and code", err)
			}
		})
	}
}

// TestErrorNotJSON checks an error answer that is not dynkv's (a proxy's
// page) still maps by status.
func TestErrorNotJSON(t *testing.T) {
	t.Parallel()
	f := newFakeNode(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "upstream says no", http.StatusGatewayTimeout)
	})
	c := newTestClient(t, []string{f.URL}, WithMaxAttempts(1))
	_, err := c.Get(context.Background(), "k")
	var ae *APIError
	if !errors.Is(err, ErrTimeout) || !errors.As(err, &ae) || !strings.Contains(ae.Message, "upstream says no") {
		t.Fatalf("got %v", err)
	}
}

// TestFailoverNotAnswering: a node that refuses connections is skipped, for
// reads and writes alike, and the client sticks to the one that answers.
func TestFailoverNotAnswering(t *testing.T) {
	t.Parallel()
	good := newFakeNode(t, ok)
	c := newTestClient(t, []string{closedAddr(t), good.URL})
	ctx := context.Background()
	var node string
	if _, err := c.Put(ctx, "k", []byte("v"), CausalContext{}, ServedBy(&node)); err != nil || node != "good" {
		t.Fatalf("Put: %v, served by %q", err, node)
	}
	res, err := c.Get(ctx, "k")
	if err != nil || res.Node != "good" || string(res.Siblings[0].Value) != "hi" {
		t.Fatalf("Get: %+v, %v", res, err)
	}
	if err := c.Delete(ctx, "k", res.Context); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if got := good.hits.Load(); got != 3 {
		t.Errorf("good node saw %d requests, want 3", got)
	}
	if got := c.preferred.Load(); got != 1 {
		t.Errorf("preferred endpoint %d, want 1 (the one that answers)", got)
	}
}

// TestFailoverShuttingDown: 503 shutting_down is refused before anything
// is written, so writes fail over too.
func TestFailoverShuttingDown(t *testing.T) {
	t.Parallel()
	stopping := newFakeNode(t, apiError(503, CodeShuttingDown, ""))
	good := newFakeNode(t, ok)
	c := newTestClient(t, []string{stopping.URL, good.URL})
	if _, err := c.Put(context.Background(), "k", []byte("v"), CausalContext{}); err != nil {
		t.Fatal(err)
	}
	// The stopping node is cooling down: the next call goes straight to the
	// good one.
	if _, err := c.Get(context.Background(), "k"); err != nil {
		t.Fatal(err)
	}
	if stopping.hits.Load() != 1 || good.hits.Load() != 2 {
		t.Errorf("hits: stopping %d, good %d; want 1 and 2", stopping.hits.Load(), good.hits.Load())
	}
}

// TestAmbiguousWritesNotRetried: after 503 quorum_unavailable or 504 a
// replica may hold the write; a read moves on to the next coordinator, a
// write does not unless asked to.
func TestAmbiguousWritesNotRetried(t *testing.T) {
	t.Parallel()
	for _, code := range []string{CodeQuorumUnavailable, CodeTimeout} {
		status := map[string]int{CodeQuorumUnavailable: 503, CodeTimeout: 504}[code]
		t.Run(code, func(t *testing.T) {
			t.Parallel()
			bad := newFakeNode(t, apiError(status, code, `,"acks":1,"required":2`))
			good := newFakeNode(t, ok)
			c := newTestClient(t, []string{bad.URL, good.URL})
			ctx := context.Background()
			if _, err := c.Get(ctx, "k"); err != nil {
				t.Fatalf("Get should fail over: %v", err)
			}
			c.preferred.Store(0)
			if _, err := c.Put(ctx, "k", []byte("v"), CausalContext{}); err == nil {
				t.Fatal("Put after an ambiguous failure was retried")
			}
			if good.hits.Load() != 1 {
				t.Errorf("good node saw %d requests, want 1 (the Get)", good.hits.Load())
			}

			retrying := newTestClient(t, []string{bad.URL, good.URL}, WithRetryAmbiguousWrites())
			if _, err := retrying.Put(ctx, "k", []byte("v"), CausalContext{}); err != nil {
				t.Fatalf("Put with WithRetryAmbiguousWrites: %v", err)
			}
		})
	}
}

// TestBrokenConnection: a node that takes the request and hangs up gives a
// read to the next node but a write back to the caller, saying it may have
// been applied.
func TestBrokenConnection(t *testing.T) {
	t.Parallel()
	hangup := newFakeNode(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" { // it probes ready: the failure is mid-request
			ok(w, r)
			return
		}
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	good := newFakeNode(t, ok)
	c := newTestClient(t, []string{hangup.URL, good.URL})
	ctx := context.Background()
	if _, err := c.Get(ctx, "k"); err != nil {
		t.Fatalf("Get: %v", err)
	}
	preferFailed(c, 0)
	_, err := c.Put(ctx, "k", []byte("v"), CausalContext{})
	if err == nil || !strings.Contains(err.Error(), "may have been applied") {
		t.Fatalf("Put: %v; want a failure saying the write may have been applied", err)
	}
}

// TestAttemptTimeout: a node that never answers is given up on after the
// attempt timeout; a read moves on, a write reports ErrTimeout.
func TestAttemptTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	slow := newFakeNode(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			ok(w, r)
			return
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) })
	good := newFakeNode(t, ok)
	c := newTestClient(t, []string{slow.URL, good.URL}, WithAttemptTimeout(50*time.Millisecond))
	ctx := context.Background()
	if _, err := c.Get(ctx, "k"); err != nil {
		t.Fatalf("Get: %v", err)
	}
	preferFailed(c, 0)
	if _, err := c.Put(ctx, "k", []byte("v"), CausalContext{}); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Put: %v; want ErrTimeout", err)
	}
}

// TestCallerDeadline: the caller's context bounds the whole call, retries
// included, and the error says so.
func TestCallerDeadline(t *testing.T) {
	t.Parallel()
	f := newFakeNode(t, apiError(503, CodeQuorumUnavailable, ""))
	c := newTestClient(t, []string{f.URL}, WithMaxAttempts(1000), WithBackoff(10*time.Millisecond, 20*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.Get(ctx, "k")
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v; want ErrTimeout and context.DeadlineExceeded", err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if _, err := c.Get(ctx, "k"); !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
		t.Fatalf("cancelled: got %v", err)
	}
}

// TestAllUnreachable: no endpoint answers: ErrUnavailable wrapping the
// network error, after the configured attempts.
func TestAllUnreachable(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, []string{closedAddr(t), closedAddr(t)}, WithMaxAttempts(4))
	_, err := c.Put(context.Background(), "k", []byte("v"), CausalContext{})
	var op *net.OpError
	if !errors.Is(err, ErrUnavailable) || !errors.As(err, &op) || !strings.Contains(err.Error(), "after 4 attempts") {
		t.Fatalf("got %v", err)
	}
}

// TestRequestShape checks what goes on the wire: escaped keys, quorums,
// the context, content type and JSON reads.
func TestRequestShape(t *testing.T) {
	t.Parallel()
	f := newFakeNode(t, ok)
	c := newTestClient(t, []string{strings.TrimPrefix(f.URL, "http://")}) // bare host:port
	ctx := context.Background()
	cc, err := ParseCausalContext(" AQEPbjEuMWEyNjhjYTI3NTRlAQA ")
	if err != nil {
		t.Fatal(err)
	}
	key := "user/42 ?%#é\x00"
	next, err := c.Put(ctx, key, []byte("value"), cc, W(All), ContentType("text/plain"))
	if err != nil || next.String() != "AQIP" {
		t.Fatalf("Put: %v, %v", next, err)
	}
	r, body := f.lastRequest()
	if r.Method != "PUT" || r.URL.EscapedPath() != "/kv/user%2F42%20%3F%25%23%C3%A9%00" || r.URL.RawQuery != "w=all" ||
		r.Header.Get("X-Causal-Context") != cc.String() || r.Header.Get("Content-Type") != "text/plain" || body != "value" {
		t.Errorf("PUT request: %s %s?%s ctx=%q ct=%q body=%q", r.Method, r.URL.EscapedPath(), r.URL.RawQuery,
			r.Header.Get("X-Causal-Context"), r.Header.Get("Content-Type"), body)
	}
	if _, err := c.Put(ctx, "k", nil, CausalContext{}); err != nil {
		t.Fatal(err)
	}
	if r, _ := f.lastRequest(); r.ContentLength != 0 || r.Header.Get("X-Causal-Context") != "" {
		t.Errorf("empty PUT: length %d, context %q", r.ContentLength, r.Header.Get("X-Causal-Context"))
	}
	res, err := c.Get(ctx, key, R(Majority))
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := f.lastRequest(); r.URL.RawQuery != "r=quorum" || r.Header.Get("Accept") != "application/json" {
		t.Errorf("GET query %q accept %q", r.URL.RawQuery, r.Header.Get("Accept"))
	}
	want := time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)
	if len(res.Siblings) != 1 || string(res.Siblings[0].Value) != "hi" || res.Siblings[0].ContentType != "text/plain" ||
		!res.Siblings[0].Modified.Equal(want) || res.Context.String() != "AQEP" || res.Node != "good" {
		t.Errorf("Get: %+v", res)
	}
	if err := c.Delete(ctx, key, res.Context, W(2)); err != nil {
		t.Fatal(err)
	}
	if r, _ := f.lastRequest(); r.Method != "DELETE" || r.URL.RawQuery != "w=2" || r.Header.Get("X-Causal-Context") != "AQEP" {
		t.Errorf("DELETE: %s ?%s ctx %q", r.Method, r.URL.RawQuery, r.Header.Get("X-Causal-Context"))
	}
	c.Placement(ctx, "a b/c") // the fake's answer is not a placement; only the request matters
	if r, _ := f.lastRequest(); r.URL.Path != "/cluster/ring" || r.URL.Query().Get("key") != "a b/c" {
		t.Errorf("Placement asked %s", r.URL)
	}
}

// TestClientSideValidation: requests the server would refuse are refused
// before sending.
func TestClientSideValidation(t *testing.T) {
	t.Parallel()
	f := newFakeNode(t, ok)
	c := newTestClient(t, []string{f.URL})
	ctx := context.Background()
	for name, err := range map[string]error{
		"empty key":    func() error { _, err := c.Get(ctx, ""); return err }(),
		"long key":     func() error { _, err := c.Get(ctx, strings.Repeat("k", MaxKeyLen+1)); return err }(),
		"bad quorum":   func() error { _, err := c.Put(ctx, "k", nil, CausalContext{}, W(-3)); return err }(),
		"nil merge":    func() error { _, err := c.Update(ctx, "k", nil, nil); return err }(),
		"long key put": c.Delete(ctx, strings.Repeat("k", MaxKeyLen+1), CausalContext{}),
	} {
		if !errors.Is(err, ErrBadRequest) {
			t.Errorf("%s: %v; want ErrBadRequest", name, err)
		}
	}
	if f.hits.Load() != 0 {
		t.Errorf("%d requests reached the node", f.hits.Load())
	}
	if _, err := c.Get(ctx, strings.Repeat("k", MaxKeyLen)); err != nil {
		t.Errorf("key of exactly %d bytes: %v", MaxKeyLen, err)
	}
}

func TestParseCausalContext(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "AQEPbjEuMWEyNjhjYTI3NTRlAQA", "ab-_==", "  AQ\t"} {
		if _, err := ParseCausalContext(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	for _, s := range []string{"a b", "AQ+/", "AQ\n..", strings.Repeat("A", maxContextLen+1)} {
		if _, err := ParseCausalContext(s); !errors.Is(err, ErrBadRequest) {
			t.Errorf("%q: %v; want ErrBadRequest", s, err)
		}
	}
	cc, _ := ParseCausalContext("AQEP")
	var back CausalContext
	if b, _ := cc.MarshalText(); back.UnmarshalText(b) != nil || back != cc || cc.IsZero() || !(CausalContext{}).IsZero() {
		t.Errorf("text round trip: %v -> %v", cc, back)
	}
}

func TestParseQuorum(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]Quorum{"one": One, "quorum": Majority, "all": All, "1": 1, "3": 3} {
		if q, err := ParseQuorum(s); err != nil || q != want {
			t.Errorf("%q: %v, %v", s, q, err)
		}
		if q, _ := ParseQuorum(s); s != "one" && q.String() != s {
			t.Errorf("%q renders as %q", s, q)
		}
	}
	for _, s := range []string{"", "0", "-1", "two", "majority"} {
		if _, err := ParseQuorum(s); !errors.Is(err, ErrBadRequest) {
			t.Errorf("%q: %v", s, err)
		}
	}
}

func TestNewEndpoints(t *testing.T) {
	t.Parallel()
	c, err := New([]string{"127.0.0.1:1", "http://127.0.0.1:2/", "https://h:3", "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.Endpoints(), " "); got != "http://127.0.0.1:1 http://127.0.0.1:2 https://h:3" {
		t.Errorf("endpoints %s", got)
	}
	for _, bad := range [][]string{nil, {"ftp://h:1"}, {"http://h:1/path"}, {"http://u@h:1"}, {"http://"}} {
		if _, err := New(bad); err == nil {
			t.Errorf("New(%q) accepted", bad)
		}
	}
	if _, err := New([]string{"h:1"}, WithMaxAttempts(0)); err == nil {
		t.Error("WithMaxAttempts(0) accepted")
	}
}

// TestRoundRobin spreads calls over every endpoint.
func TestRoundRobin(t *testing.T) {
	t.Parallel()
	a, b := newFakeNode(t, ok), newFakeNode(t, ok)
	c := newTestClient(t, []string{a.URL, b.URL}, WithRoundRobin())
	for range 10 {
		if _, err := c.Get(context.Background(), "k"); err != nil {
			t.Fatal(err)
		}
	}
	if a.hits.Load() != 5 || b.hits.Load() != 5 {
		t.Errorf("hits %d and %d, want 5 and 5", a.hits.Load(), b.hits.Load())
	}
}

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
