package node

import (
	"fmt"

	"github.com/dynkv/dynkv/bucket"
	"github.com/dynkv/dynkv/node/buckets"
	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/node/membership"
)

// The node's bucket table: the cluster's bucket registry resolved against
// this node's limits (package bucket). Every request and every repair pass
// reads it through bucketTable, once per operation; a registry change
// swaps in a new table (applyBucketRegistry), never edits one.

// bucketLimits are the caps and defaults a bucket's props are filled from
// and checked against: the node's own configuration.
func (n *Node) bucketLimits() bucket.Limits {
	c := n.cfg
	return bucket.Limits{N: c.Ring.N, R: c.R, W: c.W, MaxSiblings: c.MaxSiblings, MaxValueBytes: c.MaxValueBytes}
}

// bucketTable returns the current table; never nil.
func (n *Node) bucketTable() *bucket.Table {
	if t := n.tables.Load(); t != nil {
		return t
	}
	return bucket.NewTable(bucket.Registry{}, n.bucketLimits())
}

// applyBucketRegistry makes reg the registry every later operation uses.
// When a bucket's N changed, keys changed tree class: the trees are
// re-tracked and rebuilt now (every registry change comes through here;
// an anti-entropy pass also checks before it exchanges anything).
func (n *Node) applyBucketRegistry(reg bucket.Registry) {
	next := bucket.NewTable(reg, n.bucketLimits())
	old := n.tables.Swap(next)
	if n.repair != nil && (old == nil || old.Placement() != next.Placement()) {
		n.repair.SyncTrees(n.cluster.View())
	}
}

// openBuckets loads the saved registry and applies it (node/buckets): after
// the replica opened and the peers are wired, before anything is served.
func (n *Node) openBuckets() error {
	m, err := buckets.Open(buckets.Config{
		Self: n.cfg.NodeID, Store: n.replica, Peers: n.peers,
		Members: n.bucketPeers, Apply: n.applyBucketRegistry, Limits: n.bucketLimits,
		Publish: func(d string) error { return n.membership.SetTag(membership.TagBuckets, d) },
		// What a frame carries, less the frame's and message's headers.
		MaxEncoded:  n.cfg.MaxInternodeBytes - 1024,
		PushTimeout: n.cfg.RequestTimeout,
		Interval:    n.cfg.BucketSyncInterval,
		Time:        n.cfg.Time,
		Logger:      n.log.With("component", "buckets"),
	})
	if err != nil {
		return err
	}
	n.buckets = m
	return nil
}

// bucketPeers are the members the registry is exchanged with: every usable
// one but this node.
func (n *Node) bucketPeers() []membership.Member {
	var out []membership.Member
	for _, m := range n.cluster.View().List {
		if m.ID != n.cfg.NodeID && n.cluster.Usable(m) {
			out = append(out, m)
		}
	}
	return out
}

// handleBuckets answers a peer's registry operations: the node's, not the
// replica's, as the registry's merge and application are the node's.
func (n *Node) handleBuckets(op wire.Op, body []byte) ([]byte, error) {
	switch op {
	case wire.OpBucketsGet:
		if _, err := wire.DecodeBucketsGetRequest(body); err != nil {
			return nil, err
		}
	case wire.OpBucketsMerge:
		msg, err := wire.DecodeBucketsMessage(body)
		if err != nil {
			return nil, err
		}
		if _, err := n.buckets.Merge(msg.Registry); err != nil {
			return nil, fmt.Errorf("merge a peer's bucket registry: %w", err)
		}
	}
	return wire.BucketsMessage{Registry: n.buckets.Registry()}.Encode(), nil
}
