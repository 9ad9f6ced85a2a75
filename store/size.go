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
