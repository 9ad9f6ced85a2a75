package replica

import (
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/dynkv/dynkv/bucket"
	"github.com/dynkv/dynkv/hinted"
	"github.com/dynkv/dynkv/merkle"
	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/ring"
	"github.com/dynkv/dynkv/store"
	"github.com/dynkv/dynkv/vclock"
)

// Config configures a replica; the node fills it from its own Config.
type Config struct {
	NodeID     string
	DataDir    string
	Partitions int // fixed for the data directory's life; checked at Open
	SyncWrites bool
	// MemTableBytes and ValueLogFileBytes size the store (0: its defaults).
	MemTableBytes     int64
	ValueLogFileBytes int64
	// MinFreeBytes is the store's free-space floor (0: its default;
	// negative: none); below it writes are refused (disk.go).
	MinFreeBytes int64
	// MaxValueBytes and MaxSiblings bound what a write may store; a
	// bucket's own caps (Buckets) are at most these.
	MaxValueBytes int
	MaxSiblings   int
	// Buckets returns the node's current bucket table, called once per
	// operation: a key's caps, conflict mode and N (its tree class) are
	// its bucket's (buckets.go). It must not be nil nor return nil.
	Buckets func() *bucket.Table
	// Clock is the wall clock that stamps siblings' Modified times.
	Clock func() time.Time
	// BootID identifies the operating system's boot (nil: OSBootID); a new
	// boot after a crash may have lost unsynced writes (identity.go).
	BootID func() string
	// Hints configures the hint queue (rate, concurrency, window).
	Hints  hinted.Config
	Logger *slog.Logger
}

// Replica is one node's copy of its keys. Safe for concurrent use.
type Replica struct {
	cfg      Config
	log      *slog.Logger
	store    Store
	actor    string
	hints    *hinted.Queue
	fallback *fallbackMinter
	trees    *partitions
	epochs   *epochs
	// quarantine holds records that failed to decode (quarantine.go).
	quarantine *quarantine
	draining   atomic.Bool

	localWrites atomic.Int64
}

// Open opens the data directory, checks it against cfg and chooses this
// run's actor. It must run before anything is served.
func Open(cfg Config) (*Replica, error) {
	if cfg.Buckets == nil {
		return nil, errors.New("replica: Config.Buckets is nil")
	}
	s, hintKV, err := openStore(store.Options{
		Dir: cfg.DataDir, SyncWrites: cfg.SyncWrites, Logger: cfg.Logger,
		MemTableSize: cfg.MemTableBytes, ValueLogFileSize: cfg.ValueLogFileBytes,
		MinFreeBytes: cfg.MinFreeBytes,
	})
	if err != nil {
		return nil, explainOpen(fmt.Errorf("open store: %w", err), cfg.DataDir)
	}
	r := &Replica{cfg: cfg, log: cfg.Logger, store: s, trees: newPartitions(merkle.DefaultConfig(), cfg.Partitions)}
	fail := func(err error) (*Replica, error) {
		s.Close()
		return nil, err
	}
	bootID := cfg.BootID
	if bootID == nil {
		bootID = OSBootID
	}
	run := runRecord{Boot: bootID(), SyncWrites: cfg.SyncWrites}
	if r.actor, err = loadIdentity(s, cfg.NodeID, cfg.Partitions, run); err != nil {
		return fail(fmt.Errorf("data directory %s: %w", cfg.DataDir, err))
	}
	if r.hints, err = hinted.Open(hintKV, cfg.Hints, r.mergeHints, cfg.Clock); err != nil {
		return fail(fmt.Errorf("open hints: %w", err))
	}
	if r.fallback, err = newFallbackMinter(r.actor, 100_000); err != nil {
		return fail(err)
	}
	if r.quarantine, err = openQuarantine(s); err != nil {
		return fail(err)
	}
	if r.epochs, err = openEpochs(s, cfg.Partitions); err != nil {
		return fail(err)
	}
	return r, nil
}

// Actor is the name this incarnation's dots carry.
func (r *Replica) Actor() string { return r.actor }

