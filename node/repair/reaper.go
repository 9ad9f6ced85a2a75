package repair

import (
	"context"
	"fmt"
	"time"

	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/node/membership"
	"github.com/dynkv/dynkv/vclock"
)

// Tombstone reaping (docs/GUARANTEES.md, G6), which also reclaims expired
// values. A delete leaves a tombstone so that it supersedes
// exactly what it saw and cannot be undone by a stale replica. Once every
// replica holds the very same tombstone-only state and the grace period has
// passed, the key can be forgotten: no replica has anything that could bring
// a value back. Each replica deletes the key only if its state is still
// that agreed state, so a write racing the reap survives.
//
// The grace period must outlast how long an old version can linger outside
// the replicas: hints are handed to a replica after HintWindow, so a grace
// well above it (default 24 h against 3 h) keeps a late hint from
// resurrecting a reaped value — the same rule as Cassandra's gc_grace.

// ReapStats counts a reaping pass.
type ReapStats struct {
	Candidates int // tombstone-only keys past the grace period
	Reaped     int // forgotten by every replica
}

// ReapTombstonesOnce reaps the tombstones of every partition this node owns
// (is first in the walk of, so a replica of every bucket's keys). The
// replicas that must agree on a key are the first N of the walk, N its
// bucket's. The anti-entropy loop calls it after each pass; tests call it
// directly.
func (rp *Repair) ReapTombstonesOnce(ctx context.Context) (ReapStats, error) {
	var st ReapStats
	v := rp.cluster.View()
	now := rp.cfg.Wall()
	table := rp.cfg.Buckets()
	for p := range rp.cfg.Partitions {
		if v.Ring.Rank(p, rp.cfg.Self) != 0 {
			continue
		}
		var candidates [][]byte
		err := rp.replica.Scan(p, func(key, value []byte) error {
			s, err := vclock.DecodeSet(value)
			if err != nil {
				return nil // not ours to judge here; anti-entropy/reads report it
			}
			if reapable(s, now, rp.cfg.TombstoneGrace) {
				candidates = append(candidates, key)
			}
			return nil
		})
		if err != nil {
			return st, fmt.Errorf("scan partition %d: %w", p, err)
		}
		for _, key := range candidates {
			if ctx.Err() != nil {
				return st, ctx.Err()
			}
			st.Candidates++
			ok, err := rp.reap(ctx, key, v.Ring.PreferenceListN(p, table.PropsOf(key).N))
			if err != nil {
				rp.log.Debug("tombstone not reaped", "key", key, "err", err)
				continue
			}
			if ok {
				st.Reaped++
			}
		}
	}
	rp.stats.TombstonesReaped.Add(int64(st.Reaped))
	return st, nil
}

// reapable reports whether nothing of s can be read again: every sibling is
// a tombstone or an expired value, each at least the grace period old (a
// tombstone since it was written, a value since it expired). Expired values
// wait out the same grace as tombstones, as Cassandra's expired cells wait
// out gc_grace: a forgotten key's dots could otherwise be minted again
// while a late hint still carries the old ones (docs/GUARANTEES.md,
// "Expiry").
func reapable(s vclock.Set, now time.Time, grace time.Duration) bool {
	if len(s.Siblings) == 0 {
		return false
	}
	for _, sib := range s.Siblings {
		since := sib.Modified
		if !sib.Deleted {
			if sib.Expires == 0 || !sib.ExpiredAt(now.UnixMilli()) {
				return false
			}
			since = sib.Expires
		}
		if now.Sub(time.UnixMilli(since)) < grace {
			return false
		}
	}
	return true
}

// reap forgets key everywhere if every replica agrees on its state.
func (rp *Repair) reap(ctx context.Context, key []byte, pref []string) (bool, error) {
	mine, err := rp.replica.Read(key)
	if err != nil || !reapable(mine, rp.cfg.Wall(), rp.cfg.TombstoneGrace) {
		return false, err
	}
	v := rp.cluster.View()
	for _, id := range pref[1:] {
		m, ok := v.Members[id]
		if !ok {
			return false, fmt.Errorf("replica %s unknown", id)
		}
		theirs, err := rp.peers.Read(ctx, membership.Target{Member: m}, key)
		if err != nil {
			return false, fmt.Errorf("replica %s: %w", id, err)
		}
		if !theirs.Equal(mine) {
			return false, nil // anti-entropy will make them agree first
		}
	}
	body := wire.MergeRequest{Key: key, Set: mine}.Encode()
	for _, id := range pref {
		if err := rp.peers.Reap(ctx, v.Member(id), body); err != nil {
			// The others may have forgotten it already; the one left keeps
			// the tombstone, which anti-entropy spreads again (harmless) and
			// the next pass reaps.
			return false, fmt.Errorf("reap on %s: %w", id, err)
		}
	}
	return true, nil
}
