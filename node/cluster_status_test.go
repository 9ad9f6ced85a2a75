package node

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dynkv/dynkv/node/membership"
)

// TestClusterStatus: one node's GET /cluster/status shows every member
// with its own report (fetched over the internode transport), the ring's
// owners adding up to the partitions, and the operations it served; a
// member that does not answer is shown unreachable, with why, and the
// others are still there. ?scope=local is the node's own report.
func TestClusterStatus(t *testing.T) {
	c := startCluster(t, LocalClusterOptions{Nodes: 3, HTTP: true})
	for i := range 5 {
		if r := do(t, "PUT", c.Addr(0), kvPath("k"+string(rune('a'+i))), []byte("v")); r.status != http.StatusNoContent {
			t.Fatalf("put: %d %s", r.status, r.body)
		}
	}
	var st ClusterStatus
	decode(t, do(t, "GET", c.Addr(1), "/cluster/status", nil), &st)
	if st.Node != NodeID(1) || len(st.Members) != 3 || len(st.Ring.Owners) != st.Ring.Partitions || st.Ring.N != 3 {
		t.Fatalf("cluster status: %+v", st)
	}
	leads := 0
	for _, m := range st.Members {
		leads += m.Leads
		if !m.Reachable || m.Report == nil || m.Report.Node != m.ID || m.Status != "alive" || m.Incarnation == 0 ||
			m.Report.Incarnation != m.Incarnation || m.Replicas != st.Ring.Partitions {
			t.Errorf("member %s: %+v", m.ID, m)
		}
	}
	if leads != st.Ring.Partitions || st.HandoffTotal.Percent != 100 || st.Handoffs == nil || st.HintsPending == nil {
		t.Errorf("leads %d of %d partitions; handoffs %+v %+v", leads, st.Ring.Partitions, st.HandoffTotal, st.Handoffs)
	}
	if ops := st.Members[0].Report.Ops; ops.Counts["put"] != 5 || ops.Total != 5 || ops.PerSecond <= 0 || ops.P99Millis <= 0 {
		t.Errorf("n1's ops: %+v", ops)
	}

	var own NodeStatus
	decode(t, do(t, "GET", c.Addr(2), "/cluster/status?scope=local", nil), &own)
	if own.Node != NodeID(2) || own.Partitions != st.Ring.Partitions {
		t.Errorf("scope=local: %+v", own)
	}
	if r := do(t, "GET", c.Addr(2), "/cluster/status?scope=everything", nil); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "bad_scope") {
		t.Errorf("bad scope: %d %s", r.status, r.body)
	}

	c.Kill(2)
	c.Membership.SetStatus(NodeID(2), membership.StatusFailed)
	start := time.Now()
	st = c.Node(0).ClusterStatus(context.Background())
	if took := time.Since(start); took > statusPeerTimeout+5*time.Second {
		t.Errorf("status with a dead member took %v", took)
	}
	dead := st.Members[2]
	if dead.Status != "failed" || dead.Reachable || dead.Report != nil || dead.Error == "" || !st.Members[1].Reachable {
		t.Errorf("with n3 dead: %+v", st.Members)
	}
}

func decode(t *testing.T, r httpResult, v any) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}
