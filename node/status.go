package node

import (
	"time"

	"github.com/dynkv/dynkv/clusterstatus"
)

// The status report's documents are package clusterstatus's, which the
// SDK decodes too: GET /cluster/status?scope=local and each member's part
// of the cluster's. It is the stable JSON API for a node's progress;
// metric names are not.
type (
	NodeStatus        = clusterstatus.NodeStatus
	HintStatus        = clusterstatus.HintStatus
	AntiEntropyStatus = clusterstatus.AntiEntropyStatus
	DiskStatus        = clusterstatus.DiskStatus
)

// Status is this node's own report.
func (n *Node) Status() NodeStatus {
	v := n.cluster.View()
	cfg := v.Ring.Config()
	st := NodeStatus{
		Node: n.cfg.NodeID, Actor: n.replica.Actor(), Incarnation: n.started.UnixMilli(),
		Draining: n.closing.Load(), Leaving: n.repair.Leaving(),
		Partitions: cfg.Partitions, N: cfg.N, Hints: map[string]HintStatus{}, Handoffs: n.repair.Handoffs(),
		ReadRepairs: n.coord.ReadRepairs(),
	}
	// A bucket's replicas are the first N of the walk, its own N: this node
	// replicates p for some bucket when its rank is below the highest N.
	maxN := n.bucketTable().MaxN()
	for p := range cfg.Partitions {
		switch rank := v.Ring.Rank(p, n.cfg.NodeID); {
		case rank == 0:
			st.Leads++
			st.Replicas++
		case rank > 0 && rank < maxN:
			st.Replicas++
		}
	}
	for target, hs := range n.replica.Hints().Stats() {
		st.Hints[target] = HintStatus{Pending: hs.Pending, Delivered: hs.Delivered, Redirected: hs.Redirected}
	}
	rs := n.repair.Stats()
	st.HandoffKeys = rs.HandoffKeys.Load()
	st.TombstonesReaped = rs.TombstonesReaped.Load()
	st.AntiEntropy = AntiEntropyStatus{
		TreesReady: n.replica.TreesReady(),
		Exchanges: map[string]int64{
			"in_sync": rs.ExchangesInSync.Load(), "repaired": rs.ExchangesRepaired.Load(), "failed": rs.ExchangesFailed.Load(),
		},
		KeysRepaired: rs.KeysRepaired.Load(), KeyFailures: rs.KeyFailures.Load(), BytesSent: rs.BytesSent.Load(),
	}
	if ms := rs.LastExchange.Load(); ms > 0 {
		t := time.UnixMilli(ms).UTC()
		st.AntiEntropy.LastExchange = &t
	}
	st.Disk = n.diskStatus()
	st.Ops = n.ops.report()
	return st
}
