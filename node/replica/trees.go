package replica

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/dynkv/dynkv/merkle"
	"github.com/dynkv/dynkv/node/internal/wire"
)

// Every partition this node replicates has a Merkle tree over its keys,
// kept current on every local write, so an anti-entropy exchange costs a
// few hashes when two replicas agree and touches only the keys that differ
// when they do not.

// partitionTree is one partition's tree. Writers to the partition hold lock
// shared while they update the store and the tree; a build holds it
// exclusively while it scans, so no write can be both in the scan and in a
// delta (which would count it twice).
type partitionTree struct {
	lock  sync.RWMutex
	tree  *merkle.Tree
	ready atomic.Bool
}

// partitions is the per-partition state of the partitions this node
// replicates.
type partitions struct {
	cfg merkle.Config

	mu    sync.RWMutex
	trees map[int]*partitionTree
}

func newPartitions(cfg merkle.Config) *partitions {
	return &partitions{cfg: cfg, trees: map[int]*partitionTree{}}
}

func (a *partitions) tree(p int) *partitionTree {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.trees[p]
}

// lockForWrite is taken around every store write to partition p; the
// returned func applies the write's delta to the tree and releases the
// lock.
func (a *partitions) lockForWrite(p int) func(key, old, new []byte) {
	pt := a.tree(p)
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

// Track makes the partitions this replica keeps trees for exactly ps, and
// returns those whose trees need building (BuildTrees).
func (r *Replica) Track(ps []int) ([]int, error) {
	a := r.trees
	a.mu.Lock()
	defer a.mu.Unlock()
	want := map[int]bool{}
	var build []int
	for _, p := range ps {
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

// BuildTrees (re)builds the listed partitions' trees from the store.
func (r *Replica) BuildTrees(ctx context.Context, ps []int) {
	for _, p := range ps {
		if ctx.Err() != nil {
			return
		}
		pt := r.trees.tree(p)
		if pt == nil {
			continue
		}
		pt.lock.Lock()
		pt.tree.Reset()
		err := r.store.Scan(uint16(p), func(key, value []byte) error {
			pt.tree.Update(key, nil, value)
			return nil
		})
		if err == nil {
			pt.ready.Store(true)
		}
		pt.lock.Unlock()
		if err != nil {
			r.log.Warn("building Merkle tree failed; will retry", "partition", p, "err", err)
		}
	}
}

// TreesReady counts the partitions whose tree is built.
func (r *Replica) TreesReady() int {
	a := r.trees
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

// Tree returns partition p's tree once built, for an exchange to compare
// against; nil while it is missing or building.
func (r *Replica) Tree(p int) *merkle.Tree {
	if pt := r.trees.tree(p); pt != nil && pt.ready.Load() {
		return pt.tree
	}
	return nil
}

func notReady(p int) error {
	return &wire.RemoteError{Code: wire.CodeNotReady, Message: fmt.Sprintf("partition %d has no tree yet", p)}
}

// LeafEntries lists this replica's (key, value hash) entries in the given
// leaves of partition p, in key order.
func (r *Replica) LeafEntries(p int, leaves []int) ([]merkle.Entry, error) {
	t := r.Tree(p)
	if t == nil {
		return nil, notReady(p)
	}
	want := map[int]bool{}
	for _, l := range leaves {
		want[l] = true
	}
	var out []merkle.Entry
	err := r.store.Scan(uint16(p), func(key, value []byte) error {
		if want[t.LeafOf(key)] {
			out = append(out, merkle.Entry{Key: key, Hash: merkle.ValueHash(value)})
		}
		return nil
	})
	return out, err
}

// handleTree serves a peer's tree descent and entry requests.
func (r *Replica) handleTree(op wire.Op, body []byte) ([]byte, error) {
	req, err := wire.DecodeTreeRequest(body)
	if err != nil {
		return nil, err
	}
	if req.Partition >= r.cfg.Partitions {
		return nil, fmt.Errorf("%w: partition %d of %d", wire.ErrBadMessage, req.Partition, r.cfg.Partitions)
	}
	if op == wire.OpTreeEntries {
		entries, err := r.LeafEntries(req.Partition, req.Indexes)
		if err != nil {
			return nil, err
		}
		return merkle.AppendEntries([]byte{}, entries)
	}
	t := r.Tree(req.Partition)
	if t == nil {
		return nil, notReady(req.Partition)
	}
	if len(req.Indexes) == 0 {
		// No node named: the root itself.
		return merkle.AppendHashes(nil, []uint64{t.Root()}), nil
	}
	var hashes []uint64
	for _, idx := range req.Indexes {
		hs, err := t.Children(req.Level, idx)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", wire.ErrBadMessage, err)
		}
		hashes = append(hashes, hs...)
	}
	return merkle.AppendHashes(nil, hashes), nil
}
