package node

import (
	"fmt"
	"testing"
	"time"

	"github.com/dynkv/dynkv/node/membership"
)

func statusOf(n *Node, id string) membership.MemberStatus {
	for _, m := range n.Members() {
		if m.ID == id {
			return m.Status
		}
	}
	return ""
}

// With real gossip (serf on loopback) routed through the same fault table
// as data, a partition is seen by the failure detector on both sides,
// writes on both sides succeed through sloppy quorum, and after healing the
// members come back alive and the replicas converge.
func TestGossipPartitionHealsAndConverges(t *testing.T) {
	c := startCluster(t, LocalClusterOptions{Nodes: 5, Gossip: true, Configure: manualLoops})
	eventually(t, 15*time.Second, "every node sees 5 alive members", func() bool {
		for i := range 5 {
			for j := range 5 {
				if statusOf(c.Node(i), NodeID(j)) != membership.StatusAlive {
					return false
				}
			}
		}
		return true
	})
	left, right := []string{"n1", "n2"}, []string{"n3", "n4", "n5"}
	c.Net.Partition(left, right)
	eventually(t, 15*time.Second, "each side's failure detector sees the other side fail", func() bool {
		return statusOf(c.Node(0), "n3") == membership.StatusFailed && statusOf(c.Node(4), "n1") == membership.StatusFailed
	})
	for k := range 20 {
		key := []byte(fmt.Sprintf("g%d", k))
		for _, coord := range []int{0, 4} {
			if _, err := c.Node(coord).Put(t.Context(), WriteRequest{Key: key, Value: fmt.Appendf(nil, "from-n%d", coord+1), W: 2}); err != nil {
				t.Fatalf("write %s via n%d during the partition: %v", key, coord+1, err)
			}
		}
	}
	c.Net.Heal()
	eventually(t, 15*time.Second, "members alive again after healing", func() bool {
		return statusOf(c.Node(0), "n3") == membership.StatusAlive && statusOf(c.Node(4), "n1") == membership.StatusAlive
	})
	r := c.Node(0).cluster.View().Ring
	settle(t, c, 15*time.Second, "both sides' writes on every replica", func() bool {
		for k := range 20 {
			key := []byte(fmt.Sprintf("g%d", k))
			for _, id := range r.PreferenceList(r.PartitionOf(key)) {
				n := c.Node(indexOf(id))
				if !holds(n, key, "from-n1") || !holds(n, key, "from-n5") {
					return false
				}
			}
		}
		return true
	})
}
