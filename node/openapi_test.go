//go:build unix

package node

// TestOpenAPI drives live clusters through every route of the client and
// cluster API, and every error it can provoke, and validates each request
// and each answer against the OpenAPI 3.1 document the node serves at
// /openapi.json (docs/openapi.json; openapi_check_test.go). It then checks
// that
//   - every operation of the document was driven to success at least once
//     (a route the node serves but the document lacks fails validation on
//     its first success: no operation matches it);
//   - every status and error code the document lists was provoked, except
//     those in notProvoked, each with the reason it is not;
//   - each answer, mutated (another status, a body of another shape, a
//     required header removed), is refused: the validator is not vacuous.
//
// To add a route: describe it in docs/openapi.json (a path, its
// operations, their responses with the error codes in an enum as the
// other routes do), then call it here with s.call in the scenario that
// has what it needs: once to success and once for each error it adds. The
// coverage check names whatever is still missing. (The unix build tag: the
// full-disk hook, fullFloor, is unix-only.)

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/dynkv/dynkv/node/membership"
)

// notProvoked are documented answers this test does not cause, and why.
var notProvoked = map[string]string{
	"500 internal":         "a bug or an unexpected failure of the store: nothing a request can cause on purpose",
	"503 not_ready":        "a node restarted with serf membership while none of the members it recorded is alive (membership tests cover it)",
	"503 list_unavailable": "needs a partition none of whose replicas answers: with N=3 on 3 nodes the coordinator replicates every partition",
}

func TestOpenAPI(t *testing.T) {
	main := startCluster(t, LocalClusterOptions{Nodes: 3, HTTP: true, Configure: func(_ int, c *Config) {
		c.MaxValueBytes, c.MaxSiblings = 1000, 3
		// Bounds the two requests that wait for a replica that never answers.
		c.RequestTimeout = 2 * time.Second
		// A connection silent under calls is declared dead after twice
		// the connect timeout (transport.silentAfter): keep that well
		// past the request timeout, so that the black-holed replica below
		// times the request out (504) rather than failing it (503).
		c.ConnectTimeout = 3 * time.Second
	}})
	s := newSpecChecker(t, main.Addr(0))
	t.Run("clusters", func(t *testing.T) {
		t.Run("main", func(t *testing.T) {
			t.Parallel()
			openAPIKeys(t, s, main.Addr(0))
			openAPIBuckets(t, s, main)
			openAPIAdminAndCluster(t, s, main)
			openAPIRoutingErrors(t, s, main.Addr(0))
			openAPIFailures(t, s, main)
		})
		t.Run("secured", func(t *testing.T) { t.Parallel(); openAPISecured(t, s) })
		t.Run("full disk", func(t *testing.T) { t.Parallel(); openAPIFullDisk(t, s) })
		t.Run("keyring", func(t *testing.T) { t.Parallel(); openAPIKeyring(t, s) })
	})
	if t.Failed() {
		return
	}
	s.checkCoverage(t)
	s.checkMutants(t)
}

