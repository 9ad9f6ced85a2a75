package store

import (
	"bytes"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"
)

var (
	// ErrNotFound is returned by Get and GetMeta for an absent key or name.
	ErrNotFound = errors.New("store: not found")
	// ErrClosed is returned by every operation started after Close began.
	ErrClosed = errors.New("store: closed")
	// ErrNoChange is returned by an Update callback to leave the key as it
	// is; Update then writes nothing and returns nil.
	ErrNoChange = errors.New("store: no change")
	// ErrInvalidKey is wrapped by the error for an empty or oversized key or
	// metadata name.
	ErrInvalidKey = errors.New("store: invalid key")
)

// numStripes is the number of Update/Delete mutexes. Two keys share one with
// probability 1/256; they then merely wait for each other.
const numStripes = 256

// closedBit marks the Store closed in Store.state; the bits below count the
// operations in flight.
const closedBit = int64(1) << 62

// Store is one node's local storage. It is safe for concurrent use.
type Store struct {
	db   *badger.DB
	dir  string     // "" when in memory
	disk *diskGuard // nil when in memory
	// memTableScale is the directory's memtable scale (spread.go).
	memTableScale float64
	log           *slog.Logger

	seed    maphash.Seed
	stripes [numStripes]sync.Mutex
	commits *committer // group commit of data writes (commit.go)

	// state is closedBit | number of operations in flight. enter and exit
	// maintain it without a lock so reads do not contend on one mutex.
	state   atomic.Int64
	drained chan struct{} // closed by the last exit after closedBit is set

	stop       chan struct{}  // closed by Close
	background sync.WaitGroup // value-log GC and write-back (gc.go, writeback.go)

	closeOnce sync.Once
	closeErr  error
}

// Open opens (creating if needed) the store described by opts and starts
// value-log GC unless disabled or in memory.
func Open(opts Options) (*Store, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var db *badger.DB
	var disk *diskGuard
	var err error
	var scale float64
	if opts.InMemory {
		db, err = openBadger(opts.badgerOptions())
	} else {
		db, disk, scale, err = openDisk(opts)
	}
	if err != nil {
		return nil, err
	}
	s := &Store{
		db:            db,
		dir:           opts.Dir,
		disk:          disk,
		memTableScale: scale,
		log:           logger,
		seed:          maphash.MakeSeed(),
		commits:       newCommitter(db),
		drained:       make(chan struct{}),
		stop:          make(chan struct{}),
	}
	if !opts.InMemory && opts.GCInterval > 0 {
		s.background.Add(1)
		go s.gcLoop(opts.GCInterval)
	}
	if !opts.InMemory && !opts.SyncWrites && opts.WriteBackInterval > 0 {
		s.background.Add(1)
		go s.writebackLoop(opts.WriteBackInterval)
	}
	return s, nil
}

// enter registers an operation; it fails once Close has begun. Every
// successful enter must be paired with exit.
func (s *Store) enter() error {
	for {
		v := s.state.Load()
		if v&closedBit != 0 {
			return ErrClosed
		}
		if s.state.CompareAndSwap(v, v+1) {
			return nil
		}
	}
}

// exit ends an operation; the last one out after Close began wakes Close.
func (s *Store) exit() {
	if s.state.Add(-1) == closedBit {
		close(s.drained)
	}
}

// Close stops value-log GC and write-back, waits for operations in flight, and closes the
// database, flushing memtables. It is idempotent: later calls wait for the
// first to finish and return its result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		before := s.state.Or(closedBit)
		close(s.stop)
		s.background.Wait()
		if before != 0 { // operations were in flight; the last exit signals
			<-s.drained
		}
		if err := s.db.Close(); err != nil {
			s.closeErr = fmt.Errorf("store: close: %w", err)
		} else if s.dir != "" {
			s.closeErr = markClean(s.dir, s.memTableScale)
		}
	})
	return s.closeErr
}

// stripe returns the mutex that serializes writers of badger key k.
func (s *Store) stripe(k []byte) *sync.Mutex {
	return &s.stripes[maphash.Bytes(s.seed, k)%numStripes]
}

// Get returns a copy of the value of (partition, key), or ErrNotFound. A
// stored empty value is returned as a non-nil empty slice.
func (s *Store) Get(partition uint16, key []byte) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.exit()
	v, err := s.get(dataKey(partition, key))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("store: get partition %d: %w", partition, err)
	}
	return v, err
}

// get reads badger key k in its own read transaction.
func (s *Store) get(k []byte) ([]byte, error) {
	var v []byte
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		v, err = getTxn(txn, k)
		return err
	})
	return v, err
}

// getTxn reads k in txn, copying the value out of badger's buffers.
func getTxn(txn *badger.Txn, k []byte) ([]byte, error) {
	item, err := txn.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, mapErr(err)
	}
	return valueCopy(item)
}

// Update replaces the value of (partition, key) with fn's result, atomically
// with respect to other Updates and Deletes of the same key.
//
// fn receives a copy of the current value (nil, false when absent) that it
// may keep, and returns the new value:
//   - (v, nil) stores v (a non-nil empty v stores an empty value);
//   - (nil, nil) deletes the key;
//   - (_, ErrNoChange) writes nothing, and Update returns nil;
//   - (_, err) writes nothing, and Update returns err unchanged.
//
// fn runs while the key's stripe is locked: it should be quick, and it must
// not call Update, Delete or Close on this Store (it could wait for itself).
// Update does not retain fn's result after it returns. The change is
// committed together with the other writes queued at the same time, and
// Update returns once that batch has committed (doc.go, "Concurrency").
func (s *Store) Update(partition uint16, key []byte, fn func(old []byte, exists bool) ([]byte, error)) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.exit()

	fnErr, err := s.update(dataKey(partition, key), fn)
	switch {
	case fnErr != nil && errors.Is(fnErr, ErrNoChange):
		return nil
	case fnErr != nil:
		return fnErr
	case err != nil:
		return fmt.Errorf("store: update partition %d: %w", partition, err)
	}
	return nil
}

