package merkle

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/cespare/xxhash/v2"
)

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig: %v", err)
	}
	if got := newTree(t, DefaultConfig()).Leaves(); got != 1024 {
		t.Fatalf("default Leaves = %d, want 1024", got)
	}
	for _, tc := range []struct {
		cfg Config
		ok  bool
	}{
		{Config{Fanout: 2, Depth: 1}, true},
		{Config{Fanout: 256, Depth: 2}, true},
		{Config{Fanout: 32, Depth: 4}, true}, // exactly 1<<20 leaves
		{Config{Fanout: 1, Depth: 2}, false},
		{Config{Fanout: 257, Depth: 1}, false},
		{Config{Fanout: 32, Depth: 0}, false},
		{Config{Fanout: 2, Depth: 5}, false},
		{Config{Fanout: 33, Depth: 4}, false}, // > 1<<20 leaves
		{Config{Fanout: 256, Depth: 4}, false},
		{Config{}, false},
	} {
		err := tc.cfg.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("Validate(%+v) = %v, want ok=%v", tc.cfg, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("Validate(%+v) = %v, not ErrInvalidConfig", tc.cfg, err)
		}
		if _, nerr := New(tc.cfg); (nerr == nil) != tc.ok {
			t.Errorf("New(%+v) = %v, want ok=%v", tc.cfg, nerr, tc.ok)
		}
	}
}

// TestFormatGolden pins the cluster-wide format: the documented formulas,
// and their values, which must never change (see the package doc).
func TestFormatGolden(t *testing.T) {
	tr := newTree(t, DefaultConfig())
	for key, want := range map[string]int{"a": 867, "hello": 617, "user:42": 336} {
		d := xxhash.NewWithSeed(leafSeed)
		d.Write([]byte(key))
		formula, _ := bits.Mul64(d.Sum64(), 1024)
		if got := tr.LeafOf([]byte(key)); got != want || uint64(got) != formula {
			t.Errorf("LeafOf(%q) = %d, want %d (formula %d)", key, got, want, formula)
		}
	}
	if got := ValueHash([]byte("x")); got != 0x5c80c09683041123 || got != xxhash.Sum64String("x") {
		t.Errorf("ValueHash(x) = %#x", got)
	}

	// One entry in a 2-leaf tree: the leaf is the entry hash, the root the
	// hash of both leaves.
	s := newTree(t, Config{Fanout: 2, Depth: 1})
	s.Update([]byte("a"), nil, []byte("1"))
	d := xxhash.NewWithSeed(entrySeed)
	d.Write([]byte("a"))
	d.Write(binary.LittleEndian.AppendUint64(nil, xxhash.Sum64String("1")))
	leaves, _ := s.Level(1)
	if want := []uint64{0, d.Sum64()}; !slices.Equal(leaves, want) {
		t.Errorf("leaves = %#x, want %#x", leaves, want)
	}
	root := xxhash.Sum64(binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, leaves[0]), leaves[1]))
	if got := s.Root(); got != root || got != 0x602e92088a207dc2 {
		t.Errorf("root = %#x, want %#x", got, root)
	}

	if got := tr.Root(); got != 0x1950245ce68a1006 {
		t.Errorf("empty default root = %#x", got)
	}
	tr.Update([]byte("a"), nil, []byte("1"))
	tr.Update([]byte("b"), nil, []byte("2"))
	if got := tr.Root(); got != 0xfe88a58a840d886e {
		t.Errorf("root{a:1,b:2} = %#x", got)
	}
}

func TestLeafOfSpread(t *testing.T) {
	const keys, leaves = 200_000, 1024
	tr := newTree(t, DefaultConfig())
	all := make([]int, leaves)
	// Keys of one ring partition (xxhash64 seed 0 mod 256 == 7) must spread
	// over all leaves too: LeafOf is independent of PartitionOf.
	part := make([]int, leaves)
	nPart := 0
	for i := range keys {
		k := fmt.Appendf(nil, "k%d", i)
		l := tr.LeafOf(k)
		all[l]++
		if xxhash.Sum64(k)%256 == 7 {
			part[l]++
			nPart++
		}
	}
	// Expect 195 ± 14 per leaf: allow 5 standard deviations.
	mean := keys / leaves
	for l, n := range all {
		if n < mean-70 || n > mean+70 {
			t.Errorf("leaf %d has %d keys, want about %d", l, n, mean)
		}
	}
	used := 0
	for _, n := range part {
		if n > 0 {
			used++
		}
	}
	// ~780 keys in 1024 leaves occupy about 1024×(1-e^-0.76) ≈ 547 leaves.
	if used < 450 {
		t.Errorf("one partition's %d keys use only %d leaves", nPart, used)
	}
}