// Hints is the queue of what this node keeps for other replicas.
func (r *Replica) Hints() *hinted.Queue { return r.hints }

// Drain makes every later request answer shutting_down.
func (r *Replica) Drain() { r.draining.Store(true) }

// Draining reports whether Drain was called.
func (r *Replica) Draining() bool { return r.draining.Load() }

// LocalWrites counts the writes whose dot this replica minted.
func (r *Replica) LocalWrites() int64 { return r.localWrites.Load() }

// Close records a clean shutdown (so the next start keeps this actor) and
// closes the store. Nothing may call the replica afterwards.
func (r *Replica) Close() error {
	err := markCleanShutdown(r.store)
	return errors.Join(err, r.store.Close())
}

// Kill closes the store without marking the shutdown clean, as a crash
// would leave it: the next start keeps the actor only within the same boot
// (identity.go).
func (r *Replica) Kill() { r.store.Close() }

func (r *Replica) partition(key []byte) uint16 {
	return uint16(ring.PartitionOf(key, r.cfg.Partitions))
}

// Read returns this replica's state for key (empty when absent).
func (r *Replica) Read(key []byte) (vclock.Set, error) {
	b, err := r.store.Get(r.partition(key), key)
	if errors.Is(err, store.ErrNotFound) {
		return vclock.Set{}, nil
	}
	if err != nil {
		return vclock.Set{}, fmt.Errorf("read %q: %w", key, err)
	}
	s, err := vclock.DecodeSet(b)
	if err != nil {
		// Set aside, the key is absent here until repair restores it.
		if qerr := r.quarantineRecord(key, &corruptRecord{raw: b, err: err}); qerr != nil {
			return vclock.Set{}, fmt.Errorf("decode stored %q: %w", key, errors.Join(err, qerr))
		}
		return vclock.Set{}, nil
	}
	return s, nil
}

// updateOnce is a per-key read-modify-write (see store.Update for fn's
// contract) that applies the change to the partition's Merkle tree too,
// under the partition's lock. Callers use update (quarantine.go).
func (r *Replica) updateOnce(key []byte, fn func(old []byte, exists bool) ([]byte, error)) error {
	p := r.partition(key)
	var before, after []byte
	changed := false
	done := r.trees.lockForWrite(int(p), key)
	err := r.store.Update(p, key, func(old []byte, exists bool) ([]byte, error) {
		next, err := fn(old, exists)
		if err != nil {
			return nil, err
		}
		before, after, changed = old, next, true
		return next, nil
	})
	if err != nil || !changed {
		before, after = nil, nil // nothing was stored: no delta
	}
	done(key, before, after)
	return refuseFull(err)
}

// Mint checks a client write, mints its dot, applies it and returns the
// new state. Nothing is stored when the write is refused.
func (r *Replica) Mint(req wire.WriteRequest) (wire.WriteResponse, error) {
	props := r.propsOf(req.Key)
	if err := checkValue(req.Value, props); err != nil {
		return wire.WriteResponse{}, err
	}
	var out wire.WriteResponse
	err := r.update(req.Key, func(old []byte, exists bool) ([]byte, error) {
		cur, err := decodeStored(old, exists)
		if err != nil {
			return nil, err
		}
		next, dot, err := r.mintInto(req, cur, exists, props)
		if err != nil {
			return nil, err
		}
		if err := checkSiblings(next, props); err != nil {
			return nil, err
		}
		out = wire.WriteResponse{Dot: dot, Set: next}
		return next.Encode(), nil
	})
	if err != nil {
		return wire.WriteResponse{}, fmt.Errorf("write %q: %w", req.Key, err)
	}
	r.localWrites.Add(1)
	return out, nil
}

// sibling is the version a write mints, stamped with the minting replica's
// clock; its expiry is fixed here, once, so that every copy agrees on it.
func sibling(req wire.WriteRequest, nowMs int64) vclock.Sibling {
	sib := vclock.Sibling{Value: req.Value, ContentType: req.ContentType, Deleted: req.Deleted, Modified: nowMs}
	if req.TTL > 0 && !req.Deleted {
		sib.Expires = nowMs + req.TTL.Milliseconds()
	}
	return sib
}

