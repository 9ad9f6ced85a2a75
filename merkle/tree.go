package merkle

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"sync"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
)

// ErrOutOfRange is wrapped by the errors Children and Level return for a
// level or index the tree does not have.
var ErrOutOfRange = errors.New("merkle: level or index out of range")

// Seeds of the keyed hashes below. They are part of the cluster-wide
// format (see the package doc): never change them.
const (
	// leafSeed makes LeafOf independent of ring.PartitionOf, which is
	// xxhash64 with seed 0 mod Partitions: with that same hash, every key of
	// a partition would fall into the few leaves congruent to the partition
	// number (4 of 1024 with 256 partitions).
	leafSeed  uint64 = 0x6d6b6c2d6c656166 // "mkl-leaf"
	entrySeed uint64 = 0x6d6b6c2d656e7472 // "mkl-entr"
)

// Tree is a Merkle tree of fixed shape over a set of (key, value) entries.
// Create it with New; all methods are safe for concurrent use. A default
// tree takes about 9 KiB (8 bytes per leaf plus the interior nodes).
//
// Levels are numbered from the root: level 0 holds the root (index 0),
// level l holds Fanout^l nodes, and level Depth holds the leaves. Child c of
// node (l, i) is node (l+1, i*Fanout+c).
//
// Update never blocks: it XORs a delta into one leaf with a CAS loop and
// marks the leaf's ancestors dirty. Readers (Root, Children, Level,
// DiffLeaves) take a mutex that only readers contend for, and recompute
// the dirty interior nodes they need. A read reflects every Update that
// returned before the read started, and possibly some that are still in
// flight.
type Tree struct {
	cfg    Config
	counts []int // counts[l] = Fanout^l, l = 0..Depth

	// leaves[i] is the XOR of entryHash over the entries of leaf i.
	leaves []atomic.Uint64

	// dirty[l][i] is set (bottom-up, after the leaf changed) by Update and
	// cleared (top-down, before the children are read) by a reader that
	// recomputes node (l, i), l < Depth. Setting bottom-up and clearing
	// top-down is what makes a clean node's cached hash current for every
	// Update that has returned (see refresh).
	dirty [][]atomic.Bool

	mu     sync.Mutex // serialises readers; guards hashes and buf
	hashes [][]uint64 // hashes[l][i], l < Depth: cached interior hashes
	buf    []byte     // Fanout*8 bytes of children hashes being hashed
}

// New returns an empty tree of the given shape.
func New(cfg Config) (*Tree, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	t := &Tree{
		cfg:    cfg,
		counts: make([]int, cfg.Depth+1),
		dirty:  make([][]atomic.Bool, cfg.Depth),
		hashes: make([][]uint64, cfg.Depth),
		buf:    make([]byte, 8*cfg.Fanout),
	}
	n := 1
	for l := range t.counts {
		t.counts[l] = n
		if l < cfg.Depth {
			t.dirty[l] = make([]atomic.Bool, n)
			t.hashes[l] = make([]uint64, n)
			for i := range t.dirty[l] {
				t.dirty[l][i].Store(true)
			}
		}
		n *= cfg.Fanout
	}
	t.leaves = make([]atomic.Uint64, t.counts[cfg.Depth])
	return t, nil
}

// Config returns the configuration the tree was built with.
func (t *Tree) Config() Config { return t.cfg }

// Leaves returns the number of leaves, Fanout^Depth.
func (t *Tree) Leaves() int { return len(t.leaves) }

// LeafOf returns the leaf key belongs to:
//
//	floor(xxhash64(seed leafSeed, key) × Leaves / 2^64)
//
// It depends only on the key and Leaves, and is part of the cluster-wide
// format: replicas compare leaves by index.
func (t *Tree) LeafOf(key []byte) int {
	return leafOf(key, len(t.leaves))
}

func leafOf(key []byte, leaves int) int {
	var d xxhash.Digest
	d.ResetWithSeed(leafSeed)
	d.Write(key)
	hi, _ := bits.Mul64(d.Sum64(), uint64(leaves))
	return int(hi)
}

// ValueHash returns the hash of a value as it appears in an Entry and in
// the tree: xxhash64 (seed 0) of the value bytes. It is part of the
// cluster-wide format. Replicas holding equal states must pass equal bytes,
// so the value encoding must be canonical.
func ValueHash(value []byte) uint64 { return xxhash.Sum64(value) }

// entryHash returns the contribution of one entry to its leaf:
//
//	xxhash64(seed entrySeed, key || littleEndian64(valueHash))
//
// Hashing the key and the value hash together (rather than, say, XORing
// two hashes) makes swapping values between two keys of a leaf change it.
// keyed is a Digest that has already absorbed the key, so one key pass
// serves both the old and the new entry of an Update.
func entryHash(keyed *xxhash.Digest, valueHash uint64) uint64 {
	d := *keyed
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], valueHash)
	d.Write(b[:])
	return d.Sum64()
}

func keyDigest(key []byte) xxhash.Digest {
	var d xxhash.Digest
	d.ResetWithSeed(entrySeed)
	d.Write(key)
	return d
}

