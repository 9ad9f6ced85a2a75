package store

import (
	"math/rand/v2"
)

// Replicas of a key range receive the same writes, so with equal memtable
// sizes their memtables fill, flush and trigger L0 compactions at the same
// moment: on a three-node cluster with N=3 every node flushed and compacted
// in lockstep, and the client saw reads blocked on all replicas at once
// (docs/BENCHMARKS.md, "Tail stalls"). Each data directory therefore runs
// its memtables at its own scale of MemTableSize, drawn once when the
// directory is created and kept in its marker, which moves every node's
// flushes to different moments.
//
// The scale only ever enlarges: badger replays a memtable's write-ahead log
// after a crash into an arena sized from the current MemTableSize and panics
// if the log holds more, so a directory must never reopen with a smaller
// memtable than it last wrote with. A directory made before the scale
// existed reopens at 1 (as it was) and keeps it.
const maxMemTableScale = 1.5

// newMemTableScale draws a new directory's scale in [1, maxMemTableScale).
func newMemTableScale() float64 {
	return 1 + rand.Float64()*(maxMemTableScale-1)
}

// scaleMemTable applies a directory's scale to the configured size. A scale
// outside [1, maxMemTableScale] (an edited marker) is clamped, never below
// the configured size.
func scaleMemTable(size int64, scale float64) int64 {
	scale = min(max(scale, 1), maxMemTableScale)
	return int64(float64(size) * scale)
}
