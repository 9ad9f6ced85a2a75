package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dynkv/dynkv/client"
	"github.com/dynkv/dynkv/node"
	"github.com/dynkv/dynkv/node/membership"
)

// waitUntil polls cond until it holds, failing the test when the test's
// context (testTimeout) ends, with cond's last description of what it saw.
func waitUntil(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	ctx := testContext(t)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, saw := cond()
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waited %v for %s; last saw: %s", testTimeout, what, saw)
		case <-tick.C:
		}
	}
}

func statusOf(t *testing.T, ctx context.Context, c *client.Client, id string) string {
	t.Helper()
	ms, err := c.Members(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.ID == id {
			return m.Status
		}
	}
	return "absent"
}

// localCopy is GET /admin/local/{key} on the node at addr: whether it
// holds a copy of key.
func localCopy(t *testing.T, addr, key string) bool {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/admin/local/" + url.PathEscape(key))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var body struct{ Found bool }
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &body) != nil {
		t.Fatalf("GET /admin/local/%s on %s: %d %s", key, addr, resp.StatusCode, b)
	}
	return body.Found
}

// TestRemove removes a killed node, and checks the refusals: an alive
// node, the node asked, an unknown node, a node already removed. Handoffs
// and Leave meanwhile report the dead node as unreachable.
func TestRemove(t *testing.T) {
	t.Parallel()
	cl := startCluster(t, 3, nil)
	ctx := testContext(t)
	c := newClient(t, endpointsOf(cl))

	cl.Kill(2)
	cl.Membership.SetStatus(node.NodeID(2), membership.StatusFailed)

	hs, err := c.Handoffs(ctx)
	if err != nil || len(hs) != 3 {
		t.Fatalf("Handoffs: %+v, %v", hs, err)
	}
	for _, h := range hs {
		if dead := h.Node == "n3"; dead != errors.Is(h.Err, client.ErrUnavailable) || !dead && (h.Leaving || h.Handoffs == nil) {
			t.Errorf("Handoffs of %s: %+v (err %v)", h.Node, h, h.Err)
		}
	}
	if _, err := c.Leave(ctx, "n3"); !errors.Is(err, client.ErrUnavailable) || !strings.Contains(err.Error(), "client: leave n3: unreachable") {
		t.Errorf("Leave of a dead node: %v", err)
	}
	// Leave("") means the first endpoint, even after the client failed
	// over from it: never the node that happens to answer.
	deadFirst := newClient(t, []string{endpointsOf(cl)[2], endpointsOf(cl)[0]})
	if _, err := deadFirst.Members(ctx); err != nil {
		t.Fatal(err)
	}
	if id, err := deadFirst.Leave(ctx, ""); !errors.Is(err, client.ErrUnavailable) || id != "" {
		t.Errorf("Leave(\"\") with the first endpoint dead: %q, %v", id, err)
	}
	if st := statusOf(t, ctx, c, "n1"); st != client.StatusAlive {
		t.Errorf("n1 is %s", st)
	}

	check := func(what string, err, want error, code string) {
		t.Helper()
		var apiErr *client.APIError
		if !errors.Is(err, want) || code != "" && (!errors.As(err, &apiErr) || apiErr.Code != code) {
			t.Errorf("%s: %v; want %v (code %q)", what, err, want, code)
		}
	}
	check("remove an alive node", c.Remove(ctx, "n2"), client.ErrCannotRemove, client.CodeCannotRemove)
	check("remove the node asked", newClient(t, endpointsOf(cl)[:1]).Remove(ctx, "n1"), client.ErrCannotRemove, client.CodeCannotRemove)
	check("remove an unknown node", c.Remove(ctx, "n9"), client.ErrUnknownNode, client.CodeUnknownNode)
	check("remove no node", c.Remove(ctx, ""), client.ErrBadRequest, "")
	check("leave an unknown node", func() error { _, err := c.Leave(ctx, "n9"); return err }(), client.ErrUnknownNode, "")

	if err := c.Remove(ctx, "n3"); err != nil {
		t.Fatalf("remove the dead n3: %v", err)
	}
	if st := statusOf(t, ctx, c, "n3"); st != client.StatusLeft {
		t.Errorf("n3 is %s after Remove, want left", st)
	}
	check("remove n3 again", c.Remove(ctx, "n3"), client.ErrAlreadyLeft, "")
	check("leave the removed n3", func() error { _, err := c.Leave(ctx, "n3"); return err }(), client.ErrAlreadyLeft, "")

	ring, err := c.Ring(ctx)
	if err != nil || strings.Join(ring.Members, " ") != "n1 n2" {
		t.Errorf("ring after removing n3: %v, %v", ring, err)
	}
	// The survivors still take writes with W=2.
	if _, err := c.Put(ctx, "after-remove", []byte("v"), client.CausalContext{}); err != nil {
		t.Errorf("Put after the remove: %v", err)
	}
}

