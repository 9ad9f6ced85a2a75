package repair

import (
	"context"

	"github.com/dynkv/dynkv/bucket"
	"github.com/dynkv/dynkv/node/membership"
	"github.com/dynkv/dynkv/node/replica"
)

// Buckets have their own N: a key's replicas are the first N members of
// its partition's walk (ring.PreferenceListN), N its bucket's. A node of
// rank k in partition p's walk (ring.Rank) therefore replicates p's keys of
// every bucket whose N exceeds k, and keeps one Merkle tree per partition
// and class, the buckets of one N (package replica). Anti-entropy
// exchanges tree (p, n) with the other members of PreferenceListN(p, n)
// only, so a key is copied only to nodes that must hold it; handoff hands
// on the keys a node holds beyond its rank's classes, so lowering a
// bucket's N trims the replicas past the new N, and raising it is filled by
// anti-entropy (docs/GUARANTEES.md, G3).

// wantedTrees are the trees this node keeps under v and table: (p, n) for
// every partition p and class n with 0 <= Rank(p, self) < n.
func (rp *Repair) wantedTrees(v *membership.View, table *bucket.Table) []replica.TreeID {
	var ids []replica.TreeID
	for p := range rp.cfg.Partitions {
		rank := v.Ring.Rank(p, rp.cfg.Self)
		if rank < 0 {
			continue
		}
		for _, n := range table.Classes() {
			if rank < n {
				ids = append(ids, replica.TreeID{Partition: p, N: n})
			}
		}
	}
	return ids
}

// syncPlacement rebuilds every tree, before a pass exchanges any, when the
// bucket table's placement changed since the trees were classified: a key
// whose bucket's N changed is in another class now.
func (rp *Repair) syncPlacement(ctx context.Context, v *membership.View) error {
	if !rp.replica.PlacementChanged() {
		return nil
	}
	build, err := rp.replica.Track(rp.wantedTrees(v, rp.cfg.Buckets()))
	if err != nil {
		return err
	}
	rp.log.Info("bucket placement changed; rebuilding Merkle trees", "trees", len(build))
	rp.replica.BuildTrees(ctx, build)
	return ctx.Err()
}

// holdsRightly reports whether this node, of rank in the key's partition
// walk, must hold a key of a bucket with N n.
func (rp *Repair) holdsRightly(rank, n int) bool {
	return !rp.leaving.Load() && rank >= 0 && rank < n
}

// wireClass is the class a tree request names: 0 for the default bucket's,
// so that requests for it are what nodes from before buckets understand.
func wireClass(table *bucket.Table, n int) int {
	if n == table.Props(bucket.Default).N {
		return 0
	}
	return n
}
