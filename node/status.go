package node

import (
	"time"

	"github.com/dynkv/dynkv/node/repair"
)

// NodeStatus is one node's own report, GET /cluster/status?scope=local and
// each member's part of the cluster's (ClusterStatus): what `dynkv status`
// and /ui show per member. It is the stable JSON API for that; metric names
// are not.
type NodeStatus struct {
	Node  string `json:"node"`
	Actor string `json:"actor"`
	// Incarnation is when this run of the node started (Unix ms), as the
	// member tag membership.TagIncarnation announces it.
	Incarnation int64 `json:"incarnation"`
	Draining    bool  `json:"draining"`
	Leaving     bool  `json:"leaving"`
	// Partitions and N are the ring's; Leads counts the partitions this
	// node is first in the preference list of, Replicas those it
	// replicates for some bucket (its rank in the walk is below the
	// highest bucket N), both in its own view of the ring.
	Partitions int `json:"partitions"`
	N          int `json:"n"`
	Leads      int `json:"leads"`
	Replicas   int `json:"replicas"`
	// Hints are the hints this node keeps for other replicas, by target.
	Hints       map[string]HintStatus  `json:"hints"`
	Handoffs    []repair.HandoffStatus `json:"handoffs"`
	HandoffKeys int64                  `json:"handoff_keys"`
	AntiEntropy AntiEntropyStatus      `json:"antientropy"`
	// TombstonesReaped and ReadRepairs are cumulative since start.
	TombstonesReaped int64      `json:"tombstones_reaped"`
	ReadRepairs      int64      `json:"read_repairs"`
	Disk             DiskStatus `json:"disk"`
	Ops              OpsStatus  `json:"ops"`
}

// HintStatus is the hints kept for one target.
type HintStatus struct {
	Pending    int    `json:"pending"`
	Delivered  uint64 `json:"delivered"`
	Redirected uint64 `json:"redirected"`
}

// AntiEntropyStatus is anti-entropy's progress since start.
type AntiEntropyStatus struct {
	TreesReady   int              `json:"trees_ready"`
	Exchanges    map[string]int64 `json:"exchanges"` // in_sync, repaired, failed
	KeysRepaired int64            `json:"keys_repaired"`
	// KeyFailures counts keys an exchange could not repair (it repaired
	// the rest of their partition); such an exchange counts as failed.
	KeyFailures int64 `json:"key_failures"`
	BytesSent   int64 `json:"bytes_sent"`
	// LastExchange is when the last exchange ended, whatever its result;
	// absent before the first.
	LastExchange *time.Time `json:"last_exchange,omitempty"`
}

// DiskStatus is the store's size on disk and the free space of its file
// system, against the floor below which writes are refused (disk.go).
type DiskStatus struct {
	StoreBytes int64 `json:"store_bytes"`
	FreeBytes  int64 `json:"free_bytes"`
	FloorBytes int64 `json:"floor_bytes"`
	BelowFloor bool  `json:"below_floor"`
	// Error is why the free space is unknown (nothing is refused then).
	Error string `json:"error,omitempty"`
}

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