// Update records that key's value changed from oldValue to newValue; nil
// means absent (a non-nil empty slice is a present, empty value). It
// XORs out the old entry and XORs in the new one, so:
//
//   - It is O(1) in the tree's size: one leaf changes and Depth ancestors
//     are marked dirty; nothing is rescanned.
//   - Deltas commute. Updates of one key made by concurrent writers, each
//     naming the state it replaced, may be applied in any order (even after
//     the writers released their per-key locks): once all are applied the
//     tree is the same. In between it may briefly hold a state no replica
//     ever had, which costs at most one spurious exchange of that leaf.
//   - The tree is only as right as its deltas: oldValue must be what the
//     tree holds for key (see "Keeping a tree exact" in the package doc).
//
// Update(k, v, v) and Update(k, nil, nil) change nothing.
func (t *Tree) Update(key, oldValue, newValue []byte) {
	if oldValue == nil && newValue == nil {
		return
	}
	kd := keyDigest(key)
	var delta uint64
	if oldValue != nil {
		delta ^= entryHash(&kd, ValueHash(oldValue))
	}
	if newValue != nil {
		delta ^= entryHash(&kd, ValueHash(newValue))
	}
	if delta == 0 {
		return
	}
	t.apply(t.LeafOf(key), delta)
}

// apply XORs delta into a leaf, then marks its ancestors dirty from the
// leaf's parent up to the root.
func (t *Tree) apply(leaf int, delta uint64) {
	l := &t.leaves[leaf]
	for {
		old := l.Load()
		if l.CompareAndSwap(old, old^delta) {
			break
		}
	}
	i := leaf
	for lv := t.cfg.Depth - 1; lv >= 0; lv-- {
		i /= t.cfg.Fanout
		// Load first: once a node is dirty, concurrent writers only read
		// its flag, so the root's cache line is not bounced between cores.
		// Sound because atomics are sequentially consistent: if the Load
		// sees true, a reader that clears the flag does so after this
		// Load, hence after the leaf XOR above, and reads the leaf after
		// clearing it.
		if f := &t.dirty[lv][i]; !f.Load() {
			f.Store(true)
		}
	}
}

// refresh returns the hash of interior node (lv, i), recomputing it and its
// dirty descendants first. The caller holds t.mu.
//
// A node's flag is cleared before its children are read. An Update that
// lands after the clear sets the flag again when it reaches this node
// (flags are set leaf-first), so it is picked up by the next read; an
// Update that returned before the clear is seen by the child reads.
func (t *Tree) refresh(lv, i int) uint64 {
	f := &t.dirty[lv][i]
	if !f.Load() || !f.Swap(false) {
		return t.hashes[lv][i]
	}
	fan := t.cfg.Fanout
	first := i * fan
	child := lv + 1
	if child < t.cfg.Depth {
		for c := range fan {
			t.refresh(child, first+c)
		}
		for c := range fan {
			binary.LittleEndian.PutUint64(t.buf[8*c:], t.hashes[child][first+c])
		}
	} else {
		for c := range fan {
			binary.LittleEndian.PutUint64(t.buf[8*c:], t.leaves[first+c].Load())
		}
	}
	h := xxhash.Sum64(t.buf)
	t.hashes[lv][i] = h
	return h
}

// hashAt returns the current hash of node (lv, i). The caller holds t.mu.
func (t *Tree) hashAt(lv, i int) uint64 {
	if lv == t.cfg.Depth {
		return t.leaves[i].Load()
	}
	return t.refresh(lv, i)
}

// Root returns the root hash. Trees of the same shape built from equal
// (key, value) sets have equal roots.
func (t *Tree) Root() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.refresh(0, 0)
}

// Children returns the Fanout hashes of the children of node (level, index),
// level 0..Depth-1 and index 0..Fanout^level-1, in child order: element c is
// node (level+1, index*Fanout+c), a leaf when level is Depth-1. A remote
// descent starts with Children(0, 0) and recurses into the indexes whose
// hashes differ; the leaves it ends at are the ones to exchange entries for.
func (t *Tree) Children(level, index int) ([]uint64, error) {
	return t.appendChildren(make([]uint64, 0, t.cfg.Fanout), level, index)
}

func (t *Tree) appendChildren(dst []uint64, level, index int) ([]uint64, error) {
	if level < 0 || level >= t.cfg.Depth {
		return dst, fmt.Errorf("%w: level %d, want 0..%d", ErrOutOfRange, level, t.cfg.Depth-1)
	}
	if index < 0 || index >= t.counts[level] {
		return dst, fmt.Errorf("%w: index %d at level %d, want 0..%d", ErrOutOfRange, index, level, t.counts[level]-1)
	}
	first := index * t.cfg.Fanout
	t.mu.Lock()
	defer t.mu.Unlock()
	for c := range t.cfg.Fanout {
		dst = append(dst, t.hashAt(level+1, first+c))
	}
	return dst, nil
}

// Level returns every hash at a level, level 0..Depth (0 is the root alone,
// Depth the leaves), in index order. It allocates Fanout^level hashes: meant
// for small trees, tests, and for sending the leaf level in one message
// when that is cheaper than a descent.
func (t *Tree) Level(level int) ([]uint64, error) {
	if level < 0 || level > t.cfg.Depth {
		return nil, fmt.Errorf("%w: level %d, want 0..%d", ErrOutOfRange, level, t.cfg.Depth)
	}
	out := make([]uint64, t.counts[level])
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range out {
		out[i] = t.hashAt(level, i)
	}
	return out, nil
}

// Reset empties the tree, for a rebuild. Updates concurrent with Reset may
// land on either side of it, leaving the tree wrong: reset only a tree no
// one updates, or build a new Tree and swap it in (see the package doc).
func (t *Tree) Reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range t.leaves {
		t.leaves[i].Store(0)
	}
	for _, lv := range t.dirty {
		for i := range lv {
			lv[i].Store(true)
		}
	}
}
