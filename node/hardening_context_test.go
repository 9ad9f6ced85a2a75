package node

import (
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/dynkv/dynkv/vclock"
)

// hcCode is the error code of an error answer ("" for another body).
func hcCode(r httpResult) string {
	var body struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(r.body, &body)
	return body.Code
}

// hcActors reads every node's actor from /healthz, as anyone can.
func hcActors(t *testing.T, c *LocalCluster) []string {
	t.Helper()
	var actors []string
	for i := range c.Size() {
		res := do(t, "GET", c.Addr(i), "/healthz", nil)
		var body struct {
			Actor string `json:"actor"`
		}
		if err := json.Unmarshal(res.body, &body); err != nil || body.Actor == "" {
			t.Fatalf("healthz of %s: %d %q: %v", NodeID(i), res.status, res.body, err)
		}
		actors = append(actors, body.Actor)
	}
	return actors
}

// hcExpectValues checks that key reads as exactly want through every node.
func hcExpectValues(t *testing.T, c *LocalCluster, key string, want ...string) string {
	t.Helper()
	var ctx string
	for i := range c.Size() {
		status, vals, got := readValues(t, c.Addr(i), key, "")
		if status/100 != 2 && status != http.StatusMultipleChoices || !slices.Equal(vals, want) {
			t.Fatalf("GET %s through %s: %d %v, want %v", key, NodeID(i), status, vals, want)
		}
		ctx = got
	}
	return ctx
}

// docs/GUARANTEES.md, G4: actors are public, and a context claiming the
// last counter for a node's actor used to make that node's next dot wrap
// to 0 and store a record it could not decode: the key answered 503 from
// then on and its acknowledged value was gone. Every such context, bound
// or not, claiming the node's own actor or another's, is refused with 400
// and the key keeps working.
func TestForgedContextCannotBrickAKey(t *testing.T) {
	c := startCluster(t, LocalClusterOptions{Nodes: 3, HTTP: true})
	actors := hcActors(t, c)
	const key = "bricked"
	if res := do(t, "PUT", c.Addr(0), kvPath(key), []byte("acked"), "Content-Type", "text/plain"); res.status != http.StatusNoContent {
		t.Fatalf("PUT: %d %s", res.status, res.body)
	}
	for i := range c.Size() {
		for j, actor := range actors {
			forged := vclock.Context{}.Add(vclock.Dot{Actor: actor, Counter: math.MaxUint64})
			for _, tok := range []string{forged.TokenFor([]byte(key)), forged.Token()} {
				res := do(t, "PUT", c.Addr(i), kvPath(key), []byte("forged"), HeaderContext, tok)
				if res.status != http.StatusBadRequest || hcCode(res) != CodeBadContext {
					t.Errorf("PUT through %s claiming %s:max: %d %s, want 400 bad_context", NodeID(i), NodeID(j), res.status, res.body)
				}
			}
		}
	}
	ctx := hcExpectValues(t, c, key, "acked")
	for i := range c.Size() {
		if res := do(t, "GET", c.Addr(i), "/admin/local/"+key, nil); res.status != http.StatusOK {
			t.Fatalf("/admin/local on %s: %d %s", NodeID(i), res.status, res.body)
		}
	}
	// It still writes and deletes normally, through every node.
	for i := range c.Size() {
		v := "v" + NodeID(i)
		res := do(t, "PUT", c.Addr(i), kvPath(key), []byte(v), HeaderContext, ctx)
		if res.status != http.StatusNoContent {
			t.Fatalf("PUT through %s after the attack: %d %s", NodeID(i), res.status, res.body)
		}
		ctx = hcExpectValues(t, c, key, v)
	}
	if res := do(t, "DELETE", c.Addr(2), kvPath(key), nil, HeaderContext, ctx); res.status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", res.status, res.body)
	}
	if status, _, _ := readValues(t, c.Addr(0), key, ""); status != http.StatusNotFound {
		t.Fatalf("GET after DELETE: %d", status)
	}
}