// openAPIKeys: reads, writes, siblings, deletes, listing, and the errors
// of key requests.
func openAPIKeys(t *testing.T, s *specChecker, a string) {
	text := []string{"Content-Type", "text/plain"}
	ctx := s.call(t, 204, "PUT", a, "/kv/greeting?w=all", []byte("hello"), text...).header.Get(HeaderContext)
	s.call(t, 200, "GET", a, "/kv/greeting", nil)
	s.call(t, 200, "GET", a, "/kv/greeting?r=quorum", nil, "Accept", "application/json")
	s.call(t, 204, "PUT", a, "/kv/greeting?w=all", []byte("hola"), HeaderContext, ctx, "Content-Type", "text/plain")
	s.call(t, 204, "PUT", a, "/kv/greeting?w=3", []byte("bonjour"), HeaderContext, ctx, "Content-Type", "text/plain")
	s.call(t, 300, "GET", a, "/kv/greeting?r=all", nil)
	ctx = s.call(t, 300, "GET", a, "/kv/greeting?r=one", nil, "Accept", "application/json").header.Get(HeaderContext)
	s.call(t, 204, "PUT", a, "/kv/greeting?w=quorum", []byte("hola/bonjour"), HeaderContext, ctx, "Content-Type", "text/plain")
	s.call(t, 204, "PUT", a, "/kv/user%2F42?w=all", []byte("x"), "Content-Type", "application/octet-stream")
	ctx = s.call(t, 200, "GET", a, "/kv/user%2F42", nil).header.Get(HeaderContext)
	s.call(t, 204, "DELETE", a, "/kv/user%2F42?w=all", nil, HeaderContext, ctx)
	s.call(t, 404, "GET", a, "/kv/user%2F42", nil)
	s.call(t, 404, "GET", a, "/kv/absent", nil, "Accept", "application/json")
	s.call(t, 204, "PUT", a, "/kv/user%2F7?w=all", []byte("x"), text...)
	s.call(t, 204, "PUT", a, "/kv/session?ttl=1h", []byte("x"), "X-TTL", "60")
	s.call(t, 200, "GET", a, "/kv/session", nil, "Accept", "application/json")
	s.call(t, 200, "GET", a, "/kv?prefix=user/&limit=1", nil)
	s.call(t, 200, "GET", a, "/kv?encoding=base64&prefix=dXNlcg%3D%3D&after=dXNlci80Mg%3D%3D", nil)
	s.call(t, 200, "GET", a, "/kv", nil)

	long := strings.Repeat("k", 1025)
	for _, bad := range []struct {
		status       int
		method, path string
		body         []byte
		headers      []string
	}{
		{400, "PUT", "/kv/", []byte("x"), nil},
		{400, "GET", "/kv/" + long, nil, nil},
		{400, "PUT", "/kv/%zz", []byte("x"), nil},
		{400, "PUT", "/kv/k?w=0", []byte("x"), nil},
		{400, "PUT", "/kv/k?ttl=soon", []byte("x"), nil},
		{400, "GET", "/cluster/status?scope=everywhere", nil, nil},
		{400, "PUT", "/kv/k?w=4", []byte("x"), nil},
		{400, "DELETE", "/kv/k?w=1&w=2", nil, nil},
		{400, "GET", "/kv/k?r=most", nil, nil},
		{400, "PUT", "/kv/k", []byte("x"), []string{HeaderContext, "not*base64"}},
		{400, "DELETE", "/kv/k", nil, []string{HeaderContext, "AQID"}},
		{400, "PUT", "/kv/other", []byte("x"), []string{HeaderContext, ctx}}, // context_mismatch
		{413, "PUT", "/kv/k", make([]byte, 1001), nil},
		{400, "GET", "/kv?limit=0", nil, nil},
		{400, "GET", "/kv?encoding=hex", nil, nil},
		{400, "GET", "/kv?encoding=base64&prefix=%21%21", nil, nil},
		{400, "GET", "/kv?prefix=" + long, nil, nil},
	} {
		s.call(t, bad.status, bad.method, a, bad.path, bad.body, bad.headers...)
	}
	// MaxSiblings is 3: a fourth concurrent write is refused.
	for i := range 3 {
		s.call(t, 204, "PUT", a, "/kv/crowd?w=all", fmt.Appendf(nil, "v%d", i), text...)
	}
	s.call(t, 409, "PUT", a, "/kv/crowd", []byte("one too many"), text...)
}

// openAPIAdminAndCluster: the operator's routes and probes, on a healthy
// cluster.
func openAPIAdminAndCluster(t *testing.T, s *specChecker, c *LocalCluster) {
	a := c.Addr(0)
	octet := []string{"Content-Type", "application/octet-stream"}
	state := s.call(t, 200, "GET", a, "/admin/set/greeting", nil).body
	s.call(t, 204, "POST", a, "/admin/set/restored", state, octet...)
	s.call(t, 404, "GET", a, "/admin/set/absent", nil)
	s.call(t, 400, "POST", a, "/admin/set/restored", []byte("not a set"), octet...)
	s.call(t, 400, "GET", a, "/admin/set/%zz", nil)
	s.call(t, 200, "GET", a, "/admin/local/greeting", nil)
	s.call(t, 200, "GET", a, "/admin/local/absent", nil)
	s.call(t, 400, "GET", a, "/admin/local/", nil)
	// Static membership is no keyring: the routes say gossip is not
	// encrypted (openAPIKeyring drives them on real serf).
	s.call(t, 409, "GET", a, "/admin/keyring", nil)
	s.call(t, 409, "POST", a, "/admin/keyring/install", []byte(`{"key":"AAAAAAAAAAAAAAAAAAAAAA=="}`), "Content-Type", "application/json")

	s.call(t, 200, "GET", a, "/cluster/members", nil)
	s.call(t, 200, "GET", a, "/cluster/ring", nil)
	s.call(t, 200, "GET", a, "/cluster/ring?key=greeting", nil)
	s.call(t, 400, "GET", a, "/cluster/ring?key="+strings.Repeat("k", 1025), nil)
	s.call(t, 200, "GET", a, "/cluster/handoffs", nil)
	s.call(t, 200, "GET", a, "/cluster/status", nil)
	s.call(t, 200, "GET", a, "/cluster/status?scope=local", nil)
	s.call(t, 200, "GET", a, "/version", nil)
	s.call(t, 302, "GET", a, "/", nil)
	s.call(t, 200, "GET", a, "/ui", nil)
	s.call(t, 200, "GET", a, "/ui/status", nil)
	s.call(t, 200, "GET", a, "/ui/assets/app.js", nil)
	s.call(t, 200, "GET", a, "/ui/assets/app.css", nil)
	for _, probe := range []string{"/healthz", "/readyz", "/livez"} {
		s.call(t, 200, "GET", a, probe, nil)
		s.call(t, 200, "HEAD", a, probe, nil)
	}
	s.call(t, 200, "GET", a, "/metrics", nil)
	s.call(t, 404, "POST", a, "/cluster/remove/nobody", nil)
	s.call(t, 409, "POST", a, "/cluster/remove/n1", nil) // itself
	s.call(t, 409, "POST", a, "/cluster/remove/n2", nil) // alive
	s.call(t, 400, "POST", a, "/cluster/remove/", nil)
	s.call(t, 400, "POST", a, "/cluster/remove/%zz", nil)
}

