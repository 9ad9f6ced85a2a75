package store

import (
	"os"
	"path/filepath"
)

// Size returns the disk space used by the LSM tables (*.sst) and the value
// log (*.vlog), in bytes: the same split as badger's DB.Size, which reports
// nothing with metrics off. It counts allocated blocks where the platform
// says so, because badger pre-sizes the active value-log file as a sparse
// file of 2×ValueLogFileSize. Write-ahead logs of unflushed memtables and
// small bookkeeping files are not counted. It is 0, 0 in memory, and it reads
// the directory, so call it at metrics-scrape rates, not per request.
func (s *Store) Size() (lsm, vlog int64) {
	if s.dir == "" {
		return 0, 0
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return 0, 0
	}
	for _, e := range entries {
		var sum *int64
		switch filepath.Ext(e.Name()) {
		case ".sst":
			sum = &lsm
		case ".vlog":
			sum = &vlog
		default:
			continue
		}
		// A file may vanish between ReadDir and Info (compaction, GC).
		if fi, err := e.Info(); err == nil {
			*sum += diskUsage(fi)
		}
	}
	return lsm, vlog
}

// ApproxKeys estimates the records the store holds from badger's table
// index, without reading any data: the entries of every LSM table, so a
// key rewritten since the last compaction, a deleted key not yet compacted
// away, the records of other keyspaces (a node's hints) and the few
// metadata records count too, and writes still in the memtables do not. Use it for dashboards; Count scans a partition for an
// exact figure. It is 0 once the store is closed.
func (s *Store) ApproxKeys() int64 {
	if err := s.enter(); err != nil {
		return 0
	}
	defer s.exit()
	var n int64
	for _, t := range s.db.Tables() {
		n += int64(t.KeyCount)
	}
	return n
}
