package replica

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/dynkv/dynkv/bucket"
	"github.com/dynkv/dynkv/merkle"
	"github.com/dynkv/dynkv/node/internal/wire"
)

// Every partition this node replicates has a Merkle tree over its keys per
// class — the buckets of one N, as Riak's AAE keeps one tree per partition
// and n_val — kept current on every local write, so an anti-entropy
// exchange costs a few hashes when two replicas agree and touches only the
// keys that differ when they do not. Two replicas exchange tree (p, n) only
// if both replicate p for buckets of N n (package repair), so a key is
// compared only with the nodes that must hold it.
//
// Which class a key is in depends on the bucket table. A generation is the
// set of trees kept under one placement (bucket.Table.Placement, which
// bucket has which N): when the placement changes, keys may change class,
// so Track publishes a new generation whose trees are all new and unbuilt;
// they are served (and counted by TreesReady) once built. Writers take the
// partition's lock before they look the generation up, and a build takes
// that lock exclusively after its generation was published, so a writer
// that classified a key under an older generation has finished before the
// build's snapshot opens: the invariant of trees_build.go holds across a
// placement change.

// TreeID names one tree: the keys of Partition whose bucket has N replicas.
type TreeID struct{ Partition, N int }

func compareTreeIDs(a, b TreeID) int {
	return cmp.Or(cmp.Compare(a.Partition, b.Partition), cmp.Compare(a.N, b.N))
}

// partitionTree is one tree (trees_build.go says how a build and writes
// share its partition's lock).
type partitionTree struct {
	// live is the tree exchanges read: nil until the first build is done.
	live atomic.Pointer[merkle.Tree]
	// next is the tree a build is filling, which writes update too; nil
	// when no build runs.
	next atomic.Pointer[merkle.Tree]
	// building lets one build of the tree run at a time: two would both
	// install themselves as next.
	building sync.Mutex
}

// apply records a write's change of key in the live tree and, during a
// build, in the tree being built. The caller holds the partition's lock
// shared.
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

// generation is the trees kept under one placement. Immutable once
// published.
type generation struct {
	// table classifies keys; every table of the same placement classifies
	// them alike.
	table     *bucket.Table
	placement string
	// single is the one class when the table has only one, 0 otherwise:
	// the write path then skips the key's bucket lookup.
	single int
	trees  map[TreeID]*partitionTree
}

// classOf is the class (the bucket's N) of key in this generation.
func (g *generation) classOf(key []byte) int {
	if g.single != 0 {
		return g.single
	}
	return g.table.PropsOf(key).N
}

// partitions is the state of the trees this node keeps.
type partitions struct {
	cfg merkle.Config
	// locks, one per partition, are held shared by every write to the
	// partition from before it looks up its tree until its delta is
	// applied, and exclusively by a build only while it opens its scan's
	// snapshot.
	locks []sync.RWMutex
	mu    sync.Mutex // serialises Track
	gen   atomic.Pointer[generation]

	// scanned, when set (tests only, before any build), is called by a
	// build after each entry it scanned, with the count so far, while
	// writers are not held back.
	scanned func(p, n int)
}

func newPartitions(cfg merkle.Config, n int) *partitions {
	return &partitions{cfg: cfg, locks: make([]sync.RWMutex, n)}
}

// tree is the current generation's tree id (nil if not kept).
func (a *partitions) tree(id TreeID) *partitionTree {
	if g := a.gen.Load(); g != nil {
		return g.trees[id]
	}
	return nil
}

// lockForWrite is taken around every store write of key, in partition p;
// the returned func applies the write's delta to the key's tree(s) and
// releases the lock.
func (a *partitions) lockForWrite(p int, key []byte) func(key, old, new []byte) {
	l := &a.locks[p]
	l.RLock()
	var pt *partitionTree
	if g := a.gen.Load(); g != nil && len(g.trees) > 0 {
		pt = g.trees[TreeID{p, g.classOf(key)}]
	}
	return func(key, old, new []byte) {
		if pt != nil && !bytes.Equal(old, new) {
			pt.apply(key, old, new)
		}
		l.RUnlock()
	}
}

