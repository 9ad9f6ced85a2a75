package store

import (
	"errors"
	"math/rand/v2"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// gcLoop runs value-log GC until Close. Values at or above ValueThreshold
// live in the value log, and overwriting or deleting them leaves garbage
// there that only GC reclaims.
//
// Rewriting a file stops the store's readers and writers for tens of
// milliseconds (its batches go through the one write pipeline; deleting the
// file takes the value log's lock), so the loop spreads the work out rather
// than doing it all at once (docs/BENCHMARKS.md, "Tail stalls"):
//
//   - the first run comes at a random point of the first interval, and each
//     wait is jittered by ±25 %, so the replicas of a cluster, which hold the
//     same data and were often started together, do not rewrite at the same
//     moment;
//   - one run rewrites at most one file; when it did, the next run comes after
//     a quarter of the interval, so a backlog still clears in a few minutes
//     without being rewritten back to back.
func (s *Store) gcLoop(interval time.Duration) {
	defer s.background.Done()
	t := time.NewTimer(rand.N(interval))
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			next := interval
			if s.runGC() {
				next = interval / 4
			}
			t.Reset(jitter(next))
		}
	}
}

// jitter returns d changed by a random amount of up to ±25 %.
func jitter(d time.Duration) time.Duration {
	return d - d/4 + rand.N(d/2+1)
}

// runGC rewrites one value-log file if badger finds one that is at least
// gcDiscardRatio garbage, and reports whether it did.
func (s *Store) runGC() bool {
	err := s.db.RunValueLogGC(gcDiscardRatio)
	switch {
	case err == nil:
		s.log.Debug("value-log GC rewrote a file")
		return true
	case errors.Is(err, badger.ErrNoRewrite), errors.Is(err, badger.ErrRejected):
		// Nothing worth rewriting, or a GC is already running.
	default:
		s.log.Warn("value-log GC failed", "err", err)
	}
	return false
}
