package loadtest

import (
	"bytes"
	"encoding/binary"
)

// A write id is worker<<seqBits | seq: unique within a run without any
// shared counter, and a direct index into the worker's ledger.
const seqBits = 40

func makeID(worker int, seq int) uint64 { return uint64(worker)<<seqBits | uint64(seq) }

func splitID(id uint64) (worker, seq int) {
	return int(id >> seqBits), int(id & (1<<seqBits - 1))
}

// writeRec is one attempted write.
type writeRec struct {
	key   uint32
	acked bool
	np    uint16 // parents, at parents[off:off+np]
	off   uint32
}

// ledger is one worker's record of its writes, appended without locks and
// read by Verify once the workers have stopped.
type ledger struct {
	recs    []writeRec
	parents []uint64
}

// add records a write of key made with a context that observed parents and
// returns its sequence number.
func (l *ledger) add(key uint32, parents []uint64) int {
	if len(parents) > 1<<16-1 {
		parents = parents[:1<<16-1] // a store caps siblings far below this
	}
	l.recs = append(l.recs, writeRec{key: key, np: uint16(len(parents)), off: uint32(len(l.parents))})
	l.parents = append(l.parents, parents...)
	return len(l.recs) - 1
}

func (l *ledger) ack(seq int) { l.recs[seq].acked = true }

func (l *ledger) parentsOf(seq int) []uint64 {
	r := l.recs[seq]
	return l.parents[r.off : r.off+uint32(r.np)]
}

// fillValue writes the header (nonce, id) into v and, when body is set, a
// body derived from them, so Verify can tell a value that was altered.
func fillValue(v []byte, nonce, id uint64, body bool) {
	if len(v) >= headerSize {
		binary.BigEndian.PutUint64(v[0:8], nonce)
		binary.BigEndian.PutUint64(v[8:16], id)
	}
	if body && len(v) > headerSize {
		fillBody(v[headerSize:], nonce^id)
	}
}

// fillBody is a splitmix64 stream from seed.
func fillBody(b []byte, seed uint64) {
	var w [8]byte
	for len(b) > 0 {
		seed += 0x9E3779B97F4A7C15
		z := seed
		z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
		z = (z ^ z>>27) * 0x94D049BB133111EB
		z ^= z >> 31
		binary.LittleEndian.PutUint64(w[:], z)
		b = b[copy(b, w[:]):]
	}
}

// valueID reads a value's header: ok is false for values another run or
// writer made.
func valueID(v []byte, nonce uint64) (id uint64, ok bool) {
	if len(v) < headerSize || binary.BigEndian.Uint64(v[0:8]) != nonce {
		return 0, false
	}
	return binary.BigEndian.Uint64(v[8:16]), true
}

// bodyIntact reports whether v's body is the one its header implies.
func bodyIntact(v []byte, nonce, id uint64, scratch []byte) ([]byte, bool) {
	scratch = append(scratch[:0], v...)
	fillBody(scratch[headerSize:], nonce^id)
	return scratch, bytes.Equal(scratch, v)
}

// appendIDs appends the ids of the values this run wrote.
func appendIDs(dst []uint64, values [][]byte, nonce uint64) []uint64 {
	for _, v := range values {
		if id, ok := valueID(v, nonce); ok {
			dst = append(dst, id)
		}
	}
	return dst
}