// openAPIRoutingErrors: unknown routes, and every documented path with a
// method it does not take.
func openAPIRoutingErrors(t *testing.T, s *specChecker, a string) {
	for _, path := range []string{"/nope", "/cluster/nope", "/admin/keyring/rotate", "/internal/v1/write", "/kvx", "/buckets/b/nope", "/buckets/b/kvx"} {
		s.call(t, 404, "POST", a, path, nil)
	}
	for _, op := range s.operations() {
		_, template, _ := strings.Cut(op, " ")
		path := strings.NewReplacer("{key}", "k", "{op}", "install", "{node}", "n9", "{bucket}", "b").Replace(template)
		res := s.call(t, 405, "PATCH", a, path, nil)
		if res.header.Get("Allow") == "" {
			t.Errorf("PATCH %s: 405 without Allow", path)
		}
	}
}

// openAPIFailures: replicas that never answer (504), then down (503);
// removing a failed member; leaving.
func openAPIFailures(t *testing.T, s *specChecker, c *LocalCluster) {
	a := c.Addr(0)
	hole := blackHole(t)
	c.Kill(2)
	c.Membership.Set(membership.Member{ID: NodeID(2), HTTPAddr: c.Addr(2), InternodeAddr: hole.Addr().String(), Status: membership.StatusAlive})
	s.call(t, 504, "PUT", a, "/kv/slow-put?w=all", []byte("x"), "Content-Type", "text/plain")
	s.call(t, 504, "GET", a, "/kv/greeting?r=all", nil)
	hole.Close()
	c.Kill(1)
	// Keys of their own: a write that failed may still have left a sibling.
	s.call(t, 503, "PUT", a, "/kv/down-put", []byte("x"), "Content-Type", "text/plain")
	s.call(t, 503, "DELETE", a, "/kv/down-delete", nil)
	s.call(t, 503, "GET", a, "/kv/greeting?r=2", nil)
	s.call(t, 503, "GET", a, "/admin/set/greeting", nil)
	s.call(t, 503, "POST", a, "/admin/set/down-merge", s.exchangeBody("GET", "/admin/set/greeting", 200), "Content-Type", "application/octet-stream")

	c.Membership.SetStatus(NodeID(2), membership.StatusFailed)
	s.call(t, 202, "POST", a, "/cluster/remove/n3", nil)
	s.call(t, 409, "POST", a, "/cluster/remove/n3", nil) // already left
	s.call(t, 202, "POST", a, "/cluster/leave", nil)
	s.call(t, 200, "GET", a, "/cluster/handoffs", nil)
	s.call(t, 200, "GET", a, "/cluster/status", nil)
	s.call(t, 200, "GET", a, "/cluster/members", nil)
}

// blackHole is a listener that takes connections and never answers: a
// replica that is stopped, not dead.
func blackHole(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	return ln
}

// exchangeBody is the body of a kept answer of that status to method path.
func (s *specChecker) exchangeBody(method, path string, status int) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.exchanges {
		if e.method == method && e.path == path && e.status == status {
			return e.body
		}
	}
	return nil
}

// checkCoverage: every operation succeeded once, and every documented
// answer was seen, but for notProvoked.
func (s *specChecker) checkCoverage(t *testing.T) {
	succeeded, answered := map[string]bool{}, map[string]bool{}
	for _, e := range s.exchanges {
		if e.template != "" && e.status < 400 {
			succeeded[e.method+" "+e.template] = true
		}
		answered[fmt.Sprint(e.status)] = true
		answered[fmt.Sprintf("%d %s", e.status, e.code)] = true
	}
	for _, op := range s.operations() {
		if !succeeded[op] {
			t.Errorf("%s is in docs/openapi.json but TestOpenAPI never drove it to success: call it", op)
		}
	}
	for _, a := range s.documentedAnswers() {
		if _, skip := notProvoked[a]; !answered[a] && !skip {
			t.Errorf("docs/openapi.json documents %s, which TestOpenAPI never provoked: provoke it, or list it in notProvoked with why", a)
		}
	}
	for a := range notProvoked {
		if answered[a] {
			t.Errorf("%s is in notProvoked but was provoked: remove it from the list", a)
		}
	}
}

// checkMutants: the validator refuses every kept answer, mutated.
func (s *specChecker) checkMutants(t *testing.T) {
	for _, e := range s.exchanges {
		for name, m := range e.mutants() {
			if _, problems := s.validateResponse(m); problems == "" {
				t.Errorf("%s %s answered %d: the validator accepts it with %s", e.method, e.path, e.status, name)
			}
		}
	}
}
