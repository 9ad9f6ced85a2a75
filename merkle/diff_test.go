package merkle

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestDiffLeavesProperty: DiffLeaves is empty exactly when the contents are
// equal, and otherwise names exactly the leaves whose contents differ.
func TestDiffLeavesProperty(t *testing.T) {
	for _, cfg := range []Config{smallConfig, {Fanout: 2, Depth: 4}, DefaultConfig()} {
		for _, seed := range seeds(t) {
			rng := rand.New(rand.NewPCG(seed, 5))
			ca := randContents(rng, 30)
			cb := maps.Clone(ca)
			switch rng.IntN(3) {
			case 0: // equal contents
			case 1: // a few changes
				randOps(rng, cb, 1+rng.IntN(4), 60)
			case 2: // unrelated
				cb = randContents(rng, 30)
			}
			a, b := build(t, cfg, ca, rng), build(t, cfg, cb, rng)
			got, compared, err := DiffLeaves(a, b)
			if err != nil {
				t.Fatal(err)
			}
			want := differingLeaves(ca, cb, a.Leaves())
			if !slices.Equal(got, want) {
				t.Fatalf("%+v seed %d: DiffLeaves = %v, want %v", cfg, seed, got, want)
			}
			if (len(got) == 0) != equalContents(ca, cb) {
				t.Fatalf("%+v seed %d: empty diff %v, equal contents %v", cfg, seed, len(got) == 0, equalContents(ca, cb))
			}
			if (a.Root() == b.Root()) != (len(got) == 0) {
				t.Fatalf("%+v seed %d: roots equal %v but %d leaves differ", cfg, seed, a.Root() == b.Root(), len(got))
			}
			if len(got) == 0 && compared != 1 {
				t.Fatalf("in-sync trees compared %d hashes, want 1", compared)
			}
			// Symmetric.
			if rev, _, _ := DiffLeaves(b, a); !slices.Equal(rev, got) {
				t.Fatalf("DiffLeaves(b, a) = %v, want %v", rev, got)
			}
		}
	}
}

func TestDiffLeavesCost(t *testing.T) {
	cfg := DefaultConfig() // 32 × 32
	a, b := newTree(t, cfg), newTree(t, cfg)
	if _, n, _ := DiffLeaves(a, a); n != 1 {
		t.Errorf("self diff compared %d, want 1", n)
	}
	// Put one key into each of 3 leaves under 2 distinct level-1 nodes.
	targets := map[int]bool{5: true, 6: true, 700: true}
	var keys [][]byte
	for i := 0; len(targets) > 0; i++ {
		k := fmt.Appendf(nil, "k%d", i)
		if l := b.LeafOf(k); targets[l] {
			delete(targets, l)
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		b.Update(k, nil, []byte("v"))
	}
	leaves, n, err := DiffLeaves(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(leaves, []int{5, 6, 700}) {
		t.Errorf("leaves = %v", leaves)
	}
	// root + its 32 children + 32 children of each of 2 differing nodes.
	if want := 1 + 32 + 2*32; n != want {
		t.Errorf("compared = %d, want %d", n, want)
	}
}

func TestDiffLeavesShapeMismatch(t *testing.T) {
	_, _, err := DiffLeaves(newTree(t, smallConfig), newTree(t, DefaultConfig()))
	if !errors.Is(err, ErrShapeMismatch) {
		t.Fatalf("err = %v, want ErrShapeMismatch", err)
	}
}

// diffReference is the deliberately simple DiffEntries: maps and sorting.
func diffReference(mine, theirs []Entry) (onlyMine, onlyTheirs, differ []string) {
	m, th := map[string]uint64{}, map[string]uint64{}
	for _, e := range mine {
		m[string(e.Key)] = e.Hash
	}
	for _, e := range theirs {
		th[string(e.Key)] = e.Hash
	}
	for k, h := range m {
		if h2, ok := th[k]; !ok {
			onlyMine = append(onlyMine, k)
		} else if h != h2 {
			differ = append(differ, k)
		}
	}
	for k := range th {
		if _, ok := m[k]; !ok {
			onlyTheirs = append(onlyTheirs, k)
		}
	}
	slices.Sort(onlyMine)
	slices.Sort(onlyTheirs)
	slices.Sort(differ)
	return
}

func randEntries(rng *rand.Rand, n, space int) []Entry {
	c := map[string]uint64{}
	for range rng.IntN(n + 1) {
		c[randKey(rng, space)] = uint64(rng.IntN(3))
	}
	var es []Entry
	for _, k := range slices.Sorted(maps.Keys(c)) {
		es = append(es, Entry{Key: []byte(k), Hash: c[k]})
	}
	return es
}

func strs(bs [][]byte) []string {
	var out []string
	for _, b := range bs {
		out = append(out, string(b))
	}
	return out
}

func TestDiffEntriesReference(t *testing.T) {
	for _, seed := range seeds(t) {
		rng := rand.New(rand.NewPCG(seed, 6))
		mine, theirs := randEntries(rng, 20, 30), randEntries(rng, 20, 30)
		wm, wt, wd := diffReference(mine, theirs)
		check := func(name string, mine, theirs []Entry) {
			t.Helper()
			om, ot, d := DiffEntries(mine, theirs)
			if !slices.Equal(strs(om), wm) || !slices.Equal(strs(ot), wt) || !slices.Equal(strs(d), wd) {
				t.Fatalf("seed %d %s: got %q %q %q, want %q %q %q", seed, name, strs(om), strs(ot), strs(d), wm, wt, wd)
			}
		}
		check("sorted", mine, theirs)
		// Unsorted input gives the same answer and is not modified.
		sm, st := slices.Clone(mine), slices.Clone(theirs)
		rng.Shuffle(len(sm), func(i, j int) { sm[i], sm[j] = sm[j], sm[i] })
		rng.Shuffle(len(st), func(i, j int) { st[i], st[j] = st[j], st[i] })
		before := slices.Clone(sm)
		check("shuffled", sm, st)
		if !slices.EqualFunc(sm, before, func(x, y Entry) bool { return bytes.Equal(x.Key, y.Key) && x.Hash == y.Hash }) {
			t.Fatal("DiffEntries reordered its input")
		}
		// Empty iff equal.
		if om, ot, d := DiffEntries(mine, mine); len(om)+len(ot)+len(d) != 0 {
			t.Fatal("DiffEntries(x, x) is not empty")
		}
	}
}

func TestDiffEntriesDuplicates(t *testing.T) {
	e := func(k string, h uint64) Entry { return Entry{Key: []byte(k), Hash: h} }
	om, ot, d := DiffEntries(
		[]Entry{e("a", 1), e("a", 1), e("b", 1), e("b", 2), e("c", 1), e("c", 1)},
		[]Entry{e("a", 1), e("a", 1), e("b", 1), e("c", 1), e("d", 1), e("d", 1)},
	)
	if !slices.Equal(strs(om), nil) || !slices.Equal(strs(ot), []string{"d"}) || !slices.Equal(strs(d), []string{"b", "c"}) {
		t.Fatalf("got %q %q %q", strs(om), strs(ot), strs(d))
	}
}
