package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

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

// partitionTree is one partition's tree. Writers to the partition hold lock
// shared while they update the store and the tree; a build holds it
// exclusively while it scans, so no write can be both in the scan and in a
// delta (which would count it twice).
type partitionTree struct {
	lock  sync.RWMutex
	tree  *merkle.Tree
	ready atomic.Bool
}

type antiEntropy struct {
	cfg merkle.Config

	mu    sync.RWMutex
	trees map[int]*partitionTree
}

func newAntiEntropy(cfg merkle.Config) *antiEntropy {
	return &antiEntropy{cfg: cfg, trees: map[int]*partitionTree{}}
}

func (a *antiEntropy) tree(p int) *partitionTree {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.trees[p]
}

// track makes the set of tracked partitions equal to partitions and returns
// the trees that need building.
func (a *antiEntropy) track(partitions []int) ([]int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	want := map[int]bool{}
	var build []int
	for _, p := range partitions {
		want[p] = true
		if _, ok := a.trees[p]; !ok {
			t, err := merkle.New(a.cfg)
			if err != nil {
				return nil, err
			}
			a.trees[p] = &partitionTree{tree: t}
			build = append(build, p)
		}
	}
	for p := range a.trees {
		if !want[p] {
			delete(a.trees, p)
		}
	}
	return build, nil
}

// lockForWrite is taken around every local store write of key; the returned
// func applies the write's delta to the tree and releases the lock.
func (n *Node) lockForWrite(p uint16) func(key, old, new []byte) {
	pt := n.ae.tree(int(p))
	if pt == nil {
		return func(_, _, _ []byte) {}
	}
	pt.lock.RLock()
	return func(key, old, new []byte) {
		if !bytes.Equal(old, new) {
			pt.tree.Update(key, old, new)
		}
		pt.lock.RUnlock()
	}
}

// buildTrees (re)builds the listed partitions' trees from the store.
func (n *Node) buildTrees(ctx context.Context, partitions []int) {
	for _, p := range partitions {
		if ctx.Err() != nil {
			return
		}
		pt := n.ae.tree(p)
		if pt == nil {
			continue
		}
		pt.lock.Lock()
		pt.tree.Reset()
		err := n.store.Scan(uint16(p), func(key, value []byte) error {
			pt.tree.Update(key, nil, value)
			return nil
		})
		if err == nil {
			pt.ready.Store(true)
		}
		pt.lock.Unlock()
		if err != nil {
			n.log.Warn("building Merkle tree failed; will retry", "partition", p, "err", err)
			continue
		}
	}
	n.metrics.aeTreesReady.Set(float64(n.ae.readyCount()))
}

func (a *antiEntropy) readyCount() int {
	a.mu.RLock()
	defer a.mu.RUnlock()
	c := 0
	for _, pt := range a.trees {
		if pt.ready.Load() {
			c++
		}
	}
	return c
}

// syncTrees follows ring changes: new partitions get a tree built in the
// background, partitions no longer replicated are forgotten.
func (n *Node) syncTrees() {
	v := n.cluster.View()
	build, err := n.ae.track(v.Ring.PartitionsOf(n.cfg.NodeID))
	if err != nil {
		n.log.Error("cannot track partitions for anti-entropy", "err", err)
		return
	}
	n.metrics.aeTreesReady.Set(float64(n.ae.readyCount()))
	if len(build) > 0 && !n.closing.Load() {
		n.loops.Add(1)
		go func() {
			defer n.loops.Done()
			n.buildTrees(n.loopCtx, build)
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
	pt := n.ae.tree(p)
	if pt == nil || !pt.ready.Load() {
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
	if root[0] == pt.tree.Root() {
		st.InSync = 1
		return st, nil
	}

	// Descend only into subtrees whose hashes differ.
	depth := pt.tree.Config().Depth
	frontier := []int{0}
	for level := 0; level < depth && len(frontier) > 0; level++ {
		theirs, err := peers.TreeChildren(ctx, peer, wire.TreeRequest{Partition: p, Level: level, Indexes: frontier})
		if err != nil {
			result = "failed"
			return st, err
		}
		fan := pt.tree.Config().Fanout
		if len(theirs) != len(frontier)*fan {
			result = "failed"
			return st, fmt.Errorf("%w: %d hashes for %d nodes", wire.ErrBadMessage, len(theirs), len(frontier))
		}
		var next []int
		for k, idx := range frontier {
			mine, err := pt.tree.Children(level, idx)
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
	mine, err := n.leafEntries(p, frontier)
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
		if err := n.mergeLocal(key, theirSet); err != nil {
			return st, err
		}
		st.KeysRepaired++
		if isDiffer[string(key)] {
			merged, err := n.readLocal(key)
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
		s, err := n.readLocal(key)
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

// leafEntries lists this replica's (key, value hash) entries in the given
// leaves of partition p, in key order.
func (n *Node) leafEntries(p int, leaves []int) ([]merkle.Entry, error) {
	pt := n.ae.tree(p)
	if pt == nil || !pt.ready.Load() {
		return nil, &wire.RemoteError{Code: wire.CodeNotReady, Message: fmt.Sprintf("partition %d has no tree yet", p)}
	}
	want := map[int]bool{}
	for _, l := range leaves {
		want[l] = true
	}
	var out []merkle.Entry
	err := n.store.Scan(uint16(p), func(key, value []byte) error {
		if want[pt.tree.LeafOf(key)] {
			out = append(out, merkle.Entry{Key: key, Hash: merkle.ValueHash(value)})
		}
		return nil
	})
	return out, err
}

// handleTree serves a peer's tree descent and entry requests.
func (n *Node) handleTree(op wire.Op, body []byte) ([]byte, error) {
	req, err := wire.DecodeTreeRequest(body)
	if err != nil {
		return nil, err
	}
	if req.Partition >= n.cfg.Ring.Partitions {
		return nil, fmt.Errorf("%w: partition %d of %d", wire.ErrBadMessage, req.Partition, n.cfg.Ring.Partitions)
	}
	if op == wire.OpTreeEntries {
		entries, err := n.leafEntries(req.Partition, req.Indexes)
		if err != nil {
			return nil, err
		}
		return merkle.AppendEntries([]byte{}, entries)
	}
	pt := n.ae.tree(req.Partition)
	if pt == nil || !pt.ready.Load() {
		return nil, &wire.RemoteError{Code: wire.CodeNotReady, Message: fmt.Sprintf("partition %d has no tree yet", req.Partition)}
	}
	if len(req.Indexes) == 0 {
		// No node named: the root itself.
		return merkle.AppendHashes(nil, []uint64{pt.tree.Root()}), nil
	}
	var hashes []uint64
	for _, idx := range req.Indexes {
		hs, err := pt.tree.Children(req.Level, idx)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", wire.ErrBadMessage, err)
		}
		hashes = append(hashes, hs...)
	}
	return merkle.AppendHashes(nil, hashes), nil
}