func TestEmptyAndNoops(t *testing.T) {
	a, b := newTree(t, smallConfig), newTree(t, smallConfig)
	if a.Root() != b.Root() {
		t.Fatal("empty trees differ")
	}
	empty := snapshot(t, a)
	a.Update([]byte("k"), nil, nil)
	a.Update([]byte("k"), []byte("v"), []byte("v"))
	if !sameTree(t, a, b) {
		t.Fatal("no-op updates changed the tree")
	}
	// Empty value is present: it changes the tree, and removing it restores it.
	a.Update([]byte("k"), nil, []byte{})
	if a.Root() == b.Root() {
		t.Fatal("inserting an empty value did not change the root")
	}
	a.Update([]byte("k"), []byte{}, nil)
	if !slices.EqualFunc(snapshot(t, a), empty, slices.Equal) {
		t.Fatal("insert then delete did not restore the empty tree")
	}
	// Reset empties.
	a.Update([]byte("k"), nil, []byte("v"))
	a.Root()
	a.Reset()
	if !sameTree(t, a, b) {
		t.Fatal("Reset did not empty the tree")
	}
}

func TestSwappedValuesDiffer(t *testing.T) {
	// Two keys in one leaf exchanging values: a tree that hashed keys and
	// values separately and XORed them would not notice.
	tr := newTree(t, Config{Fanout: 2, Depth: 1})
	var k1, k2 []byte
	for i := 0; k2 == nil; i++ {
		k := fmt.Appendf(nil, "k%d", i)
		switch {
		case k1 == nil:
			k1 = k
		case tr.LeafOf(k) == tr.LeafOf(k1):
			k2 = k
		}
	}
	a := build(t, tr.Config(), contents{string(k1): []byte("x"), string(k2): []byte("y")}, nil)
	b := build(t, tr.Config(), contents{string(k1): []byte("y"), string(k2): []byte("x")}, nil)
	if a.Root() == b.Root() {
		t.Fatal("swapping two keys' values did not change the root")
	}
}

func TestInsertOrderIndependent(t *testing.T) {
	for _, seed := range seeds(t) {
		rng := rand.New(rand.NewPCG(seed, 1))
		c := randContents(rng, 40)
		a := build(t, smallConfig, c, nil)
		b := build(t, smallConfig, c, rng)
		if !sameTree(t, a, b) {
			t.Fatalf("seed %d: insertion order changed the tree", seed)
		}
	}
}

// op is one recorded write: key went from old to new (nil = absent).
type op struct {
	key      string
	old, new []byte
}

// randOps runs n random writes (insert, overwrite, delete) against c,
// returning them in the order they happened.
func randOps(rng *rand.Rand, c contents, n, space int) []op {
	ops := make([]op, 0, n)
	for range n {
		k := randKey(rng, space)
		old := c[k]
		var nv []byte
		if rng.IntN(4) > 0 {
			nv = randValue(rng)
			c[k] = nv
		} else {
			delete(c, k)
		}
		ops = append(ops, op{k, old, nv})
	}
	return ops
}

func TestUpdateSequenceEqualsRebuild(t *testing.T) {
	for _, seed := range seeds(t) {
		rng := rand.New(rand.NewPCG(seed, 2))
		c := randContents(rng, 30)
		tr := build(t, smallConfig, c, rng)
		for _, o := range randOps(rng, c, 100, 60) {
			tr.Update([]byte(o.key), o.old, o.new)
			if rng.IntN(10) == 0 {
				tr.Root() // interleave lazy recomputation
			}
		}
		if !sameTree(t, tr, build(t, smallConfig, c, nil)) {
			t.Fatalf("seed %d: updates differ from a rebuild", seed)
		}
	}
}

// TestDeltasCommute applies a history's deltas in a random order, as a
// node does when it applies them after releasing the per-key lock.
func TestDeltasCommute(t *testing.T) {
	for _, seed := range seeds(t) {
		rng := rand.New(rand.NewPCG(seed, 3))
		c := randContents(rng, 10)
		tr := build(t, smallConfig, c, nil)
		ops := randOps(rng, c, 50, 8) // few keys: many writes per key
		rng.Shuffle(len(ops), func(i, j int) { ops[i], ops[j] = ops[j], ops[i] })
		for _, o := range ops {
			tr.Update([]byte(o.key), o.old, o.new)
		}
		if !sameTree(t, tr, build(t, smallConfig, c, nil)) {
			t.Fatalf("seed %d: reordered deltas differ from a rebuild", seed)
		}
	}
}