// checkValue applies the key's bucket's value cap (at most the node's).
func checkValue(v []byte, props bucket.Props) error {
	if len(v) > props.MaxValueBytes {
		return &wire.RemoteError{Code: wire.CodeValueTooLarge, Message: fmt.Sprintf("value of %d bytes exceeds %d", len(v), props.MaxValueBytes)}
	}
	return nil
}

// checkSiblings applies the key's bucket's sibling cap (at most the
// node's).
func checkSiblings(s vclock.Set, props bucket.Props) error {
	if len(s.Siblings) > props.MaxSiblings {
		return &wire.RemoteError{
			Code:    wire.CodeTooManySiblings,
			Message: fmt.Sprintf("the write would give the key more than %d siblings; read it, resolve the siblings and write back with the context", props.MaxSiblings),
		}
	}
	return nil
}

// Merge merges a remote state into this replica's.
func (r *Replica) Merge(key []byte, in vclock.Set) error {
	props := r.propsOf(key)
	err := r.update(key, func(old []byte, exists bool) ([]byte, error) {
		cur, err := decodeStored(old, exists)
		if err != nil {
			return nil, err
		}
		next := resolve(cur.Merge(in), props)
		if exists && next.Equal(cur) {
			return nil, store.ErrNoChange
		}
		return next.Encode(), nil
	})
	if err == nil {
		// A peer's state names what it saw of this replica's dots: a
		// quarantined key may be minted with this replica's actor again.
		err = r.quarantine.unmark(key)
	}
	if err != nil {
		return fmt.Errorf("merge %q: %w", key, err)
	}
	return nil
}

// Reap forgets key if its stored state equals s (tombstone reaping: a
// write racing the reap changed the state and survives).
func (r *Replica) Reap(key []byte, s vclock.Set) error {
	err := r.update(key, func(old []byte, exists bool) ([]byte, error) {
		cur, err := decodeStored(old, exists)
		if err != nil {
			return nil, err
		}
		if !exists || !cur.Equal(s) {
			return nil, store.ErrNoChange
		}
		return nil, nil // delete
	})
	if err != nil {
		return fmt.Errorf("reap %q: %w", key, err)
	}
	return nil
}

// ForgetIfUnchanged deletes a handed-off key unless a write changed it
// after it was sent (then the next pass sends it again).
func (r *Replica) ForgetIfUnchanged(key, sent []byte) error {
	if err := r.epochs.beforeForget(int(r.partition(key))); err != nil {
		return fmt.Errorf("forget %q: %w", key, err)
	}
	err := r.update(key, func(old []byte, exists bool) ([]byte, error) {
		if !exists || string(old) != string(sent) {
			return nil, store.ErrNoChange
		}
		return nil, nil // delete
	})
	if err != nil {
		return fmt.Errorf("forget %q: %w", key, err)
	}
	return nil
}

// Scan calls fn with every stored (key, encoded set) of partition p, in
// key order, stopping at fn's first error.
func (r *Replica) Scan(p int, fn func(key, value []byte) error) error {
	return r.store.Scan(uint16(p), fn)
}

// ScanFrom is Scan of the keys that start with prefix (all when empty)
// and sort after after (from the first when nil): a pass that leaves keys
// in place resumes past them.
func (r *Replica) ScanFrom(p int, prefix, after []byte, fn func(key, value []byte) error) error {
	return r.store.ScanFrom(uint16(p), prefix, after, fn)
}

// Size is the store's bytes on disk (LSM tree, value log).
func (r *Replica) Size() (lsm, vlog int64) { return r.store.Size() }

// Count is how many keys of partition p that start with prefix (all for
// an empty one) this node holds.
func (r *Replica) Count(p int, prefix []byte) (int, error) {
	return r.store.Count(uint16(p), prefix)
}
