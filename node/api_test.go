package node

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPutThenGet(t *testing.T) {
	c := startCluster(t, LocalClusterOptions{Nodes: 3, HTTP: true})
	put := do(t, "PUT", c.Addr(0), kvPath("greeting"), []byte("hello"), "Content-Type", "text/plain")
	if put.status != http.StatusNoContent || put.header.Get(HeaderContext) == "" {
		t.Fatalf("PUT: %d %q, context %q", put.status, put.body, put.header.Get(HeaderContext))
	}
	for i := range 3 {
		get := do(t, "GET", c.Addr(i), kvPath("greeting"), nil)
		if get.status != http.StatusOK || string(get.body) != "hello" || get.header.Get("Content-Type") != "text/plain" {
			t.Fatalf("GET via n%d: %d %q %q", i+1, get.status, get.body, get.header.Get("Content-Type"))
		}
		if get.header.Get(HeaderContext) == "" || get.header.Get(HeaderServedBy) != NodeID(i) {
			t.Fatalf("GET via n%d: headers %v", i+1, get.header)
		}
	}
}

// Done-when 2: concurrent writes become siblings whichever nodes coordinate
// them; a write with the siblings' context resolves them.
func TestSiblingsAndResolution(t *testing.T) {
	c := startCluster(t, LocalClusterOptions{Nodes: 3, HTTP: true})
	for _, tc := range []struct {
		name   string
		a, b   int
		prefix string
	}{{"same node", 0, 0, "same"}, {"different nodes", 0, 2, "diff"}} {
		t.Run(tc.name, func(t *testing.T) {
			key := tc.prefix + "/cart"
			do(t, "PUT", c.Addr(0), kvPath(key), []byte("v0"))
			_, _, ctx := readValues(t, c.Addr(1), key, "")
			for i, v := range []string{"x", "y"} {
				node := []int{tc.a, tc.b}[i]
				if r := do(t, "PUT", c.Addr(node), kvPath(key), []byte(v), HeaderContext, ctx); r.status != http.StatusNoContent {
					t.Fatalf("PUT %s: %d %s", v, r.status, r.body)
				}
			}
			res := do(t, "GET", c.Addr(1), kvPath(key), nil)
			if res.status != http.StatusMultipleChoices {
				t.Fatalf("GET after concurrent writes: %d %s", res.status, res.body)
			}
			var body readJSON
			if err := json.Unmarshal(res.body, &body); err != nil || len(body.Siblings) != 2 {
				t.Fatalf("300 body %s: %v", res.body, err)
			}
			_, vals, ctx := readValues(t, c.Addr(2), key, "?r=all")
			if !slices.Equal(vals, []string{"x", "y"}) {
				t.Fatalf("siblings %v, want [x y]", vals)
			}
			do(t, "PUT", c.Addr(1), kvPath(key), []byte("xy"), HeaderContext, ctx)
			for i := range 3 {
				if st, vals, _ := readValues(t, c.Addr(i), key, "?r=all"); st != http.StatusOK || !slices.Equal(vals, []string{"xy"}) {
					t.Fatalf("after resolving, via n%d: %d %v", i+1, st, vals)
				}
			}
		})
	}
}

// Done-when 2: read-write cycles through alternating nodes never make
// siblings, and neither do writes chained on the context a PUT returns.
func TestSequentialWritesThroughAlternatingNodes(t *testing.T) {
	c := startCluster(t, LocalClusterOptions{Nodes: 3, HTTP: true})
	ctx := ""
	for i := range 30 {
		node := i % 3
		if i%2 == 0 {
			_, vals, readCtx := readValues(t, c.Addr(node), "counter", "")
			if len(vals) > 1 {
				t.Fatalf("cycle %d: siblings %v", i, vals)
			}
			ctx = readCtx
		}
		r := do(t, "PUT", c.Addr((node+1)%3), kvPath("counter"), fmt.Appendf(nil, "%d", i), HeaderContext, ctx)
		if r.status != http.StatusNoContent {
			t.Fatalf("cycle %d: PUT %d %s", i, r.status, r.body)
		}
		ctx = r.header.Get(HeaderContext)
	}
	if st, vals, _ := readValues(t, c.Addr(0), "counter", "?r=all"); st != http.StatusOK || !slices.Equal(vals, []string{"29"}) {
		t.Fatalf("final %d %v", st, vals)
	}
}

