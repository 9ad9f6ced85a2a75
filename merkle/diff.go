package merkle

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
)

// ErrShapeMismatch is returned by DiffLeaves for trees of different Configs.
var ErrShapeMismatch = errors.New("merkle: trees have different shapes")

// DiffLeaves returns the indexes, ascending, of the leaves whose hashes
// differ between a and b, descending only into differing subtrees, and the
// number of hash pairs it compared: 1 for in-sync trees, plus Fanout for
// every differing interior node it expanded. The trees must have the same
// Config.
//
// It is the local twin of a remote descent (see Children) and reads each
// tree through the same calls, one node at a time, never holding both
// trees' locks. Under concurrent Updates the result mixes states from
// different moments, as a remote descent's would.
func DiffLeaves(a, b *Tree) (leaves []int, compared int, err error) {
	if a.cfg != b.cfg {
		return nil, 0, fmt.Errorf("%w: %+v and %+v", ErrShapeMismatch, a.cfg, b.cfg)
	}
	compared = 1
	if a.Root() == b.Root() {
		return nil, compared, nil
	}
	fan := a.cfg.Fanout
	ha := make([]uint64, 0, fan)
	hb := make([]uint64, 0, fan)
	frontier := []int{0}
	for level := 0; level < a.cfg.Depth; level++ {
		var next []int
		for _, i := range frontier {
			// Errors are impossible: level and i are in range by construction.
			ha, _ = a.appendChildren(ha[:0], level, i)
			hb, _ = b.appendChildren(hb[:0], level, i)
			compared += fan
			for c := range fan {
				if ha[c] != hb[c] {
					next = append(next, i*fan+c)
				}
			}
		}
		// Parents are visited in ascending order and children appended in
		// order, so next is ascending.
		frontier = next
	}
	return frontier, compared, nil
}

// Entry is one key of a leaf as exchanged between replicas.
type Entry struct {
	Key  []byte
	Hash uint64 // ValueHash of the key's value
}

// DiffEntries compares two replicas' entries for the same leaf and returns,
// each in ascending key order, the keys only mine has, the keys only theirs
// has, and the keys both have with different hashes. Each key is reported
// at most once. The returned keys alias the entries' Key slices.
//
// The inputs should be sorted by key (bytes.Compare) as a store scan yields
// them; unsorted input is sorted first (into a copy, at O(n log n)). A key
// that appears more than once on a side, which a scan never yields, is
// compared as the sequence of its hashes in input order.
func DiffEntries(mine, theirs []Entry) (onlyMine, onlyTheirs, differ [][]byte) {
	mine, theirs = sortedEntries(mine), sortedEntries(theirs)
	i, j := 0, 0
	for i < len(mine) || j < len(theirs) {
		var c int
		switch {
		case i == len(mine):
			c = 1
		case j == len(theirs):
			c = -1
		default:
			c = bytes.Compare(mine[i].Key, theirs[j].Key)
		}
		switch {
		case c < 0:
			onlyMine = append(onlyMine, mine[i].Key)
			i = runEnd(mine, i)
		case c > 0:
			onlyTheirs = append(onlyTheirs, theirs[j].Key)
			j = runEnd(theirs, j)
		default:
			ri, rj := runEnd(mine, i), runEnd(theirs, j)
			if !slices.EqualFunc(mine[i:ri], theirs[j:rj], func(x, y Entry) bool { return x.Hash == y.Hash }) {
				differ = append(differ, mine[i].Key)
			}
			i, j = ri, rj
		}
	}
	return onlyMine, onlyTheirs, differ
}

// runEnd returns the index after the run of entries sharing es[i].Key.
func runEnd(es []Entry, i int) int {
	j := i + 1
	for j < len(es) && bytes.Equal(es[j].Key, es[i].Key) {
		j++
	}
	return j
}

func compareEntries(x, y Entry) int { return bytes.Compare(x.Key, y.Key) }

// sortedEntries returns es if it is sorted by key, else a sorted copy.
func sortedEntries(es []Entry) []Entry {
	if slices.IsSortedFunc(es, compareEntries) {
		return es
	}
	es = slices.Clone(es)
	slices.SortStableFunc(es, compareEntries)
	return es
}
