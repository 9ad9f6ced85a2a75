package store

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// Value-log GC must reclaim overwritten values and keep every live one.
// Badger learns that a value is garbage only when a compaction drops the old
// version of its key, and how much the overwrites below leave to compaction
// depends on where memtable flushes fall: at the largest memtable scale
// (spread.go) they once left a single flushed table, so no compaction and
// nothing to collect. The test therefore closes the store (flushing the
// memtable), reopens it and flattens the tree, so that badger knows all the
// garbage, then retries GC until the value log shrinks or a generous
// deadline passes. It runs at both ends of the scale.
func TestValueLogGC(t *testing.T) {
	for _, scale := range []float64{1, maxMemTableScale} {
		t.Run(fmt.Sprintf("memtable-scale=%.1f", scale), func(t *testing.T) {
			testValueLogGC(t, scale)
		})
	}
}

func testValueLogGC(t *testing.T, scale float64) {
	const keys, rounds, size = 2000, 20, 128
	opts := withMemTableScale(t, Options{
		MemTableSize: 1 << 20, ValueLogFileSize: 1 << 20, ValueThreshold: size / 2, GCInterval: -1,
	}, scale)
	value := func(round, i int) []byte {
		return bytes.Repeat([]byte{byte(round), byte(i)}, size/2)
	}
	s, err := Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	for round := range rounds {
		for i := range keys {
			v := value(round, i)
			if err := s.Update(uint16(i%16), benchKey(i), func([]byte, bool) ([]byte, error) { return v, nil }); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s = openTest(t, opts)
	if err := s.db.Flatten(2); err != nil {
		t.Fatalf("Flatten: %v", err)
	}
	_, before := s.Size()
	after := before
	start := time.Now()
	for deadline := start.Add(20 * time.Second); after > before/2 && time.Now().Before(deadline); {
		s.runGC()
		if _, after = s.Size(); after > before/2 {
			time.Sleep(50 * time.Millisecond)
		}
	}
	t.Logf("value log %d kB before GC, %d kB after %v; live values %d kB",
		before>>10, after>>10, time.Since(start).Round(time.Millisecond), keys*size>>10)
	if after > before/2 {
		t.Errorf("GC left %d of %d bytes", after, before)
	}
	for i := range keys {
		got, err := s.Get(uint16(i%16), benchKey(i))
		if err != nil || !bytes.Equal(got, value(rounds-1, i)) {
			t.Fatalf("key %d after GC: %d bytes, err %v", i, len(got), err)
		}
	}
}

// withMemTableScale makes a data directory for opts whose memtable scale is
// scale rather than a random draw, and returns opts pointing at it.
func withMemTableScale(t *testing.T, opts Options, scale float64) Options {
	t.Helper()
	opts.Dir = t.TempDir()
	s, err := Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	m, err := readMarker(opts.Dir)
	if err != nil {
		t.Fatal(err)
	}
	m.MemTableScale = scale
	if err := writeMarker(opts.Dir, m); err != nil {
		t.Fatal(err)
	}
	return opts
}
