package node

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/dynkv/dynkv/merkle"
	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/node/membership"
	"github.com/dynkv/dynkv/node/transport"
)

// Active anti-entropy: every partition this node replicates has a Merkle
// tree over its keys, kept current on every local write, so an exchange
// between two replicas costs a few hashes when they agree and touches only
// the keys that differ when they do not. It heals what hinted handoff
// misses (hints dropped after their window, a wiped disk, a fallback that
// died) without any client read.

// syncTrees follows ring changes: new partitions get a tree built in the
// background, partitions no longer replicated are forgotten.
func (n *Node) syncTrees() {
	v := n.cluster.View()
	build, err := n.replica.Track(v.Ring.PartitionsOf(n.cfg.NodeID))
	if err != nil {
		n.log.Error("cannot track partitions for anti-entropy", "err", err)
		return
	}
	if len(build) > 0 && !n.closing.Load() {
		n.loops.Add(1)
		go func() {
			defer n.loops.Done()
			n.replica.BuildTrees(n.loopCtx, build)
		}()
	}
}

// ExchangeStats counts what one or more exchanges did.
type ExchangeStats struct {
	Exchanges      int   // partition-peer pairs compared
	InSync         int   // of which agreed at the root
	KeysRepaired   int   // keys merged here or pushed to the peer
	BytesSent      int64 // request bodies sent, tree descent and repairs
	BytesReceived  int64 // response bodies received
	HashesCompared int
}

func (s *ExchangeStats) add(o ExchangeStats) {
	s.Exchanges += o.Exchanges
	s.InSync += o.InSync
	s.KeysRepaired += o.KeysRepaired
	s.BytesSent += o.BytesSent
	s.BytesReceived += o.BytesReceived
	s.HashesCompared += o.HashesCompared
}

// AntiEntropyOnce compares every partition this node replicates with each
// of its other usable replicas and repairs the differences. The background
// loop calls it on a timer; tests call it directly to drive time.
func (n *Node) AntiEntropyOnce(ctx context.Context) (ExchangeStats, error) {
	v := n.cluster.View()
	var total ExchangeStats
	var errs []error
	for _, p := range v.Ring.PartitionsOf(n.cfg.NodeID) {
		for _, id := range v.Ring.PreferenceList(p) {
			m, ok := v.Members[id]
			if id == n.cfg.NodeID || !ok || !n.cluster.Usable(m) {
				continue
			}
			st, err := n.exchange(ctx, p, m)
			total.add(st)
			if err != nil {
				errs = append(errs, fmt.Errorf("partition %d with %s: %w", p, id, err))
			}
			if ctx.Err() != nil {
				return total, ctx.Err()
			}
		}
	}
	return total, errors.Join(errs...)
}

func (n *Node) exchange(ctx context.Context, p int, peer membership.Member) (st ExchangeStats, err error) {
	st = ExchangeStats{Exchanges: 1}
	tree := n.replica.Tree(p)
	if tree == nil {
		return st, nil
	}
	result := "in_sync"
	defer func() {
		n.metrics.aeExchanges.WithLabelValues(result).Inc()
		n.metrics.aeKeysRepaired.Add(float64(st.KeysRepaired))
		n.metrics.aeBytesSent.Add(float64(st.BytesSent))
	}()
	var bytes transport.Bytes
	peers := n.peers.Counting(&bytes)
	// Deferred after the metrics' defer, so it runs first.
	defer func() { st.BytesSent, st.BytesReceived = bytes.Sent, bytes.Received }()
	to := membership.Target{Member: peer}

	// Roots first: replicas in sync (the steady state) cost one hash.
	root, err := peers.TreeChildren(ctx, peer, wire.TreeRequest{Partition: p})
	if err != nil || len(root) != 1 {
		result = "failed"
		return st, fmt.Errorf("%w: bad root answer: %v", wire.ErrBadMessage, err)
	}
	st.HashesCompared++
	if root[0] == tree.Root() {
		st.InSync = 1
		return st, nil
	}

	// Descend only into subtrees whose hashes differ.
	depth := tree.Config().Depth
	frontier := []int{0}
	for level := 0; level < depth && len(frontier) > 0; level++ {
		theirs, err := peers.TreeChildren(ctx, peer, wire.TreeRequest{Partition: p, Level: level, Indexes: frontier})
		if err != nil {
			result = "failed"
			return st, err
		}
		fan := tree.Config().Fanout
		if len(theirs) != len(frontier)*fan {
			result = "failed"
			return st, fmt.Errorf("%w: %d hashes for %d nodes", wire.ErrBadMessage, len(theirs), len(frontier))
		}
		var next []int
		for k, idx := range frontier {
			mine, err := tree.Children(level, idx)
			if err != nil {
				return st, err
			}
			for c := range fan {
				st.HashesCompared++
				if mine[c] != theirs[k*fan+c] {
					next = append(next, idx*fan+c)
				}
			}
		}
		frontier = next
	}
	if len(frontier) == 0 {
		st.InSync = 1
		return st, nil
	}
	result = "repaired"

	theirs, err := peers.TreeEntries(ctx, peer, wire.TreeRequest{Partition: p, Indexes: frontier})
	if err != nil {
		result = "failed"
		return st, err
	}
	mine, err := n.replica.LeafEntries(p, frontier)
	if err != nil {
		return st, err
	}
	onlyMine, onlyTheirs, differ := merkle.DiffEntries(mine, theirs)
	push := onlyMine
	isDiffer := map[string]bool{}
	for _, key := range differ {
		isDiffer[string(key)] = true
	}
	// Theirs first: merging what they have into ours tells whether the
	// peer lacks anything; only then is the merged state pushed back.
	for _, key := range slices.Concat(onlyTheirs, differ) {
		if err := n.aeLimiter.Wait(ctx); err != nil {
			return st, err
		}
		theirSet, err := peers.Read(ctx, to, key)
		if err != nil {
			return st, err
		}
		if err := n.replica.Merge(key, theirSet); err != nil {
			return st, err
		}
		st.KeysRepaired++
		if isDiffer[string(key)] {
			merged, err := n.replica.Read(key)
			if err != nil {
				return st, err
			}
			if !merged.Equal(theirSet) {
				push = append(push, key)
			}
		}
	}
	for _, key := range push {
		if err := n.aeLimiter.Wait(ctx); err != nil {
			return st, err
		}
		s, err := n.replica.Read(key)
		if err != nil {
			return st, err
		}
		if err := peers.Merge(ctx, to, wire.MergeRequest{Key: key, Set: s}.Encode()); err != nil {
			return st, err
		}
		st.KeysRepaired++
	}
	return st, nil
}
