package wire

import (
	"encoding/binary"
)

// Anti-entropy messages: a replica descends a peer's Merkle tree for one
// partition level by level, then asks for the (key, hash) entries of the
// leaves that differ.
const (
	// OpTreeChildren returns the children hashes of tree nodes.
	OpTreeChildren Op = "ae-children"
	// OpTreeEntries returns the (key, value hash) entries of leaves.
	OpTreeEntries Op = "ae-entries"
)

// MaxTreeIndexes bounds one request's node or leaf indexes.
const MaxTreeIndexes = 1 << 20

type TreeRequest struct {
	Partition int
	Level     int   // for OpTreeChildren; ignored for entries
	Indexes   []int // nodes at Level, or leaves
}

func (m TreeRequest) Encode() []byte {
	b := binary.AppendUvarint([]byte{Version}, uint64(m.Partition))
	b = binary.AppendUvarint(b, uint64(m.Level))
	b = binary.AppendUvarint(b, uint64(len(m.Indexes)))
	for _, i := range m.Indexes {
		b = binary.AppendUvarint(b, uint64(i))
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