// The limit docs/GUARANTEES.md (G4) states: a claim about another node's
// actor cannot be checked by the replica that mints, only bounded. Within
// the bound it is trusted, as any context is: the write would supersede
// what the claim covers (here the one dot n2:2^62, which names nothing,
// so v1 survives as a sibling), and that node counts on past it.
func TestForgedClaimAboutAnotherActorIsOnlyBounded(t *testing.T) {
	c := startCluster(t, LocalClusterOptions{Nodes: 3, HTTP: true})
	actors := hcActors(t, c)
	const key = "trusted"
	if res := do(t, "PUT", c.Addr(1), kvPath(key), []byte("v1")); res.status != http.StatusNoContent {
		t.Fatalf("PUT: %d %s", res.status, res.body)
	}
	claim := vclock.Context{}.Add(vclock.Dot{Actor: actors[1], Counter: 1 << 62})
	if res := do(t, "PUT", c.Addr(0), kvPath(key), []byte("v2"), HeaderContext, claim.TokenFor([]byte(key))); res.status != http.StatusNoContent {
		t.Fatalf("PUT through n1 claiming n2's actor within the bound: %d %s", res.status, res.body)
	}
	ctx := hcExpectValues(t, c, key, "v1", "v2")
	// n2 checks claims about its own actor against what it holds: wait for
	// the claim to reach it, as it would once replication finished.
	eventually(t, 5*time.Second, "n2 holds the claim", func() bool {
		s, err := c.Node(1).readLocal([]byte(key))
		return err == nil && s.Context.Max(actors[1]) == 1<<62
	})
	if res := do(t, "PUT", c.Addr(1), kvPath(key), []byte("v3"), HeaderContext, ctx); res.status != http.StatusNoContent {
		t.Fatalf("PUT through n2 after the claim: %d %s", res.status, res.body)
	}
	hcExpectValues(t, c, key, "v3")
	s, _ := c.Node(1).readLocal([]byte(key))
	if d := s.Siblings[0].Dot; d != (vclock.Dot{Actor: actors[1], Counter: 1<<62 + 1}) {
		t.Fatalf("n2 minted %v after the claim", d)
	}
}

// Counters are per key, so the context of key a ({n1.x:1}) also named key
// b's first version n1.x:1: a PUT of b with a's context replaced b's value
// without a sibling. Tokens are bound to their key, and such a write or
// delete is refused with 400 context_mismatch; tokens issued before the
// binding (v1) are still accepted.
func TestContextFromAnotherKeyIsRefused(t *testing.T) {
	c := startCluster(t, LocalClusterOptions{Nodes: 3, HTTP: true})
	addr := c.Addr(0)
	put := func(key, value, ctx string) httpResult {
		return do(t, "PUT", addr, kvPath(key), []byte(value), HeaderContext, ctx)
	}
	ctxA := put("a", "va", "").header.Get(HeaderContext)
	if res := put("b", "vb", ""); res.status != http.StatusNoContent {
		t.Fatalf("PUT b: %d %s", res.status, res.body)
	}
	_, _, readA := readValues(t, addr, "a", "")
	var local struct {
		Context string `json:"context"`
	}
	_ = json.Unmarshal(do(t, "GET", addr, "/admin/local/a", nil).body, &local)
	for name, tok := range map[string]string{"PUT's": ctxA, "GET's": readA, "/admin/local's": local.Context} {
		if res := put("b", "overwritten", tok); res.status != http.StatusBadRequest || hcCode(res) != CodeContextMismatch {
			t.Errorf("PUT b with a's %s context: %d %s, want 400 context_mismatch", name, res.status, res.body)
		}
		res := do(t, "DELETE", addr, kvPath("b"), nil, HeaderContext, tok)
		if res.status != http.StatusBadRequest || hcCode(res) != CodeContextMismatch {
			t.Errorf("DELETE b with a's %s context: %d %s, want 400 context_mismatch", name, res.status, res.body)
		}
	}
	hcExpectValues(t, c, "b", "vb")
	// Each token still works for its own key.
	if res := put("a", "va2", local.Context); res.status != http.StatusNoContent {
		t.Fatalf("PUT a with its /admin/local context: %d %s", res.status, res.body)
	}
	hcExpectValues(t, c, "a", "va2")
	// An unbound (v1) token is taken as it always was.
	_, _, readB := readValues(t, addr, "b", "")
	old, err := vclock.ParseToken(readB)
	if err != nil {
		t.Fatal(err)
	}
	if res := put("b", "vb2", old.Token()); res.status != http.StatusNoContent {
		t.Fatalf("PUT b with its context as a v1 token: %d %s", res.status, res.body)
	}
	hcExpectValues(t, c, "b", "vb2")
}
