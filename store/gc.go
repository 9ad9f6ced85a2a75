package store

import (
	"errors"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// gcLoop runs value-log GC every interval until Close. Values at or above
// ValueThreshold live in the value log, and overwriting or deleting them
// leaves garbage there that only GC reclaims.
func (s *Store) gcLoop(interval time.Duration) {
	defer close(s.gcDone)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stopGC:
			return
		case <-t.C:
			s.runGC()
		}
	}
}

// runGC rewrites value-log files while badger finds one that is at least
// gcDiscardRatio garbage. It returns early when Close begins.
func (s *Store) runGC() {
	for {
		select {
		case <-s.stopGC:
			return
		default:
		}
		err := s.db.RunValueLogGC(gcDiscardRatio)
		switch {
		case err == nil:
			s.log.Debug("value-log GC rewrote a file")
			continue
		case errors.Is(err, badger.ErrNoRewrite), errors.Is(err, badger.ErrRejected):
			// Nothing worth rewriting, or a GC is already running.
		default:
			s.log.Warn("value-log GC failed", "err", err)
		}
		return
	}
}
