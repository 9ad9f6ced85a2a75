package replica

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/dynkv/dynkv/bucket"
	"github.com/dynkv/dynkv/merkle"
	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/ring"
)

// bucketKeysOf returns n distinct internal keys of bucket name in
// partition p (of 16, the test config).
func bucketKeysOf(name string, p, n int) [][]byte {
	var keys [][]byte
	for i := 0; len(keys) < n; i++ {
		k := bucket.Key(name, []byte(fmt.Sprintf("key%d", i)))
		if ring.PartitionOf(k, 16) == p {
			keys = append(keys, k)
		}
	}
	return keys
}

// classRoot is the root of a fresh tree over partition p's keys of class n
// under table.
func classRoot(t *testing.T, r *Replica, table *bucket.Table, p, n int) uint64 {
	t.Helper()
	tr, err := merkle.New(merkle.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	err = r.Scan(p, func(key, value []byte) error {
		if table.PropsOf(key).N == n {
			tr.Update(key, nil, value)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return tr.Root()
}

// checkClassTrees fails unless every listed tree is built and equals a
// fresh rebuild of its class from the store.
func checkClassTrees(t *testing.T, r *Replica, table *bucket.Table, p int, classes ...int) {
	t.Helper()
	for _, n := range classes {
		tr := r.Tree(p, n)
		if tr == nil {
			t.Fatalf("tree (%d, %d) not built", p, n)
		}
		if tr.Root() != classRoot(t, r, table, p, n) {
			t.Fatalf("tree (%d, %d) differs from a rebuild of its class", p, n)
		}
	}
}

func trees(p int, classes ...int) []TreeID {
	var out []TreeID
	for _, n := range classes {
		out = append(out, TreeID{Partition: p, N: n})
	}
	return out
}

// A partition keeps one tree per class: a key is in the tree of its
// bucket's N only, entries and tree requests name the class (none: the
// default bucket's), and writes keep each tree exact.
func TestTreesPerClass(t *testing.T) {
	var tv tableVar
	r := openBucketReplica(t, "n1", &tv, map[string]bucket.Props{"two": {N: 2}})
	const p = 3
	if _, err := r.Track(trees(p, 2, 3)); err != nil {
		t.Fatal(err)
	}
	r.BuildTrees(context.Background(), trees(p, 2, 3))
	two, plain := bucketKeysOf("two", p, 20), keysOf(p, 20)
	rng := rand.New(rand.NewPCG(1, 1))
	for _, k := range slices.Concat(two, plain) {
		touch(t, r, rng, k)
	}
	checkClassTrees(t, r, tv.get(), p, 2, 3)
	if r.Tree(p, 2).Root() == r.Tree(p, 3).Root() {
		t.Fatal("the two classes' trees are equal")
	}
	all := make([]int, r.Tree(p, 2).Leaves())
	for i := range all {
		all[i] = i
	}
	entries, err := r.LeafEntries(p, 2, all)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if bucket.NameOf(e.Key) != "two" {
			t.Fatalf("class 2 lists key %q of bucket %s", e.Key, bucket.NameOf(e.Key))
		}
	}
	for _, tc := range []struct{ wireN, n int }{{0, 3}, {3, 3}, {2, 2}} {
		out, err := r.HandleInternode(context.Background(), wire.OpTreeChildren, wire.TreeRequest{Partition: p, N: tc.wireN}.Encode())
		if err != nil {
			t.Fatal(err)
		}
		if hs, err := merkle.DecodeHashes(out); err != nil || len(hs) != 1 || hs[0] != r.Tree(p, tc.n).Root() {
			t.Fatalf("root of class %d asked as N=%d: %v %v", tc.n, tc.wireN, hs, err)
		}
	}
	_, err = r.HandleInternode(context.Background(), wire.OpTreeChildren, wire.TreeRequest{Partition: p, N: 5}.Encode())
	if !refusedWith(err, wire.CodeNotReady) {
		t.Fatalf("a class not kept: %v", err)
	}
	if r.TreesReady() != 1 || r.TreesTracked() != 1 {
		t.Fatalf("trees ready %d of %d partitions, want 1 of 1", r.TreesReady(), r.TreesTracked())
	}
}

// When the bucket placement changes, Track starts a new generation: every
// tree is rebuilt under the new classes, writes racing the rebuild are
// neither lost nor counted twice, and two replicas holding the same data
// agree at every root before and after. A change that keeps the placement
// keeps the trees.
func TestPlacementChangeRebuildsEveryTree(t *testing.T) {
	const p = 5
	props := map[string]bucket.Props{"two": {N: 2}}
	rp := &replicaPair{t: t, p: p, rng: rand.New(rand.NewPCG(2, 2))}
	rp.a = openBucketReplica(t, "na", &rp.ta, props)
	rp.b = openBucketReplica(t, "nb", &rp.tb, props)
	a, b := rp.a, rp.b
	rp.keys = slices.Concat(bucketKeysOf("two", p, 150), keysOf(p, 150))
	for _, k := range rp.keys[:200] {
		touch(t, a, rp.rng, k)
	}
	for _, r := range []*Replica{a, b} {
		if _, err := r.Track(trees(p, 2, 3)); err != nil {
			t.Fatal(err)
		}
		r.BuildTrees(context.Background(), trees(p, 2, 3))
	}
	rp.sync()
	for _, n := range []int{2, 3} {
		if a.Tree(p, n).Root() != b.Tree(p, n).Root() {
			t.Fatalf("in-sync replicas differ at class %d", n)
		}
	}
	rp.checkSamePlacementKeepsTrees()
	for _, classes := range [][]int{{3}, {2, 3}} {
		rp.changePlacement(classes...)
	}
}

// replicaPair is two replicas, each with its own bucket table, that a test
// keeps holding the same keys of partition p.
type replicaPair struct {
	t      *testing.T
	p      int
	a, b   *Replica
	ta, tb tableVar
	keys   [][]byte
	rng    *rand.Rand
}

// sync merges each key's state from a into b and back.
func (rp *replicaPair) sync() {
	t := rp.t
	t.Helper()
	for _, k := range rp.keys {
		s, _ := rp.a.Read(k)
		if err := rp.b.Merge(k, s); err != nil {
			t.Fatal(err)
		}
		s, _ = rp.b.Read(k)
		if err := rp.a.Merge(k, s); err != nil {
			t.Fatal(err)
		}
	}
}

// checkSamePlacementKeepsTrees changes a prop of a's bucket other than N:
// no placement change, nothing to build, and a's trees kept.
func (rp *replicaPair) checkSamePlacementKeepsTrees() {
	t, a, p := rp.t, rp.a, rp.p
	t.Helper()
	kept := a.Tree(p, 2)
	rp.ta.set(t, map[string]bucket.Props{"two": {N: 2, MaxSiblings: 1}})
	if a.PlacementChanged() {
		t.Fatal("a caps change reported as a placement change")
	}
	if build, err := a.Track(trees(p, 2, 3)); err != nil || len(build) != 0 || a.Tree(p, 2) != kept {
		t.Fatalf("same placement: build %v, err %v, kept %v", build, err, a.Tree(p, 2) == kept)
	}
}

// changePlacement gives bucket two N=classes[0] on both replicas, which
// leaves partition p the given classes: a rebuilds every tree with writes
// racing the rebuild, b rebuilds too, and once in sync again the two agree
// at every root.
func (rp *replicaPair) changePlacement(classes ...int) {
	t, a, b, p := rp.t, rp.a, rp.b, rp.p
	t.Helper()
	next := map[string]bucket.Props{"two": {N: classes[0]}}
	rp.ta.set(t, next)
	rp.tb.set(t, next)
	if !a.PlacementChanged() {
		t.Fatal("a new N not reported as a placement change")
	}
	build, err := a.Track(trees(p, classes...))
	if err != nil || !slices.Equal(build, trees(p, classes...)) {
		t.Fatalf("new placement: build %v, err %v", build, err)
	}
	if a.TreesReady() != 0 || a.Tree(p, 3) != nil {
		t.Fatal("trees of the old placement still served")
	}
	rp.rebuildRacingWrites(build)
	checkClassTrees(t, a, rp.ta.get(), p, classes...)
	if _, err := b.Track(trees(p, classes...)); err != nil {
		t.Fatal(err)
	}
	b.BuildTrees(context.Background(), trees(p, classes...))
	rp.sync()
	for _, n := range classes {
		if a.Tree(p, n).Root() != b.Tree(p, n).Root() {
			t.Fatalf("in-sync replicas differ at class %d after the placement change", n)
		}
	}
	if a.TreesReady() != 1 || a.PlacementChanged() {
		t.Fatalf("after the rebuild: ready %d, placement changed %v", a.TreesReady(), a.PlacementChanged())
	}
}

// rebuildRacingWrites builds a's trees, writing 100 keys once the scan is
// 100 keys in.
func (rp *replicaPair) rebuildRacingWrites(build []TreeID) {
	t, a := rp.t, rp.a
	t.Helper()
	paused := false
	a.trees.scanned = func(_, n int) {
		if n == 100 && !paused {
			paused = true
			for i := range 100 {
				touch(t, a, rp.rng, rp.keys[(i*7)%len(rp.keys)])
			}
		}
	}
	a.BuildTrees(context.Background(), build)
	a.trees.scanned = nil
	if !paused {
		t.Fatal("the rebuild scanned fewer than 100 keys")
	}
}
