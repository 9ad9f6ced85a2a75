package node

import (
	"github.com/dynkv/dynkv/bucket"
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
func (n *Node) applyBucketRegistry(reg bucket.Registry) {
	n.tables.Store(bucket.NewTable(reg, n.bucketLimits()))
}