func TestDeleteHidesValueAndKeepsContext(t *testing.T) {
	c := startCluster(t, LocalClusterOptions{Nodes: 3, HTTP: true})
	do(t, "PUT", c.Addr(0), kvPath("gone"), []byte("v"))
	_, _, ctx := readValues(t, c.Addr(0), "gone", "")
	if r := do(t, "DELETE", c.Addr(1), kvPath("gone"), nil, HeaderContext, ctx); r.status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", r.status, r.body)
	}
	res := do(t, "GET", c.Addr(2), kvPath("gone")+"?r=all", nil)
	if res.status != http.StatusNotFound || res.header.Get(HeaderContext) == "" {
		t.Fatalf("GET deleted: %d, context %q", res.status, res.header.Get(HeaderContext))
	}
	if res := do(t, "GET", c.Addr(2), kvPath("never"), nil); res.status != http.StatusNotFound || res.header.Get(HeaderContext) != "" {
		t.Fatalf("GET absent: %d, context %q", res.status, res.header.Get(HeaderContext))
	}
}

func TestKeysAreRawBytes(t *testing.T) {
	c := startCluster(t, LocalClusterOptions{Nodes: 3, HTTP: true})
	keys := []string{"user/42", "a%2Fb", "sp ace", "ünï", "?&#", "..", "x\x00y"}
	for i, k := range keys {
		do(t, "PUT", c.Addr(0), kvPath(k), fmt.Appendf(nil, "%d", i))
	}
	for i, k := range keys {
		got := do(t, "GET", c.Addr(1), kvPath(k), nil)
		if got.status != http.StatusOK || string(got.body) != fmt.Sprint(i) {
			t.Fatalf("key %q: %d %q", k, got.status, got.body)
		}
	}
}

// localState returns every node's stored state of key, for "nothing was
// written" checks.
func localState(t *testing.T, c *LocalCluster, key string) string {
	t.Helper()
	var parts []string
	for i := range c.Size() {
		n := c.Node(i)
		if n == nil {
			continue
		}
		s, err := n.readLocal([]byte(key))
		if err != nil {
			t.Fatalf("read local: %v", err)
		}
		parts = append(parts, fmt.Sprintf("%s=%x", n.ID(), s.Encode()))
	}
	return strings.Join(parts, " ")
}

func TestErrorRows(t *testing.T) {
	c := startCluster(t, LocalClusterOptions{Nodes: 3, HTTP: true, Configure: func(i int, cfg *Config) {
		cfg.MaxValueBytes = 1000
		cfg.MaxSiblings = 3
	}})
	addr := c.Addr(0)
	// w=all: every replica holds the key before the snapshot, so background
	// replication cannot change it while the bad requests are checked.
	do(t, "PUT", addr, "/kv/k?w=all", []byte("v"))
	before := localState(t, c, "k")
	for _, tc := range errorRows() {
		t.Run(tc.name, func(t *testing.T) { checkErrorRow(t, c, tc, before) })
	}
	t.Run("too many siblings", func(t *testing.T) { checkTooManySiblings(t, c) })
}

// errorRow is a bad request to key k and the refusal it must get.
type errorRow struct {
	name, method, path string
	body               []byte
	headers            []string
	status             int
	code               string
}

// errorRows are TestErrorRows' requests, for values capped at 1000 bytes.
func errorRows() []errorRow {
	longKey := strings.Repeat("k", 1025)
	return []errorRow{
		{"empty key", "PUT", "/kv/", []byte("x"), nil, 400, CodeBadKey},
		{"key too long", "PUT", "/kv/" + longKey, []byte("x"), nil, 400, CodeBadKey},
		{"bad escape", "PUT", "/kv/%zz", []byte("x"), nil, 400, CodeBadKey},
		{"w zero", "PUT", "/kv/k?w=0", []byte("x"), nil, 400, CodeBadQuorum},
		{"w above n", "PUT", "/kv/k?w=4", []byte("x"), nil, 400, CodeBadQuorum},
		{"w word", "PUT", "/kv/k?w=most", []byte("x"), nil, 400, CodeBadQuorum},
		{"r word", "GET", "/kv/k?r=-1", nil, nil, 400, CodeBadQuorum},
		{"garbage context", "PUT", "/kv/k", []byte("x"), []string{HeaderContext, "not*base64"}, 400, CodeBadContext},
		{"truncated context", "PUT", "/kv/k", []byte("x"), []string{HeaderContext, "AQID"}, 400, CodeBadContext},
		{"context on delete", "DELETE", "/kv/k", nil, []string{HeaderContext, "AQ"}, 400, CodeBadContext},
		{"value too large", "PUT", "/kv/k", make([]byte, 1001), nil, 413, CodeValueTooLarge},
		{"unknown route", "GET", "/nope", nil, nil, 404, CodeUnknownRoute},
		{"wrong method", "POST", "/kv/k", []byte("x"), nil, 405, CodeMethodNotAllowed},
		{"wrong method on members", "DELETE", "/cluster/members", nil, nil, 405, CodeMethodNotAllowed},
		// The client port serves no internode route (docs/SECURITY.md).
		{"internode merge on the client port", "POST", "/internal/v1/merge", []byte{1, 2, 3}, nil, 404, CodeUnknownRoute},
		{"internode write on the client port", "POST", "/internal/v1/write", []byte{1}, nil, 404, CodeUnknownRoute},
	}
}

