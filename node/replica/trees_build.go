package replica

import (
	"context"
	"fmt"
	"slices"

	"github.com/dynkv/dynkv/merkle"
)

// Building a tree off to the side.
//
// A build scans the whole partition: ~1 ms for 400 keys of 1 KiB (100k
// keys at 256 partitions), ~40 ms for 20,000 (5M keys), more on a loaded
// node (docs/BENCHMARKS.md, "Tail stalls"). It used to reset the live tree
// and scan holding the partition's lock exclusively, so every write to the
// partition waited for the whole scan, and exchanges read a half-built
// tree meanwhile. Now it fills a new tree while writes go on, and swaps it
// in when done:
//
//  1. Holding the partition's lock exclusively (no write to the partition
//     in flight), it installs each new tree (one per class it builds) as
//     next and starts the store's scan, whose snapshot is taken when it
//     starts (store.Scan's contract), and
//     releases the lock as soon as the scan hands it its first entry, or
//     when an empty scan returns. The lock is held for one seek and one
//     value read, not for the scan.
//  2. Every write that finished before step 1 is in the snapshot and not in
//     next's deltas (next was not installed yet); every write that started
//     after step 1 is not in the snapshot and applies its delta to next as
//     well as to the live tree (apply) of its key's class, looked up under
//     the lock in the generation the build belongs to, which was published
//     before step 1 (trees.go). No write is in both or in neither,
//     so the scan plus the deltas equal the store: XOR deltas chain from
//     the value the snapshot holds, since per-key writes are serialised
//     read-modify-writes (merkle's "Keeping a tree exact").
//  3. When the scan is done, the new tree becomes live and next is cleared,
//     in that order (apply reads them in the other order).
//
// A tree that drifted would only cost repeated exchanges of its leaves,
// never data (docs/GUARANTEES.md, G3: exchanges compare real entries), but
// the invariant keeps the steady state at one hash per exchange.

// BuildTrees (re)builds the listed trees from the store, one scan per
// partition for all of its listed classes. Writes to a partition go on
// while its trees are built, and an existing tree keeps serving exchanges
// until the new one replaces it. Trees no longer kept (Track since) are
// skipped.
func (r *Replica) BuildTrees(ctx context.Context, ids []TreeID) {
	ids = slices.Clone(ids)
	slices.SortFunc(ids, compareTreeIDs)
	for len(ids) > 0 {
		if ctx.Err() != nil {
			return
		}
		p := ids[0].Partition
		k := 1
		for k < len(ids) && ids[k].Partition == p {
			k++
		}
		g := r.trees.gen.Load()
		if g == nil {
			return
		}
		var todo []classTree
		for _, id := range slices.Compact(ids[:k]) {
			if pt := g.trees[id]; pt != nil {
				todo = append(todo, classTree{n: id.N, pt: pt})
			}
		}
		ids = ids[k:]
		if len(todo) == 0 {
			continue
		}
		if err := r.buildTrees(ctx, g, p, todo); err != nil && ctx.Err() == nil {
			r.log.Warn("building Merkle trees failed; will retry", "partition", p, "err", err)
		}
	}
}

// classTree is one tree a partition's build fills: the keys of class n.
type classTree struct {
	n  int
	pt *partitionTree
	t  *merkle.Tree
}

// buildTrees builds partition p's listed trees of generation g, each into
// a new tree swapped in at the end, as described above, with one scan.
func (r *Replica) buildTrees(ctx context.Context, g *generation, p int, todo []classTree) error {
	for i := range todo { // ascending N: concurrent builds lock alike
		todo[i].pt.building.Lock()
		defer todo[i].pt.building.Unlock()
		t, err := merkle.New(r.trees.cfg)
		if err != nil {
			return fmt.Errorf("build trees of partition %d: %w", p, err)
		}
		todo[i].t = t
	}
	byClass := make(map[int]*merkle.Tree, len(todo))
	lock := &r.trees.locks[p]
	lock.Lock()
	for _, ct := range todo {
		ct.pt.next.Store(ct.t)
		byClass[ct.n] = ct.t
	}
	locked := true
	release := func() {
		if locked {
			locked = false
			lock.Unlock()
		}
	}
	n := 0
	err := r.store.Scan(uint16(p), func(key, value []byte) error {
		// The scan's snapshot is open: later writes go to the trees as
		// deltas.
		release()
		if n%256 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if t := byClass[g.classOf(key)]; t != nil {
			t.Update(key, nil, value)
		}
		n++
		if r.trees.scanned != nil {
			r.trees.scanned(p, n)
		}
		return nil
	})
	release()
	for _, ct := range todo {
		if err != nil {
			ct.pt.next.CompareAndSwap(ct.t, nil)
			continue
		}
		ct.pt.live.Store(ct.t)
		ct.pt.next.Store(nil)
	}
	if err != nil {
		return fmt.Errorf("build trees of partition %d after %d keys: %w", p, n, err)
	}
	return nil
}
