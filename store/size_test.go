package store

import (
	"fmt"
	"testing"
)

// Records reach badger's table index when a memtable is flushed, which
// Close does: the estimate counts them after a reopen, and nothing once
// the store is closed.
func TestApproxKeys(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	const keys = 500
	for i := range keys {
		put(t, s, uint16(i%8), fmt.Sprintf("k%04d", i), "v")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := s.ApproxKeys(); got != 0 {
		t.Fatalf("ApproxKeys of a closed store = %d; want 0", got)
	}
	s = openTest(t, Options{Dir: dir})
	// The metadata records (identity, partition count) count too.
	if got := s.ApproxKeys(); got < keys || got > keys+20 {
		t.Fatalf("ApproxKeys after a reopen = %d; want about %d", got, keys)
	}
	if got := openTest(t, Options{InMemory: true}).ApproxKeys(); got != 0 {
		t.Fatalf("ApproxKeys of an empty in-memory store = %d; want 0", got)
	}
}