// checkErrorRow sends tc's request to n1 and wants its status and error
// code, and no change to key k's stored state (before).
func checkErrorRow(t *testing.T, c *LocalCluster, tc errorRow, before string) {
	r := do(t, tc.method, c.Addr(0), tc.path, tc.body, tc.headers...)
	if r.status != tc.status {
		t.Fatalf("status %d, want %d (%s)", r.status, tc.status, r.body)
	}
	if tc.code != "" {
		var e struct{ Error, Code string }
		if err := json.Unmarshal(r.body, &e); err != nil || e.Code != tc.code || e.Error == "" {
			t.Fatalf("body %q: want code %s", r.body, tc.code)
		}
	}
	if tc.status == 405 && r.header.Get("Allow") == "" {
		t.Fatal("405 without Allow")
	}
	if got := localState(t, c, "k"); got != before {
		t.Fatalf("state changed:\n%s\n%s", before, got)
	}
}

// checkTooManySiblings adds two siblings to key k's one, reaching the
// cluster's cap of 3: one more concurrent write is refused through every
// node and changes nothing, and a write resolving them all is accepted.
func checkTooManySiblings(t *testing.T, c *LocalCluster) {
	addr := c.Addr(0)
	for i := range 2 {
		if r := do(t, "PUT", addr, "/kv/k?w=all", fmt.Appendf(nil, "s%d", i)); r.status != 204 {
			t.Fatalf("PUT %d: %d", i, r.status)
		}
	}
	before := localState(t, c, "k")
	// Through every node: the coordinator minting locally must refuse
	// exactly as a remote replica does.
	for i := range 3 {
		r := do(t, "PUT", c.Addr(i), kvPath("k"), []byte("one too many"))
		if r.status != http.StatusConflict || !strings.Contains(string(r.body), CodeTooManySiblings) {
			t.Fatalf("via n%d: %d %s", i+1, r.status, r.body)
		}
	}
	if got := localState(t, c, "k"); got != before {
		t.Fatal("a refused write changed the state")
	}
	// Resolving with the full context is allowed.
	_, _, ctx := readValues(t, addr, "k", "?r=all")
	if r := do(t, "PUT", addr, kvPath("k"), []byte("merged"), HeaderContext, ctx); r.status != 204 {
		t.Fatalf("resolving write: %d %s", r.status, r.body)
	}
}

func TestQuorumUnavailableAndTimeout(t *testing.T) {
	c := startCluster(t, LocalClusterOptions{Nodes: 3, Configure: func(i int, cfg *Config) {
		cfg.RequestTimeout = 300 * time.Millisecond
	}})
	n := c.Node(0)
	c.Kill(1)
	c.Kill(2)
	_, err := n.Put(t.Context(), WriteRequest{Key: []byte("k"), Value: []byte("v")})
	var ae *APIError
	if !asAPIError(err, &ae) || ae.Status != 503 || ae.Code != CodeQuorumUnavailable || ae.Acks != 1 || ae.Required != 2 {
		t.Fatalf("write with 1 of 3 up: %v %+v", err, ae)
	}
	if _, err := n.Get(t.Context(), []byte("k"), 2); !asAPIError(err, &ae) || ae.Status != 503 {
		t.Fatalf("read with 1 of 3 up: %v", err)
	}
	// W=1 still works: always writable as long as W nodes are up.
	if _, err := n.Put(t.Context(), WriteRequest{Key: []byte("k"), Value: []byte("v"), W: 1}); err != nil {
		t.Fatalf("W=1: %v", err)
	}
	if err := c.Restart(1); err != nil {
		t.Fatal(err)
	}
	c.Net.SetDelay(time.Second)
	if _, err := n.Get(t.Context(), []byte("k"), 2); !asAPIError(err, &ae) || ae.Status != 504 || ae.Code != CodeTimeout {
		t.Fatalf("slow replicas: %v", err)
	}
}