// Delete removes (partition, key). Deleting an absent key is not an error.
func (s *Store) Delete(partition uint16, key []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.exit()

	if err := s.delete(dataKey(partition, key)); err != nil {
		return fmt.Errorf("store: delete partition %d: %w", partition, err)
	}
	return nil
}

// Scan calls fn for every key of partition in ascending key order, with
// copies of the key and value that fn may keep. It reads a snapshot taken
// when it starts. It stops at fn's first error and returns it unchanged.
// fn may call other methods of the Store, except Close.
func (s *Store) Scan(partition uint16, fn func(key, value []byte) error) error {
	return s.ScanFrom(partition, nil, nil, fn)
}

// ScanFrom is Scan of the keys of partition that start with prefix and
// sort after after (every such key when after is nil).
func (s *Store) ScanFrom(partition uint16, prefix, after []byte, fn func(key, value []byte) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.exit()

	scope := append(partitionPrefix(partition), prefix...)
	start := scope
	if after != nil && bytes.Compare(after, prefix) >= 0 {
		// The smallest key after after: after itself followed by a zero byte.
		start = append(append(partitionPrefix(partition), after...), 0)
	}
	var fnErr error
	err := s.iterate(scope, start, true, func(item *badger.Item) error {
		k := append([]byte(nil), item.Key()[dataPrefixLen:]...)
		v, err := valueCopy(item)
		if err != nil {
			return err
		}
		if err := fn(k, v); err != nil {
			fnErr = err
			return err
		}
		return nil
	})
	switch {
	case fnErr != nil:
		return fnErr
	case err != nil:
		return fmt.Errorf("store: scan partition %d: %w", partition, err)
	}
	return nil
}

// Count returns the number of keys in partition that start with prefix
// (all of them for an empty prefix). It reads keys only, never values, so
// it does not touch the value log.
func (s *Store) Count(partition uint16, prefix []byte) (int, error) {
	if err := s.enter(); err != nil {
		return 0, err
	}
	defer s.exit()

	n := 0
	scope := append(partitionPrefix(partition), prefix...)
	err := s.iterate(scope, scope, false, func(*badger.Item) error { n++; return nil })
	if err != nil {
		return 0, fmt.Errorf("store: count partition %d: %w", partition, err)
	}
	return n, nil
}

// iterate calls fn for each live item under prefix, from start on, in one
// read transaction (partition scans and keyspace scans alike).
func (s *Store) iterate(prefix, start []byte, values bool, fn func(*badger.Item) error) error {
	return s.db.View(func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.Prefix = prefix // also lets badger skip tables outside the prefix
		o.PrefetchValues = values
		it := txn.NewIterator(o)
		defer it.Close()
		for it.Seek(start); it.ValidForPrefix(prefix); it.Next() {
			if err := fn(it.Item()); err != nil {
				return err
			}
		}
		return nil
	})
}

// GetMeta returns a copy of the metadata value name, or ErrNotFound.
func (s *Store) GetMeta(name string) ([]byte, error) {
	if err := checkMetaName(name); err != nil {
		return nil, err
	}
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.exit()
	v, err := s.get(metaKey(name))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("store: get meta %q: %w", name, err)
	}
	return v, err
}

// PutMeta stores the metadata value name and syncs it to disk before
// returning, whatever SyncWrites says.
func (s *Store) PutMeta(name string, value []byte) error {
	if err := checkMetaName(name); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.exit()
	// badger stores a nil value as empty; say so explicitly.
	if value == nil {
		value = []byte{}
	}
	k := metaKey(name)
	err := s.writeSynced(func(txn *badger.Txn) error { return txn.Set(k, value) })
	if err != nil {
		return fmt.Errorf("store: put meta %q: %w", name, err)
	}
	return nil
}

// DeleteMeta removes the metadata value name, durably. Deleting an absent
// name is not an error.
func (s *Store) DeleteMeta(name string) error {
	if err := checkMetaName(name); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.exit()
	k := metaKey(name)
	if err := s.writeSynced(func(txn *badger.Txn) error { return txn.Delete(k) }); err != nil {
		return fmt.Errorf("store: delete meta %q: %w", name, err)
	}
	return nil
}

// writeSynced commits fn's writes and then fsyncs the logs. Metadata is
// written blind (last writer wins), so it needs no stripe.
func (s *Store) writeSynced(fn func(*badger.Txn) error) error {
	if err := s.db.Update(fn); err != nil {
		return mapErr(err)
	}
	return mapErr(s.db.Sync())
}

// Sync flushes every write returned so far to stable storage. It is a no-op
// in memory.
func (s *Store) Sync() error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.exit()
	if err := s.db.Sync(); err != nil {
		return fmt.Errorf("store: sync: %w", mapErr(err))
	}
	return nil
}

// mapErr turns badger's closed error into ErrClosed. The enter/exit gate
// should make that unreachable; this keeps the contract if it is not.
func mapErr(err error) error {
	if errors.Is(err, badger.ErrDBClosed) {
		return ErrClosed
	}
	return err
}
