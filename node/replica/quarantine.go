package replica

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/dynkv/dynkv/bucket"
	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/store"
	"github.com/dynkv/dynkv/vclock"
)

// A stored record that no longer decodes (a bug, a bit flip, a forged
// context that slipped past an older version) must not stop its key, let
// alone its partition: every read, write, merge and anti-entropy exchange
// would fail on it forever. So the replica sets the record aside with its
// raw bytes, for an operator, and treats the key as absent: read repair
// and anti-entropy then restore it from the other replicas.
//
// The record held this replica's own dots for the key, which are now
// unknown: minting with its actor could name one of them again for another
// value, and one of the two would be lost at a merge (docs/GUARANTEES.md,
// G4). Until a merge from a peer has brought the key back, this replica
// therefore mints for the key with its fallback actor, which is fresh for
// the process run (fallback.go).

// quarantineKeyspace holds the records set aside, in the node's database:
//
//	'r' key unixNanos(8) seq(4) -> the record's raw bytes, as found
//	'p' key              -> mark: quarantined, not yet restored by a merge
const quarantineKeyspace = 'q'

const (
	quarantinedRecord = 'r'
	quarantineMark    = 'p'
)

type quarantine struct {
	ks *store.Keyspace
	// marks is how many keys are marked: 0 (the normal state) skips every
	// lookup on the write path.
	marks atomic.Int64
	// records counts the records set aside since start (metrics); it also
	// tells apart two records of one key set aside at the same instant.
	records atomic.Int64
}

func openQuarantine(s *store.Store) (*quarantine, error) {
	ks, err := s.Keyspace(quarantineKeyspace)
	if err != nil {
		return nil, fmt.Errorf("open quarantine: %w", err)
	}
	q := &quarantine{ks: ks}
	err = ks.Scan([]byte{quarantineMark}, func(_, _ []byte) error {
		q.marks.Add(1)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count quarantined keys: %w", err)
	}
	return q, nil
}

func markKey(key []byte) []byte { return append([]byte{quarantineMark}, key...) }

// marked reports whether key was quarantined and not yet restored.
func (q *quarantine) marked(key []byte) (bool, error) {
	if q.marks.Load() == 0 {
		return false, nil
	}
	_, err := q.ks.Get(markKey(key))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("quarantine mark of %q: %w", key, err)
	}
	return true, nil
}

// unmark records that a merge from a peer restored key.
func (q *quarantine) unmark(key []byte) error {
	if q.marks.Load() == 0 {
		return nil
	}
	removed := false
	err := q.ks.Update(markKey(key), func(_ []byte, exists bool) ([]byte, error) {
		if !exists {
			return nil, store.ErrNoChange
		}
		removed = true
		return nil, nil
	})
	if err != nil {
		return fmt.Errorf("clear quarantine mark of %q: %w", key, err)
	}
	if removed {
		q.marks.Add(-1)
	}
	return nil
}

// Quarantined counts the stored records set aside since start because they
// failed to decode.
func (r *Replica) Quarantined() int64 { return r.quarantine.records.Load() }

// corruptRecord is a stored record that failed to decode; update
// quarantines it and tries again.
type corruptRecord struct {
	raw []byte
	err error
}

func (e *corruptRecord) Error() string {
	return fmt.Sprintf("stored record does not decode: %v", e.err)
}
func (e *corruptRecord) Unwrap() error { return e.err }

func decodeStored(b []byte, exists bool) (vclock.Set, error) {
	if !exists {
		return vclock.Set{}, nil
	}
	s, err := vclock.DecodeSet(b)
	if err != nil {
		return vclock.Set{}, &corruptRecord{raw: b, err: err}
	}
	return s, nil
}

// update is every write to the store (see updateOnce). A record found
// undecodable is quarantined, and the change applied to the key as absent.
func (r *Replica) update(key []byte, fn func(old []byte, exists bool) ([]byte, error)) error {
	err := r.updateOnce(key, fn)
	var bad *corruptRecord
	if !errors.As(err, &bad) {
		return err
	}
	if qerr := r.quarantineRecord(key, bad); qerr != nil {
		return errors.Join(err, qerr)
	}
	return r.updateOnce(key, fn)
}

