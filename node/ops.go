package node

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/dynkv/dynkv/hinted"
	"github.com/dynkv/dynkv/node/coordinator"
	"github.com/dynkv/dynkv/node/membership"
	"github.com/dynkv/dynkv/node/repair"
)

// The node's operations, as the HTTP API, the command line's in-process
// cluster and tests call them. Errors are the client API's (*APIError).

// WriteRequest, WriteResult and ReadResult are the coordinator's.
type (
	WriteRequest  = coordinator.WriteRequest
	WriteResult   = coordinator.WriteResult
	ReadResult    = coordinator.ReadResult
	ExchangeStats = repair.ExchangeStats
	ReapStats     = repair.ReapStats
	HandoffStatus = repair.HandoffStatus
)

// Put coordinates a client write. req.Key is an internal key
// (bucket.Key): the client's key itself in the default bucket.
func (n *Node) Put(ctx context.Context, req WriteRequest) (WriteResult, error) {
	res, err := n.coord.Put(ctx, req)
	return res, apiError(err)
}

// Get coordinates a quorum read of an internal key (bucket.Key) at r, 0
// for its bucket's R.
func (n *Node) Get(ctx context.Context, key []byte, r int) (ReadResult, error) {
	res, err := n.coord.Get(ctx, key, r)
	return res, apiError(err)
}

// Members is this node's current view of the cluster, sorted by ID.
func (n *Node) Members() []membership.Member { return slices.Clone(n.cluster.View().List) }

// AntiEntropyOnce runs one anti-entropy pass now (the loop's work).
func (n *Node) AntiEntropyOnce(ctx context.Context) (ExchangeStats, error) {
	return n.repair.AntiEntropyOnce(ctx)
}

// HandoffOnce hands off what this node no longer replicates, now.
func (n *Node) HandoffOnce(ctx context.Context) (int, error) { return n.repair.HandoffOnce(ctx) }

// ReapTombstonesOnce reaps the tombstones past their grace, now.
func (n *Node) ReapTombstonesOnce(ctx context.Context) (ReapStats, error) {
	return n.repair.ReapTombstonesOnce(ctx)
}

// DeliverHintsOnce runs one hint delivery pass now.
func (n *Node) DeliverHintsOnce(ctx context.Context) error { return n.repair.DeliverHintsOnce(ctx) }

// HintStats reports the hint queue's per-target counters.
func (n *Node) HintStats() map[string]hinted.TargetStats { return n.replica.Hints().Stats() }

// Handoffs lists the partitions this node is handing off.
func (n *Node) Handoffs() []HandoffStatus { return n.repair.Handoffs() }

// Leave hands this node's data off and then leaves the cluster for good;
// it returns at once (see repair.Repair.Leave).
func (n *Node) Leave() error { return n.repair.Leave() }

// Left reports whether a Leave completed.
func (n *Node) Left() bool { return n.repair.Left() }

var errAlreadyLeft = errors.New("already left the cluster")

// Remove declares a failed member gone for good; its partitions are
// re-replicated from the survivors by anti-entropy.
func (n *Node) Remove(id string) error {
	if id == n.cfg.NodeID {
		return errors.New("a node cannot remove itself; use leave")
	}
	m, ok := n.cluster.View().Members[id]
	if !ok {
		return fmt.Errorf("%s is not a member", id)
	}
	switch m.Status {
	case membership.StatusAlive:
		return fmt.Errorf("%s is alive: make it leave instead, or stop it first", id)
	case membership.StatusLeft:
		return fmt.Errorf("%w: %s", errAlreadyLeft, id)
	}
	return n.membership.Remove(id)
}
