package replica

import (
	"context"
	"fmt"

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
//  1. Holding the lock exclusively (no write to the partition in flight),
//     it installs the new tree as next and starts the store's scan, whose
//     snapshot is taken when it starts (store.Scan's contract), and
//     releases the lock as soon as the scan hands it its first entry, or
//     when an empty scan returns. The lock is held for one seek and one
//     value read, not for the scan.
//  2. Every write that finished before step 1 is in the snapshot and not in
//     next's deltas (next was not installed yet); every write that started
//     after step 1 is not in the snapshot and applies its delta to next as
//     well as to the live tree (apply). No write is in both or in neither,
//     so the scan plus the deltas equal the store: XOR deltas chain from
//     the value the snapshot holds, since per-key writes are serialised
//     read-modify-writes (merkle's "Keeping a tree exact").
//  3. When the scan is done, the new tree becomes live and next is cleared,
//     in that order (apply reads them in the other order).
//
// A tree that drifted would only cost repeated exchanges of its leaves,
// never data (docs/GUARANTEES.md, G3: exchanges compare real entries), but
// the invariant keeps the steady state at one hash per exchange.

// BuildTrees (re)builds the listed partitions' trees from the store.
// Writes to a partition go on while its tree is built, and an existing tree
// keeps serving exchanges until the new one replaces it.
func (r *Replica) BuildTrees(ctx context.Context, ps []int) {
	for _, p := range ps {
		if ctx.Err() != nil {
			return
		}
		pt := r.trees.tree(p)
		if pt == nil {
			continue
		}
		if err := r.buildTree(ctx, p, pt); err != nil && ctx.Err() == nil {
			r.log.Warn("building Merkle tree failed; will retry", "partition", p, "err", err)
		}
	}
}

// buildTree builds partition p's tree into a new tree and swaps it in, as
// described above.
func (r *Replica) buildTree(ctx context.Context, p int, pt *partitionTree) error {
	pt.building.Lock()
	defer pt.building.Unlock()
	t, err := merkle.New(r.trees.cfg)
	if err != nil {
		return fmt.Errorf("build tree of partition %d: %w", p, err)
	}
	pt.lock.Lock()
	pt.next.Store(t)
	locked := true
	release := func() {
		if locked {
			locked = false
			pt.lock.Unlock()
		}
	}
	n := 0
	err = r.store.Scan(uint16(p), func(key, value []byte) error {
		// The scan's snapshot is open: later writes go to t as deltas.
		release()
		if n%256 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		t.Update(key, nil, value)
		n++
		if r.trees.scanned != nil {
			r.trees.scanned(p, n)
		}
		return nil
	})
	release()
	if err != nil {
		pt.next.CompareAndSwap(t, nil)
		return fmt.Errorf("build tree of partition %d after %d keys: %w", p, n, err)
	}
	pt.live.Store(t)
	pt.next.Store(nil)
	return nil
}
