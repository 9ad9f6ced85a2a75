package store

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// The free-space floor. Badger writes its value log, write-ahead log and
// tables through memory-mapped files that it creates sparse (a value-log
// file is truncated to 2×ValueLogFileSize up front) and fills by storing
// into the mapping. A page is allocated only when first touched, so when
// the file system is full the touch cannot be satisfied and the kernel
// sends SIGBUS: the process dies, and dies again at every restart (replay
// touches the write-ahead log's next page). Writes therefore stop while
// the file system still has room, see doc.go.

// ErrInsufficientStorage is wrapped by the error of a write refused because
// the file system holding the store has less free space than
// Options.MinFreeBytes, and by Open's when it has less than half of it.
var ErrInsufficientStorage = errors.New("store: insufficient storage")

// DiskStatus is the free space of the file system holding the store.
type DiskStatus struct {
	// FreeBytes is the space available to this process (statfs f_bavail),
	// less what writes since the last look may have used.
	FreeBytes  int64
	TotalBytes int64
	// FloorBytes is Options.MinFreeBytes; 0 when there is no floor.
	FloorBytes int64
	// BelowFloor: free space is below the floor, or the last write refused
	// would still be refused: writes are being refused.
	BelowFloor bool
	// Err is why the free space is unknown (then nothing is refused).
	Err error
}

const (
	// diskRecheck bounds how stale the cached statfs answer may be: a
	// write costs a clock read, not a system call, and space freed by GC,
	// compaction or an operator is seen within this time.
	diskRecheck = 100 * time.Millisecond
	// diskRecheckRefused is how stale the answer may be for a refusal.
	diskRecheckRefused = 10 * time.Millisecond
	// diskRecheckBytes re-reads sooner after heavy writing, so that the
	// estimate below does not drift far from the truth.
	diskRecheckBytes = 4 << 20
	// writeAmplification is what one written byte is counted as until the
	// next statfs: it lands in the write-ahead log or the value log now and
	// again in a table when its memtable is flushed.
	writeAmplification = 2
)

// diskGuard admits writes while the file system keeps more than floor
// bytes free. It is nil for a store in memory.
type diskGuard struct {
	dir    string
	floor  int64
	statfs func(dir string) (free, total int64, err error)
	now    func() time.Time

	mu      sync.Mutex
	checked time.Time
	free    int64 // at the last statfs
	total   int64
	written int64 // bytes admitted since then, amplified
	err     error // of the last statfs
	// refused is the amplified size of the last refused write, 0 once a
	// write is admitted: below the floor means "that write would still be
	// refused", not only "free < floor", since writes stop before it.
	refused int64
}

func newDiskGuard(dir string, floor int64, statfs func(string) (int64, int64, error)) *diskGuard {
	if statfs == nil {
		statfs = fsSpace
	}
	return &diskGuard{dir: dir, floor: max(floor, 0), statfs: statfs, now: time.Now}
}

// refreshLocked re-reads the file system's free space when the cached
// answer is stale. g.mu is held.
func (g *diskGuard) refreshLocked() {
	now := g.now()
	if !g.checked.IsZero() && now.Sub(g.checked) < diskRecheck && g.written < diskRecheckBytes {
		return
	}
	g.checked = now
	g.free, g.total, g.err = g.statfs(g.dir)
	g.written = 0
}

// reserve admits a write of n bytes, or refuses it wrapping
// ErrInsufficientStorage. It never refuses when the free space is unknown
// or there is no floor.
func (g *diskGuard) reserve(n int) error {
	if g == nil || g.floor == 0 {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.refreshLocked()
	need := int64(n) * writeAmplification
	if g.err == nil && g.free-g.written-need < g.floor && g.now().Sub(g.checked) >= diskRecheckRefused {
		// Before refusing, look again unless that was just done: space an
		// operator freed is then used at once, at the cost of a statfs per
		// diskRecheckRefused while full.
		g.checked = time.Time{}
		g.refreshLocked()
	}
	if g.err == nil && g.free-g.written-need < g.floor {
		g.refused = need
		return fmt.Errorf("%w: %d bytes free on the file system of %s, and writes stop %d bytes above empty (the free-space floor)",
			ErrInsufficientStorage, max(g.free-g.written, 0), g.dir, g.floor)
	}
	g.written += need
	g.refused = 0
	return nil
}

// status is the guard's current view.
func (g *diskGuard) status() DiskStatus {
	if g == nil {
		return DiskStatus{}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.refreshLocked()
	free := max(g.free-g.written, 0)
	return DiskStatus{
		FreeBytes: free, TotalBytes: g.total, FloorBytes: g.floor, Err: g.err,
		BelowFloor: g.err == nil && g.floor > 0 && free-g.refused < g.floor,
	}
}

// checkOpen refuses to open a store whose file system has less than half
// the floor free: badger writes while opening (it replays its log into a
// new memtable file and starts a new value-log file) and would die of
// SIGBUS on a full file system. Half the floor still lets a node that
// stopped at the floor restart and serve reads.
func (g *diskGuard) checkOpen() error {
	st := g.status()
	if st.Err != nil || st.FloorBytes == 0 || st.FreeBytes >= st.FloorBytes/2 {
		return nil
	}
	return fmt.Errorf("%w: only %d bytes free on the file system of %s, less than half the free-space floor of %d; free some space and start again",
		ErrInsufficientStorage, st.FreeBytes, g.dir, st.FloorBytes)
}

// Disk returns the free space of the file system holding the store, as
// the floor sees it (cached for at most 100 ms). It is the zero value in
// memory.
func (s *Store) Disk() DiskStatus { return s.disk.status() }
