package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/dgraph-io/badger/v4"
)

// markerFile is the store's own file next to badger's. Its presence says a
// database lives in the directory, so a missing MANIFEST is damage rather
// than a new directory. A clean Close records the value-log files' sizes
// in it: badger truncates the newest value-log file at the first entry it
// cannot read when it opens, and deletes nothing else, so after a clean
// close a size that changed is damage too. Open clears the record before
// badger writes anything, so after a crash (when the newest file is
// legitimately cut back to its last whole entry) nothing is compared.
const markerFile = "DYNKV-STORE"

// markerFormat is the version of the marker's JSON.
const markerFormat = 1

type marker struct {
	exists    bool
	Format    int              `json:"format"`
	Clean     bool             `json:"clean"`
	ValueLogs map[string]int64 `json:"value_logs,omitempty"` // at the clean close
	// MemTableScale is the directory's memtable scale (spread.go); 0 in a
	// marker written before it existed, which means 1.
	MemTableScale float64 `json:"memtable_scale,omitempty"`
}

// readMarker reads dir's marker; a missing one is the zero marker.
func readMarker(dir string) (marker, error) {
	b, err := os.ReadFile(filepath.Join(dir, markerFile))
	if errors.Is(err, os.ErrNotExist) {
		return marker{}, nil
	}
	if err != nil {
		return marker{}, fmt.Errorf("store: read %s: %w", markerFile, err)
	}
	m := marker{exists: true}
	if err := json.Unmarshal(b, &m); err != nil || m.Format != markerFormat {
		return marker{}, damaged(dir, markerFile, "not a marker this version of dynkv wrote (%d bytes)", len(b))
	}
	return m, nil
}

// writeMarker replaces dir's marker durably: a new file, synced, renamed
// over the old one, and the directory synced.
func writeMarker(dir string, m marker) error {
	m.Format = markerFormat
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("store: encode marker: %w", err)
	}
	path := filepath.Join(dir, markerFile)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("store: write marker: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	if err = errors.Join(err, f.Sync(), f.Close()); err != nil {
		return fmt.Errorf("store: write marker: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("store: write marker: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("store: sync %s: %w", dir, err)
	}
	return errors.Join(d.Sync(), d.Close())
}

// valueLogSizes lists dir's value-log files and their sizes.
func valueLogSizes(dir string) (map[string]int64, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.vlog"))
	if err != nil {
		return nil, fmt.Errorf("store: list value-log files: %w", err)
	}
	sizes := map[string]int64{}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		sizes[filepath.Base(p)] = fi.Size()
	}
	return sizes, nil
}

// checkValueLogs checks, after a clean close, that every value-log file is
// there with the size it was left with.
func (m marker) checkValueLogs(dir string) error {
	if !m.Clean {
		return nil
	}
	now, err := valueLogSizes(dir)
	if err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(m.ValueLogs)) {
		size, ok := now[name]
		switch {
		case !ok:
			return damaged(dir, name, "missing; the store was closed cleanly with it")
		case size != m.ValueLogs[name]:
			return damaged(dir, name, "%d bytes; the store was closed cleanly with %d", size, m.ValueLogs[name])
		}
	}
	return nil
}

// checkNewestKept checks, after badger opened a cleanly closed directory,
// that badger did not cut the newest value-log file back: it does so at the
// first entry that fails its checksum, dropping every value after it.
func (m marker) checkNewestKept(dir string) error {
	if !m.Clean || len(m.ValueLogs) == 0 {
		return nil
	}
	newest := slices.Max(slices.Collect(maps.Keys(m.ValueLogs))) // names are zero-padded IDs
	fi, err := os.Stat(filepath.Join(dir, newest))
	if err != nil {
		return damaged(dir, newest, "%v", err)
	}
	if fi.Size() < m.ValueLogs[newest] {
		return damaged(dir, newest, "badger cut it from %d to %d bytes at an entry that failed its checksum", m.ValueLogs[newest], fi.Size())
	}
	return nil
}

// openDisk checks dir, opens badger on it and records that it is open,
// returning the free-space floor's guard and the directory's memtable scale
// too.
func openDisk(opts Options) (*badger.DB, *diskGuard, float64, error) {
	dir := opts.Dir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, 0, fmt.Errorf("store: %w", err)
	}
	m, err := readMarker(dir)
	if err != nil {
		return nil, nil, 0, err
	}
	if err := checkDir(dir, m); err != nil {
		return nil, nil, 0, err
	}
	guard := newDiskGuard(dir, opts.MinFreeBytes, opts.statfs)
	if err := guard.checkOpen(); err != nil {
		return nil, nil, 0, err
	}
	scale := m.MemTableScale
	switch {
	case scale == 0 && m.exists:
		scale = 1 // made before scales: never shrink its memtables
	case scale == 0:
		scale = newMemTableScale()
	}
	bo := opts.badgerOptions()
	bo.MemTableSize = scaleMemTable(opts.MemTableSize, scale)
	db, err := openBadger(bo)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("store: open %q: %w", dir, err)
	}
	// The clean record stays until this check has passed: if it fails,
	// the next Open must find the shortened file again.
	err = m.checkNewestKept(dir)
	if err == nil {
		err = writeMarker(dir, marker{MemTableScale: scale})
	}
	if err != nil {
		db.Close()
		return nil, nil, 0, err
	}
	return db, guard, scale, nil
}

// markClean records a clean close of dir, after badger has closed it.
func markClean(dir string, memTableScale float64) error {
	sizes, err := valueLogSizes(dir)
	if err != nil {
		return err
	}
	return writeMarker(dir, marker{Clean: true, ValueLogs: sizes, MemTableScale: memTableScale})
}
