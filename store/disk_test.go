package store

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"
)

// fakeDisk is a file system whose free space the test sets, seen through a
// clock the test advances.
type fakeDisk struct {
	mu   sync.Mutex
	free int64
	now  time.Time
}

func (f *fakeDisk) statfs(string) (int64, int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.free, 1 << 40, nil
}

func (f *fakeDisk) set(free int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.free = free
	f.now = f.now.Add(diskRecheck) // the next write looks again
}

func (f *fakeDisk) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

const testFloor = 10 << 20

// openFloored opens a store on a fake file system with a 10 MiB floor.
func openFloored(t *testing.T, free int64) (*Store, *fakeDisk) {
	t.Helper()
	fd := &fakeDisk{free: free, now: time.Unix(1, 0)}
	s := openTest(t, Options{MinFreeBytes: testFloor, statfs: fd.statfs})
	s.disk.mu.Lock()
	s.disk.now, s.disk.checked = fd.clock, time.Time{} // Open looked with the real clock
	s.disk.mu.Unlock()
	return s, fd
}

func set(s *Store, key string, v []byte) error {
	return s.Update(0, []byte(key), func([]byte, bool) ([]byte, error) { return v, nil })
}

// TestFreeSpaceFloor checks that writes stop at the floor, counting what
// was written since the file system was last asked, that reads, deletes
// and metadata still work there, and that writes resume once space is
// free again.
func TestFreeSpaceFloor(t *testing.T) {
	s, fd := openFloored(t, testFloor+3<<20)
	mib := bytes.Repeat([]byte{7}, 1<<20)
	if err := set(s, "a", mib); err != nil {
		t.Fatalf("first write, 3 MiB above the floor: %v", err)
	}
	// The cached answer still says 3 MiB, but 1 MiB counted twice (log now,
	// table later) was admitted since: a second MiB would cross the floor.
	err := set(s, "b", mib)
	if !errors.Is(err, ErrInsufficientStorage) {
		t.Fatalf("second write: %v; want ErrInsufficientStorage", err)
	}
	// Free space is still above the floor, but the refused write would
	// still be refused: that is below the floor as callers see it.
	if d := s.Disk(); !d.BelowFloor || d.FreeBytes > testFloor+1<<20 { // 2 MiB (and the key) counted
		t.Errorf("Disk() = %+v", d)
	}
	fd.set(testFloor - 1)
	if d := s.Disk(); !d.BelowFloor || d.FreeBytes != testFloor-1 || d.FloorBytes != testFloor {
		t.Errorf("Disk() below the floor = %+v", d)
	}
	if err := set(s, "c", []byte("small")); !errors.Is(err, ErrInsufficientStorage) {
		t.Fatalf("write below the floor: %v; want ErrInsufficientStorage", err)
	}
	if got, err := s.Get(0, []byte("a")); err != nil || !bytes.Equal(got, mib) {
		t.Fatalf("read below the floor: %d bytes, %v", len(got), err)
	}
	if _, err := s.Get(0, []byte("b")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("refused write was stored: %v", err)
	}
	if err := s.Update(0, []byte("a"), func([]byte, bool) ([]byte, error) { return nil, nil }); err != nil {
		t.Fatalf("delete below the floor: %v", err)
	}
	if err := s.PutMeta("m", []byte("v")); err != nil {
		t.Fatalf("metadata below the floor: %v", err)
	}
	fd.set(testFloor + 100<<20)
	if err := set(s, "b", mib); err != nil {
		t.Fatalf("write once space is free again: %v", err)
	}
	if d := s.Disk(); d.BelowFloor {
		t.Errorf("Disk() after freeing = %+v", d)
	}
}

// TestOpenBelowHalfTheFloor checks that Open refuses a file system with
// less than half the floor free, where badger's own writes at open could
// find it full, and opens one between half and the whole floor.
func TestOpenBelowHalfTheFloor(t *testing.T) {
	dir := t.TempDir()
	fd := &fakeDisk{free: testFloor/2 - 1}
	_, err := Open(Options{Dir: dir, MinFreeBytes: testFloor, statfs: fd.statfs})
	if !errors.Is(err, ErrInsufficientStorage) {
		t.Fatalf("Open with %d bytes free: %v; want ErrInsufficientStorage", fd.free, err)
	}
	fd.set(testFloor / 2)
	s, err := Open(Options{Dir: dir, MinFreeBytes: testFloor, statfs: fd.statfs})
	if err != nil {
		t.Fatalf("Open with half the floor free: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestNoFloor checks that a negative MinFreeBytes disables the floor and
// that a store in memory reports no disk.
func TestNoFloor(t *testing.T) {
	fd := &fakeDisk{free: 0}
	s := openTest(t, Options{MinFreeBytes: -1, statfs: fd.statfs})
	if err := set(s, "k", []byte("v")); err != nil {
		t.Fatalf("write with the floor disabled: %v", err)
	}
	if d := openTest(t, Options{InMemory: true}).Disk(); d != (DiskStatus{}) {
		t.Errorf("in-memory Disk() = %+v", d)
	}
}