// Track makes the trees this replica keeps exactly ids, classified by the
// current bucket table, and returns those that need building (BuildTrees),
// in (partition, N) order. Trees kept before stay, built, unless the
// table's placement changed: then every tree is new (see above).
func (r *Replica) Track(ids []TreeID) ([]TreeID, error) {
	a := r.trees
	if err := a.cfg.Validate(); err != nil {
		return nil, fmt.Errorf("track trees: %w", err)
	}
	for _, id := range ids {
		if id.Partition < 0 || id.Partition >= r.cfg.Partitions || id.N < 1 || id.N > bucket.MaxN {
			return nil, fmt.Errorf("track trees: no tree (%d, %d) with %d partitions and N at most %d", id.Partition, id.N, r.cfg.Partitions, bucket.MaxN)
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	table := r.cfg.Buckets()
	g := &generation{table: table, placement: table.Placement(), trees: map[TreeID]*partitionTree{}}
	if cs := table.Classes(); len(cs) == 1 {
		g.single = cs[0]
	}
	old := a.gen.Load()
	keep := old != nil && old.placement == g.placement
	var build []TreeID
	for _, id := range ids {
		if keep && old.trees[id] != nil {
			g.trees[id] = old.trees[id]
			continue
		}
		if g.trees[id] == nil {
			g.trees[id] = &partitionTree{}
			build = append(build, id)
		}
	}
	a.gen.Store(g)
	slices.SortFunc(build, compareTreeIDs)
	return build, nil
}

// PlacementChanged reports whether the bucket table's placement differs
// from the one the trees were classified by: Track must run again (and
// rebuild them all).
func (r *Replica) PlacementChanged() bool {
	g := r.trees.gen.Load()
	return g != nil && g.placement != r.cfg.Buckets().Placement()
}

// TreesReady counts the partitions all of whose trees are built under the
// current bucket placement: those anti-entropy can compare for every bucket
// (status, "trees_ready" against "replicas"). It is 0 from a placement
// change until Track starts the new generation.
func (r *Replica) TreesReady() int {
	if r.PlacementChanged() {
		return 0
	}
	ready, _ := r.treeCounts()
	return ready
}

// TreesTracked counts the partitions this replica keeps trees of.
func (r *Replica) TreesTracked() int {
	_, tracked := r.treeCounts()
	return tracked
}

func (r *Replica) treeCounts() (ready, tracked int) {
	g := r.trees.gen.Load()
	if g == nil {
		return 0, 0
	}
	built := map[int]bool{}
	for id, pt := range g.trees {
		ok, seen := built[id.Partition]
		built[id.Partition] = (ok || !seen) && pt.live.Load() != nil
	}
	for _, ok := range built {
		if ok {
			ready++
		}
	}
	return ready, len(built)
}

// Tree returns tree (p, n) once built, for an exchange to compare against;
// nil while it is missing or its first build runs. A rebuild within a
// generation leaves the previous tree in place, kept current, until the
// new one is swapped in.
func (r *Replica) Tree(p, n int) *merkle.Tree {
	if pt := r.trees.tree(TreeID{p, n}); pt != nil {
		return pt.live.Load()
	}
	return nil
}

func notReady(p, n int) error {
	return &wire.RemoteError{Code: wire.CodeNotReady, Message: fmt.Sprintf("partition %d has no tree for N=%d yet", p, n)}
}

// LeafEntries lists this replica's (key, value hash) entries in the given
// leaves of tree (p, n): the keys of partition p in class n, in key order.
func (r *Replica) LeafEntries(p, n int, leaves []int) ([]merkle.Entry, error) {
	g := r.trees.gen.Load()
	var t *merkle.Tree
	if g != nil && g.trees[TreeID{p, n}] != nil {
		t = g.trees[TreeID{p, n}].live.Load()
	}
	if t == nil {
		return nil, notReady(p, n)
	}
	want := map[int]bool{}
	for _, l := range leaves {
		want[l] = true
	}
	var out []merkle.Entry
	err := r.store.Scan(uint16(p), func(key, value []byte) error {
		if want[t.LeafOf(key)] && g.classOf(key) == n {
			out = append(out, merkle.Entry{Key: key, Hash: merkle.ValueHash(value)})
		}
		return nil
	})
	return out, err
}

// treeClass is the class a tree request names: its N, or, when it names
// none (a peer from before buckets), the default bucket's.
func (r *Replica) treeClass(req wire.TreeRequest) int {
	if req.N != 0 {
		return req.N
	}
	if g := r.trees.gen.Load(); g != nil {
		return g.table.Props(bucket.Default).N
	}
	return r.cfg.Buckets().Props(bucket.Default).N
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
	n := r.treeClass(req)
	if op == wire.OpTreeEntries {
		entries, err := r.LeafEntries(req.Partition, n, req.Indexes)
		if err != nil {
			return nil, err
		}
		return merkle.AppendEntries([]byte{}, entries)
	}
	t := r.Tree(req.Partition, n)
	if t == nil {
		return nil, notReady(req.Partition, n)
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