// TestLeave makes n2 leave a 4-node cluster through a client whose
// endpoint it is: Handoffs shows it leaving, it ends as left with none of
// the keys in its store, and every key still reads back.
func TestLeave(t *testing.T) {
	t.Parallel()
	cl := startCluster(t, 4, nil)
	ctx := testContext(t)
	eps := endpointsOf(cl)
	c := newClient(t, eps)
	const keys = 100
	for i := range keys {
		if _, err := c.Put(ctx, fmt.Sprintf("key-%03d", i), fmt.Appendf(nil, "v%d", i), client.CausalContext{}); err != nil {
			t.Fatal(err)
		}
	}
	held := 0
	for i := range keys {
		if localCopy(t, cl.Addr(1), fmt.Sprintf("key-%03d", i)) {
			held++
		}
	}
	if held == 0 {
		t.Fatal("n2 holds none of the keys: nothing to hand off")
	}

	onN2 := newClient(t, []string{eps[1], eps[0]})
	id, err := onN2.Leave(ctx, "") // the client's current endpoint: n2
	if err != nil || id != "n2" {
		t.Fatalf("Leave(\"\") through n2: %q, %v", id, err)
	}
	if id, err := c.Leave(ctx, "n2"); err != nil || id != "n2" { // again: harmless
		t.Fatalf("Leave(n2) again: %q, %v", id, err)
	}
	hs, err := c.Handoffs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hs {
		if h.Err != nil || h.Leaving != (h.Node == "n2") {
			t.Errorf("Handoffs of %s while n2 leaves: %+v (err %v)", h.Node, h, h.Err)
		}
	}
	waitUntil(t, "n2 to leave", func() (bool, string) {
		st := statusOf(t, ctx, c, "n2")
		return st == client.StatusLeft, st
	})
	for i := range keys {
		key := fmt.Sprintf("key-%03d", i)
		if localCopy(t, cl.Addr(1), key) {
			t.Errorf("n2 still holds %s after leaving", key)
		}
		res, err := c.Get(ctx, key, client.R(client.All))
		if err != nil || string(res.Siblings[0].Value) != fmt.Sprintf("v%d", i) {
			t.Fatalf("Get %s with R=all after n2 left: %+v, %v", key, res, err)
		}
	}
	if _, err := c.Leave(ctx, "n2"); !errors.Is(err, client.ErrAlreadyLeft) {
		t.Errorf("Leave after leaving: %v", err)
	}
	hs, err = c.Handoffs(ctx)
	if err != nil || len(hs) != 3 {
		t.Errorf("Handoffs after n2 left: %+v, %v; want the 3 others", hs, err)
	}
	t.Logf("n2 handed off its %d of %d keys", held, keys)
}

// TestMetrics reads one node's metrics.
func TestMetrics(t *testing.T) {
	t.Parallel()
	c := newClient(t, shared.endpoints)
	ms, err := c.Members(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	text, err := c.Metrics(testContext(t), ms[len(ms)-1])
	if err != nil || !strings.Contains(string(text), "dynkv_antientropy_trees_ready ") {
		t.Fatalf("Metrics: %v\n%.500s", err, text)
	}
	if _, err := c.Metrics(testContext(t), client.Member{ID: "nowhere", HTTPAddr: "127.0.0.1:1"}); !errors.Is(err, client.ErrUnavailable) {
		t.Errorf("Metrics of an unreachable member: %v", err)
	}
}

// TestNodeStatus reads every member's own report from the shared cluster:
// it is the node's own, the ring adds up across members, and the SDK's
// types know every field the server sends (so the two cannot drift apart
// silently). An unreachable member fails with ErrUnavailable.
func TestNodeStatus(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	c := newClient(t, shared.endpoints)
	ms, err := c.Members(ctx)
	if err != nil {
		t.Fatal(err)
	}
	actors := map[string]string{}
	for i := range shared.cluster.Size() {
		actors[node.NodeID(i)] = shared.cluster.Node(i).Status().Actor
	}
	leads, replicas := 0, 0
	var st client.NodeStatus
	for _, m := range ms {
		if st, err = c.NodeStatus(ctx, m); err != nil {
			t.Fatalf("NodeStatus(%s): %v", m.ID, err)
		}
		leads += st.Leads
		replicas += st.Replicas
		if st.Node != m.ID || st.Actor != actors[m.ID] || st.Draining || st.Leaving || st.Partitions == 0 || st.N == 0 ||
			st.Hints == nil || st.Handoffs == nil || st.AntiEntropy.Exchanges == nil {
			t.Errorf("NodeStatus(%s): %+v", m.ID, st)
		}
	}
	if leads != st.Partitions || replicas != min(st.N, len(ms))*st.Partitions {
		t.Errorf("leads add up to %d, replicas to %d, with %d members, %d partitions, N=%d",
			leads, replicas, len(ms), st.Partitions, st.N)
	}

	strictDecode(t, shared.endpoints[0]+"/cluster/status?scope=local", &st)

	if _, err := c.NodeStatus(ctx, client.Member{ID: "nowhere", HTTPAddr: "127.0.0.1:1"}); !errors.Is(err, client.ErrUnavailable) ||
		!strings.HasPrefix(err.Error(), "client: status nowhere: ") {
		t.Errorf("NodeStatus of an unreachable member: %v", err)
	}
}

// TestStatus reads the cluster's status from one node: every member is
// there with its report, the owners add up, and the SDK's types know every
// field the server sends.
func TestStatus(t *testing.T) {
	t.Parallel()
	c := newClient(t, shared.endpoints[:1])
	st, err := c.Status(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Members) != shared.cluster.Size() || len(st.Ring.Owners) != st.Ring.Partitions || st.HandoffTotal.Percent != 100 {
		t.Fatalf("Status: %+v", st)
	}
	leads := 0
	for _, m := range st.Members {
		leads += m.Leads
		if !m.Reachable || m.Report == nil || m.Report.Node != m.ID || m.Incarnation == 0 || m.Report.Ops.Counts == nil {
			t.Errorf("member %s: %+v", m.ID, m)
		}
	}
	if leads != st.Ring.Partitions {
		t.Errorf("leads add up to %d of %d", leads, st.Ring.Partitions)
	}
	var raw client.ClusterStatus
	strictDecode(t, shared.endpoints[0]+"/cluster/status", &raw)
}

// strictDecode GETs url and decodes it into v, failing on any field v
// lacks.
func strictDecode(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Errorf("GET %s sends what %T lacks: %v", url, v, err)
	}
}