// TestConcurrentUpdates: writers apply a shuffled history from many
// goroutines while readers descend; afterwards the tree is the rebuilt one.
func TestConcurrentUpdates(t *testing.T) {
	for _, cfg := range []Config{smallConfig, DefaultConfig(), {Fanout: 3, Depth: 3}} {
		rng := rand.New(rand.NewPCG(7, uint64(cfg.Fanout)))
		c := randContents(rng, 200)
		tr := build(t, cfg, c, nil)
		ops := randOps(rng, c, 20_000, 100)
		rng.Shuffle(len(ops), func(i, j int) { ops[i], ops[j] = ops[j], ops[i] })
		other := build(t, cfg, contents{}, nil)

		const writers = 8
		var wg, readers sync.WaitGroup
		done := make(chan struct{})
		for r := range 3 {
			readers.Go(func() {
				for {
					select {
					case <-done:
						return
					default:
					}
					switch r {
					case 0:
						tr.Root()
					case 1:
						if _, err := tr.Children(cfg.Depth-1, 0); err != nil {
							t.Error(err)
						}
					case 2:
						if _, _, err := DiffLeaves(tr, other); err != nil {
							t.Error(err)
						}
					}
				}
			})
		}
		for w := range writers {
			wg.Go(func() {
				for i := w; i < len(ops); i += writers {
					tr.Update([]byte(ops[i].key), ops[i].old, ops[i].new)
				}
			})
		}
		wg.Wait()
		close(done)
		readers.Wait()
		if !sameTree(t, tr, build(t, cfg, c, nil)) {
			t.Fatalf("%+v: concurrent updates differ from a rebuild", cfg)
		}
	}
}

// TestReadSeesReturnedUpdates checks the dirty-flag protocol: while readers
// keep recomputing the tree, every Root read after an Update returned
// reflects it (compared with a tree only this goroutine touches).
func TestReadSeesReturnedUpdates(t *testing.T) {
	cfg := Config{Fanout: 4, Depth: 3}
	tr, ref := newTree(t, cfg), newTree(t, cfg)
	done := make(chan struct{})
	var readers sync.WaitGroup
	defer func() {
		close(done)
		readers.Wait()
	}()
	for r := range 4 {
		readers.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				if r%2 == 0 {
					tr.Root()
				} else {
					tr.Children(1, i%4)
				}
			}
		})
	}
	rng := rand.New(rand.NewPCG(1, 1))
	c := contents{}
	n := 20_000
	if testing.Short() {
		n = 2_000
	}
	for i, o := range randOps(rng, c, n, 50) {
		tr.Update([]byte(o.key), o.old, o.new)
		ref.Update([]byte(o.key), o.old, o.new)
		if got, want := tr.Root(), ref.Root(); got != want {
			t.Fatalf("after update %d: root %#x, want %#x", i, got, want)
		}
	}
}

func TestChildrenAndLevel(t *testing.T) {
	cfg := Config{Fanout: 3, Depth: 3}
	rng := rand.New(rand.NewPCG(4, 4))
	tr := build(t, cfg, randContents(rng, 100), rng)
	levels := snapshot(t, tr)
	if len(levels[0]) != 1 || levels[0][0] != tr.Root() {
		t.Fatalf("Level(0) = %#x, root %#x", levels[0], tr.Root())
	}
	for l := range cfg.Depth {
		for i := range levels[l] {
			got, err := tr.Children(l, i)
			if err != nil {
				t.Fatal(err)
			}
			if want := levels[l+1][i*cfg.Fanout : (i+1)*cfg.Fanout]; !slices.Equal(got, want) {
				t.Fatalf("Children(%d, %d) = %#x, want %#x", l, i, got, want)
			}
		}
	}
	for _, bad := range [][2]int{{-1, 0}, {3, 0}, {0, 1}, {1, -1}, {1, 3}, {2, 9}} {
		if _, err := tr.Children(bad[0], bad[1]); !errors.Is(err, ErrOutOfRange) {
			t.Errorf("Children(%d, %d) = %v, want ErrOutOfRange", bad[0], bad[1], err)
		}
	}
	for _, bad := range []int{-1, 4} {
		if _, err := tr.Level(bad); !errors.Is(err, ErrOutOfRange) {
			t.Errorf("Level(%d) = %v, want ErrOutOfRange", bad, err)
		}
	}
}
