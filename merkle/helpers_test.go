package merkle

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

// contents is the simple reference: a replica's (key, value) set.
type contents map[string][]byte

func newTree(tb testing.TB, cfg Config) *Tree {
	tb.Helper()
	t, err := New(cfg)
	if err != nil {
		tb.Fatalf("New(%+v): %v", cfg, err)
	}
	return t
}

// smallConfig keeps leaves few, so random sets share leaves and interior
// nodes and the XOR and dirty-tracking paths get exercised.
var smallConfig = Config{Fanout: 4, Depth: 2}

// build inserts c into a new tree in the order given by rng (sorted if nil).
func build(tb testing.TB, cfg Config, c contents, rng *rand.Rand) *Tree {
	tb.Helper()
	t := newTree(tb, cfg)
	keys := slices.Sorted(maps.Keys(c))
	if rng != nil {
		rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	}
	for _, k := range keys {
		t.Update([]byte(k), nil, c[k])
	}
	return t
}

// randContents returns up to n keys drawn from a space of 2n, with short
// values drawn from a small alphabet so that equal values are common.
func randContents(rng *rand.Rand, n int) contents {
	c := contents{}
	for range rng.IntN(n + 1) {
		c[randKey(rng, 2*n)] = randValue(rng)
	}
	return c
}

func randKey(rng *rand.Rand, space int) string {
	return fmt.Sprintf("key-%d", rng.IntN(space))
}

func randValue(rng *rand.Rand) []byte {
	// Empty (non-nil) values are legal and must count as present.
	v := make([]byte, rng.IntN(3))
	for i := range v {
		v[i] = byte('a' + rng.IntN(3))
	}
	return v
}

// snapshot returns every level of t, root first.
func snapshot(tb testing.TB, t *Tree) [][]uint64 {
	tb.Helper()
	var out [][]uint64
	for l := 0; l <= t.Config().Depth; l++ {
		h, err := t.Level(l)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, h)
	}
	return out
}

func sameTree(tb testing.TB, a, b *Tree) bool {
	tb.Helper()
	sa, sb := snapshot(tb, a), snapshot(tb, b)
	for l := range sa {
		if !slices.Equal(sa[l], sb[l]) {
			return false
		}
	}
	return true
}

// leafContents groups c by leaf.
func leafContents(c contents, leaves int) map[int]contents {
	out := map[int]contents{}
	for k, v := range c {
		l := leafOf([]byte(k), leaves)
		if out[l] == nil {
			out[l] = contents{}
		}
		out[l][k] = v
	}
	return out
}

// differingLeaves is the reference for DiffLeaves: leaves whose contents
// differ, ascending.
func differingLeaves(a, b contents, leaves int) []int {
	la, lb := leafContents(a, leaves), leafContents(b, leaves)
	var out []int
	for l := range leaves {
		if !maps.EqualFunc(la[l], lb[l], slices.Equal) {
			out = append(out, l)
		}
	}
	return out
}

func equalContents(a, b contents) bool { return maps.EqualFunc(a, b, slices.Equal) }

// seeds returns the seeds a property test runs with.
func seeds(tb testing.TB) []uint64 {
	n := 300
	if testing.Short() {
		n = 30
	}
	s := make([]uint64, n)
	for i := range s {
		s[i] = uint64(i) + 1
	}
	return s
}