// SetAsideIfCorrupt checks raw, key's record as a scan returned it, and
// quarantines it if it does not decode, as a read would have: callers that
// pass stored records on (handoff) must not send a peer what it cannot
// decode, nor stop at it.
func (r *Replica) SetAsideIfCorrupt(key, raw []byte) (bool, error) {
	_, err := vclock.DecodeSet(raw)
	if err == nil {
		return false, nil
	}
	return true, r.quarantineRecord(key, &corruptRecord{raw: raw, err: err})
}

// quarantineRecord sets bad aside, marks key and removes the record from
// the data, in that order: a crash in between leaves the record where it
// was, to be quarantined again, never lost.
func (r *Replica) quarantineRecord(key []byte, bad *corruptRecord) error {
	q := r.quarantine
	rk := binary.BigEndian.AppendUint64(append([]byte{quarantinedRecord}, key...), uint64(r.cfg.Clock().UnixNano()))
	rk = binary.BigEndian.AppendUint32(rk, uint32(q.records.Load()))
	if err := q.ks.Update(rk, func([]byte, bool) ([]byte, error) { return bad.raw, nil }); err != nil {
		return fmt.Errorf("quarantine %q: %w", key, err)
	}
	added := false
	err := q.ks.Update(markKey(key), func(_ []byte, exists bool) ([]byte, error) {
		if exists {
			return nil, store.ErrNoChange
		}
		added = true
		return []byte{}, nil
	})
	if err != nil {
		return fmt.Errorf("mark %q quarantined: %w", key, err)
	}
	if added {
		q.marks.Add(1)
	}
	removed := false
	err = r.updateOnce(key, func(old []byte, exists bool) ([]byte, error) {
		if !exists || !bytes.Equal(old, bad.raw) {
			return nil, store.ErrNoChange // changed meanwhile: that change stands
		}
		removed = true
		return nil, nil // delete
	})
	if err != nil {
		return fmt.Errorf("remove quarantined %q: %w", key, err)
	}
	if !removed {
		// Another caller set the same record aside first (two copies of
		// its bytes are kept), or a write replaced it: counted once.
		return nil
	}
	q.records.Add(1)
	r.log.Error("stored record does not decode: set it aside in the quarantine keyspace; the key is absent here until repair restores it",
		"key", fmt.Sprintf("%q", key), "partition", r.partition(key), "bytes", len(bad.raw), "err", bad.err)
	return nil
}

// mintInto mints a client write into cur, the key's stored state, with
// this replica's actor for the key's partition (epochs.go), or with its
// fallback actor while the key is quarantined (see above). The context is
// checked first (claims.go); in an lww bucket the write then supersedes
// all of cur (lwwContext). It runs inside the key's update.
func (r *Replica) mintInto(req wire.WriteRequest, cur vclock.Set, exists bool, props bucket.Props) (vclock.Set, vclock.Dot, error) {
	marked, err := r.quarantine.marked(req.Key)
	if err != nil {
		return vclock.Set{}, vclock.Dot{}, err
	}
	// Expired siblings go now, so they count against no sibling limit; the
	// new sibling keeps the set non-empty (vclock.Set.WithoutExpired).
	nowMs := r.cfg.Clock().UnixMilli()
	cur = cur.WithoutExpired(nowMs)
	if !marked {
		actor := r.epochs.actor(r.actor, int(r.partition(req.Key)))
		if err := checkMintContext(req.Context, actor, cur, exists); err != nil {
			return vclock.Set{}, vclock.Dot{}, err
		}
		next, dot := cur.Write(actor, lwwContext(req.Context, cur, props), sibling(req, nowMs))
		return resolve(next, props), dot, nil
	}
	if err := checkPlausible(req.Context); err != nil {
		return vclock.Set{}, vclock.Dot{}, err
	}
	dot, err := r.fallback.next(req.Key, cur.Context, req.Context)
	if err != nil {
		return vclock.Set{}, vclock.Dot{}, err
	}
	next := cur.WriteAt(dot, lwwContext(req.Context, cur, props), sibling(req, nowMs))
	return resolve(next, props), dot, nil
}
