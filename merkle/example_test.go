package merkle_test

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/dynkv/dynkv/merkle"
)

// replica stands in for a store plus its tree; in dynkv the node owns both.
type replica struct {
	tree *merkle.Tree
	data map[string][]byte
}

func newReplica(data map[string][]byte) *replica {
	t, _ := merkle.New(merkle.DefaultConfig())
	for k, v := range data {
		t.Update([]byte(k), nil, v)
	}
	return &replica{tree: t, data: data}
}

// children answers a remote request for node (level, index), encoded.
func (r *replica) children(level, index int) []byte {
	hs, _ := r.tree.Children(level, index)
	return merkle.AppendHashes(nil, hs)
}

// entries answers a remote request for a leaf's entries, encoded. A real
// store would scan the partition in key order and filter by LeafOf.
func (r *replica) entries(leaf int) []byte {
	var es []merkle.Entry
	for k, v := range r.data {
		if r.tree.LeafOf([]byte(k)) == leaf {
			es = append(es, merkle.Entry{Key: []byte(k), Hash: merkle.ValueHash(v)})
		}
	}
	slices.SortFunc(es, func(a, b merkle.Entry) int { return bytes.Compare(a.Key, b.Key) })
	b, _ := merkle.AppendEntries(nil, es)
	return b
}

// Example shows the exchange a node runs against one peer: compare roots,
// descend level by level into differing children only, then compare the
// entries of the differing leaves.
func Example() {
	local := newReplica(map[string][]byte{"a": []byte("1"), "b": []byte("2"), "c": []byte("3")})
	remote := newReplica(map[string][]byte{"a": []byte("1"), "b": []byte("changed"), "d": []byte("4")})

	if local.tree.Root() == remote.tree.Root() {
		fmt.Println("in sync")
		return
	}
	cfg := local.tree.Config()
	frontier := []int{0} // differing nodes at the current level
	for level := 0; level < cfg.Depth; level++ {
		var next []int
		for _, i := range frontier {
			theirs, err := merkle.DecodeHashes(remote.children(level, i)) // a round trip
			if err != nil {
				panic(err)
			}
			mine, _ := local.tree.Children(level, i)
			for c := range mine {
				if mine[c] != theirs[c] {
					next = append(next, i*cfg.Fanout+c)
				}
			}
		}
		frontier = next
	}
	for _, leaf := range frontier {
		theirs, err := merkle.DecodeEntries(remote.entries(leaf))
		if err != nil {
			panic(err)
		}
		mine, _ := merkle.DecodeEntries(local.entries(leaf))
		onlyMine, onlyTheirs, differ := merkle.DiffEntries(mine, theirs)
		fmt.Printf("leaf %d: only mine %q, only theirs %q, differ %q\n", leaf, onlyMine, onlyTheirs, differ)
	}
	// Output:
	// leaf 599: only mine [], only theirs [], differ ["b"]
	// leaf 726: only mine [], only theirs ["d"], differ []
	// leaf 755: only mine ["c"], only theirs [], differ []
}
