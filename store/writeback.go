package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// writebackLoop writes the newest value-log file's dirty pages to disk every
// interval until Close.
//
// Badger writes values into a memory-mapped file and, when the file is full,
// msyncs all of it from its one write goroutine before it opens the next;
// every commit and, through the read watermark, every read waits for that.
// With 64 MiB files and nothing written back in between, that msync took
// 74–91 ms on every node at once (docs/BENCHMARKS.md, "Tail stalls"). Written
// back once a second, the file has little left dirty when it fills.
//
// This goroutine syncs through its own descriptor of the file rather than
// badger's DB.Sync, which holds the database's lock shared while it syncs the
// memtable's log and so makes every write wait for the disk. The pages are the
// same page-cache pages the mapping dirtied, so either writes them back.
//
// It promises no durability: a value on disk without the memtable log entry
// that points at it is not recovered. What a returned write survives is
// unchanged (Options.SyncWrites).
func (s *Store) writebackLoop(interval time.Duration) {
	defer s.background.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	var active activeValueLog
	defer active.close()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if err := active.writeBack(s.dir); err != nil {
				s.log.Warn("value-log write-back failed", "err", err)
			}
		}
	}
}

// activeValueLog keeps the newest value-log file open between write-backs.
type activeValueLog struct {
	name string
	f    *os.File
}

// writeBack syncs dir's newest value-log file, first switching to it if
// badger has moved on to a new one.
func (a *activeValueLog) writeBack(dir string) error {
	name, err := newestValueLog(dir)
	if err != nil || name == "" {
		return err
	}
	if name != a.name {
		a.close()
		f, err := os.Open(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) {
			return nil // deleted since the listing: nothing to write back
		}
		if err != nil {
			return fmt.Errorf("store: open value log for write-back: %w", err)
		}
		a.name, a.f = name, f
	}
	if err := a.f.Sync(); err != nil {
		return fmt.Errorf("store: write back %s: %w", a.name, err)
	}
	return nil
}

func (a *activeValueLog) close() {
	if a.f != nil {
		a.f.Close()
	}
	a.name, a.f = "", nil
}

// newestValueLog names the value-log file badger is writing: the one with the
// highest number ("000042.vlog"; the padding is a minimum width, so names are
// compared as numbers).
func newestValueLog(dir string) (string, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.vlog"))
	if err != nil {
		return "", fmt.Errorf("store: list value-log files: %w", err)
	}
	newest, newestID := "", uint64(0)
	for _, p := range paths {
		name := filepath.Base(p)
		id, err := strconv.ParseUint(strings.TrimSuffix(name, ".vlog"), 10, 32)
		if err == nil && (newest == "" || id > newestID) {
			newest, newestID = name, id
		}
	}
	return newest, nil
}
