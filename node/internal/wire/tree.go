package wire

import (
	"encoding/binary"

	"github.com/dynkv/dynkv/bucket"
)

// Anti-entropy messages: a replica descends a peer's Merkle tree for one
// partition and class (the buckets of one N) level by level, then asks for
// the (key, hash) entries of the leaves that differ.
const (
	// OpTreeChildren returns the children hashes of tree nodes.
	OpTreeChildren Op = "ae-children"
	// OpTreeEntries returns the (key, value hash) entries of leaves.
	OpTreeEntries Op = "ae-entries"
)

// MaxTreeIndexes bounds one request's node or leaf indexes.
const MaxTreeIndexes = 1 << 20

// TreeRequest names nodes or leaves of one tree: partition Partition's
// keys of the buckets whose N is N.
type TreeRequest struct {
	Partition int
	Level     int   // for OpTreeChildren; ignored for entries
	Indexes   []int // nodes at Level, or leaves
	// N is the tree's class, 1..bucket.MaxN; 0 means the default bucket's
	// N. It is an optional trailing field, written only when not 0, so a
	// request for the default class is what a node from before buckets
	// sends and accepts.
	N int
}

func (m TreeRequest) Encode() []byte {
	b := binary.AppendUvarint([]byte{Version}, uint64(m.Partition))
	b = binary.AppendUvarint(b, uint64(m.Level))
	b = binary.AppendUvarint(b, uint64(len(m.Indexes)))
	for _, i := range m.Indexes {
		b = binary.AppendUvarint(b, uint64(i))
	}
	if m.N != 0 {
		b = binary.AppendUvarint(b, uint64(m.N))
	}
	return b
}

func DecodeTreeRequest(b []byte) (TreeRequest, error) {
	r := newReader(b)
	m := TreeRequest{Partition: int(r.bounded(1<<16, "partition")), Level: int(r.bounded(16, "level"))}
	n := r.bounded(MaxTreeIndexes, "index count")
	if r.err == nil && n > uint64(len(r.buf)) {
		r.fail("index count %d exceeds remaining input", n)
	}
	for i := uint64(0); i < n && r.err == nil; i++ {
		m.Indexes = append(m.Indexes, int(r.bounded(MaxTreeIndexes, "index")))
	}
	if r.err == nil && len(r.buf) > 0 {
		// Absent means 0, so a written 0 would be a second encoding.
		if m.N = int(r.bounded(bucket.MaxN+1, "tree class")); r.err == nil && m.N == 0 {
			r.fail("tree class 0 written out")
		}
	}
	return m, r.finish()
}

// bounded reads a uvarint that must be below limit.
func (r *reader) bounded(limit uint64, what string) uint64 {
	v := r.uvarint()
	if r.err == nil && v >= limit {
		r.fail("%s %d out of range", what, v)
		return 0
	}
	return v
}
