package replica

import (
	"bytes"
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

// partitionTree is one partition's tree and the lock that keeps it exact
// (trees_build.go says how a build and writes share it).
type partitionTree struct {
	// lock is held shared by every write to the partition from before its
	// store update until its delta is applied, and exclusively by a build
	// only while it opens its scan's snapshot.
	lock sync.RWMutex
	// live is the tree exchanges read: nil until the first build is done.
	live atomic.Pointer[merkle.Tree]
	// next is the tree a build is filling, which writes update too; nil
	// when no build runs.
	next atomic.Pointer[merkle.Tree]
	// building lets one build of the partition run at a time: two would
	// both install themselves as next.
	building sync.Mutex
}

// apply records a write's change of key in the live tree and, during a
// build, in the tree being built. The caller holds lock shared.
//
// next is loaded before live: a build swaps in by storing live and only
// then clearing next, so a writer that finds next cleared finds the new
// tree as live, and one that finds it set updates it (and possibly the old
// live tree too, which is about to be dropped).
func (pt *partitionTree) apply(key, old, new []byte) {
	next := pt.next.Load()
	live := pt.live.Load()
	if live != nil {
		live.Update(key, old, new)
	}
	if next != nil && next != live {
		next.Update(key, old, new)
	}
}

// partitions is the per-partition state of the partitions this node
// replicates.
type partitions struct {
	cfg merkle.Config

	mu    sync.RWMutex
	trees map[int]*partitionTree

	// scanned, when set (tests only, before any build), is called by a
	// build after each entry it scanned, with the count so far, while
	// writers are not held back.
	scanned func(p, n int)
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
// returned func applies the write's delta to the tree(s) and releases the
// lock.
func (a *partitions) lockForWrite(p int) func(key, old, new []byte) {
	pt := a.tree(p)
	if pt == nil {
		return func(_, _, _ []byte) {}
	}
	pt.lock.RLock()
	return func(key, old, new []byte) {
		if !bytes.Equal(old, new) {
			pt.apply(key, old, new)
		}
		pt.lock.RUnlock()
	}
}

// Track makes the partitions this replica keeps trees for exactly ps, and
// returns those whose trees need building (BuildTrees).
func (r *Replica) Track(ps []int) ([]int, error) {
	a := r.trees
	if err := a.cfg.Validate(); err != nil {
		return nil, fmt.Errorf("track partitions: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	want := map[int]bool{}
	var build []int
	for _, p := range ps {
		want[p] = true
		if _, ok := a.trees[p]; !ok {
			a.trees[p] = &partitionTree{}
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

// TreesReady counts the partitions whose tree is built.
func (r *Replica) TreesReady() int {
	a := r.trees
	a.mu.RLock()
	defer a.mu.RUnlock()
	c := 0
	for _, pt := range a.trees {
		if pt.live.Load() != nil {
			c++
		}
	}
	return c
}

// Tree returns partition p's tree once built, for an exchange to compare
// against; nil while it is missing or its first build runs. A rebuild
// leaves the previous tree in place, kept current, until the new one is
// swapped in.
func (r *Replica) Tree(p int) *merkle.Tree {
	if pt := r.trees.tree(p); pt != nil {
		return pt.live.Load()
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
