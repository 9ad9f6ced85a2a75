package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dynkv/dynkv/vclock"
)

// TestServeSeedRejoinsAfterKill is the seed of a README-style cluster (n1
// started without --join, n2 and n3 joining it) killed with SIGKILL and
// restarted, again without --join. It must find n2 and n3 by itself from
// what it remembered, and /readyz must not say 200 until it has: a node
// answering ready while it is a cluster of one refuses every write ("the
// cluster has 1 nodes").
//
// The first restart has its peers up: from the first 200 on /readyz a write
// through n1 succeeds. For the second, n2 and n3 are frozen (SIGSTOP), so
// the rejoin cannot finish until they are resumed: /readyz (and /healthz,
// and `dynkv healthcheck`) must say 503 not_ready meanwhile.
func TestServeSeedRejoinsAfterKill(t *testing.T) {
	t.Parallel()
	nodes := startServeCluster(t)
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]
	all := map[string]string{"n1": "alive", "n2": "alive", "n3": "alive"}
	putEventually(t, n1.url, "k0", "v0")
	actor := healthActor(t, n1.url)
	ctx := putWithContext(t, n1.url, "counted", "")

	// Restart with the peers up.
	killNode(t, n1)
	n1.start(t)
	seen := waitReady(t, n1.url)
	mustPut(t, n1.url, "k1", "v1")
	ctx = putWithContext(t, n1.url, "counted", ctx)
	waitMembers(t, n1.url, all)
	t.Logf("restart with peers up: /readyz answered %v", seen)

	// Restart with the peers frozen: n1 cannot rejoin until they resume.
	killNode(t, n1)
	n2.p.signal(t, syscall.SIGSTOP)
	n3.p.signal(t, syscall.SIGSTOP)
	n1.start(t)
	checkNotReady(t, n1)
	n2.p.signal(t, syscall.SIGCONT)
	n3.p.signal(t, syscall.SIGCONT)
	seen = waitReady(t, n1.url)
	mustPut(t, n1.url, "k2", "v2")
	mustGet(t, n1.url, "k0", "v0")
	waitMembers(t, n1.url, all)
	t.Logf("restart with peers frozen: /readyz answered %v", seen)
	ctx = putWithContext(t, n1.url, "counted", ctx)

	// A kill -9 within one boot loses no returned write, so n1 keeps its
	// actor and a key it wrote across both crashes has one actor in its
	// context, not one per crash.
	if got := healthActor(t, n1.url); got != actor {
		t.Errorf("actor changed across kill -9: %s -> %s", actor, got)
	}
	c, err := vclock.ParseTokenFor(ctx, []byte("counted"))
	if err != nil || c.Actors() != 1 || c.Max(actor) != 3 {
		t.Errorf("context after three writes through n1 across two crashes: %v %v; want {%s:3}", c, err, actor)
	}
	if !strings.Contains(n1.p.stderr.String(), "rejoining") {
		t.Errorf("n1 did not log that it was waiting to rejoin:\n%s", tail(n1.p.stderr.String(), 3000))
	}
}

// putWithContext writes key with the context token ctx ("" for none) and
// returns the context of the write.
func putWithContext(t *testing.T, base, key, ctx string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, base+"/kv/"+key, strings.NewReader("v"))
	if err != nil {
		t.Fatal(err)
	}
	if ctx != "" {
		req.Header.Set("X-Causal-Context", ctx)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("PUT %s/kv/%s: %v", base, key, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("PUT %s/kv/%s: %d", base, key, resp.StatusCode)
	}
	return resp.Header.Get("X-Causal-Context")
}

func killNode(t *testing.T, s *serveNode) {
	t.Helper()
	s.p.signal(t, syscall.SIGKILL)
	s.p.wait(t)
}

// readiness is one answer of /readyz: its status and error code.
type readiness struct {
	status int
	code   string
	body   string
}

func readyz(base, path string) (readiness, error) {
	r, err := request(http.MethodGet, base+path, "")
	if err != nil {
		return readiness{}, err
	}
	var e struct{ Code string }
	json.Unmarshal([]byte(r.body), &e)
	return readiness{r.status, e.Code, r.body}, nil
}

// waitReady polls /readyz from the moment the node answers until it says
// 200, and returns the distinct answers it saw on the way, in order. Every
// answer before the 200 must be 503 not_ready.
func waitReady(t *testing.T, base string) []string {
	t.Helper()
	var seen []string
	waitFor(t, base+"/readyz to answer 200", func() (bool, string) {
		r, err := readyz(base, "/readyz")
		if err != nil {
			return false, err.Error()
		}
		s := fmt.Sprintf("%d %s", r.status, r.code)
		if len(seen) == 0 || seen[len(seen)-1] != s {
			seen = append(seen, s)
		}
		if r.status != http.StatusOK && (r.status != http.StatusServiceUnavailable || r.code != "not_ready") {
			t.Fatalf("/readyz before ready: %d %s, want 503 not_ready", r.status, r.body)
		}
		return r.status == http.StatusOK, r.body
	})
	return seen
}

// checkNotReady waits for the node to serve HTTP and checks that it says
// 503 not_ready, with a reason, on both probes and to `dynkv healthcheck`,
// and keeps saying it while its peers stay away.
func checkNotReady(t *testing.T, s *serveNode) {
	t.Helper()
	var first readiness
	waitFor(t, s.url+"/readyz to answer", func() (bool, string) {
		r, err := readyz(s.url, "/readyz")
		first = r
		return err == nil, fmt.Sprint(err)
	})
	until := time.Now().Add(time.Second)
	for r := first; ; {
		if r.status != http.StatusServiceUnavailable || r.code != "not_ready" || !strings.Contains(r.body, "rejoining") {
			t.Fatalf("/readyz of a node that has not rejoined: %d %s; want 503 not_ready naming the rejoin", r.status, r.body)
		}
		if time.Now().After(until) {
			break
		}
		time.Sleep(100 * time.Millisecond)
		var err error
		if r, err = readyz(s.url, "/readyz"); err != nil {
			t.Fatal(err)
		}
	}
	if r, err := readyz(s.url, "/healthz"); err != nil || r.status != http.StatusServiceUnavailable || r.code != "not_ready" {
		t.Fatalf("/healthz of a node that has not rejoined: %+v %v; want 503 not_ready", r, err)
	}
	addr := strings.TrimPrefix(s.url, "http://")
	hc := startProc(t, "healthcheck", nil, "healthcheck", "--http-addr", addr)
	if code := hc.wait(t); code != 1 || !strings.Contains(hc.stderr.String(), "not_ready") {
		t.Fatalf("dynkv healthcheck of a node that has not rejoined: exit %d, stderr %q; want 1 naming not_ready", code, hc.stderr)
	}
}
