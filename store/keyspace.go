package store

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// Keyspaces.
//
// A keyspace is a one-byte namespace tag chosen by the caller, next to the
// store's own 'd' (data) and 'm' (metadata) namespaces:
//
//	keyspace: tag | key
//
// Partition scans and counts seek inside 'd' | partition and metadata reads
// address 'm' | name, so neither can see a keyspace entry, and a keyspace
// scan seeks inside its own tag, so it sees neither data nor metadata. The
// tags 'd' and 'm', and '!' (the first byte of badger's internal
// "!badger!" keys), are refused. A future store namespace must be added to
// reservedTag; a tag once used by a keyspace on disk must never be reused
// for anything else.

// MaxKeyspaceKeySize is the longest key, in bytes, that a Keyspace accepts:
// badger's limit minus the tag byte.
const MaxKeyspaceKeySize = badgerMaxKey - 1

// ErrReservedKeyspace is wrapped by Store.Keyspace's error for a tag the
// store uses itself.
var ErrReservedKeyspace = errors.New("store: reserved keyspace tag")

// reservedTag reports whether tag is a namespace byte a Keyspace may not
// use.
func reservedTag(tag byte) bool {
	switch tag {
	case nsData, nsMeta, '!':
		return true
	}
	return false
}

// Keyspace is a named key prefix in the store, separate from partition data
// and metadata. It shares the Store's database, locks and lifetime: it needs
// no closing, and after Store.Close every method returns ErrClosed. It is
// safe for concurrent use. Several Keyspace values with the same tag address
// the same keys and serialize with each other.
type Keyspace struct {
	s   *Store
	tag byte
}

// Keyspace returns the keyspace tagged name. It fails, wrapping
// ErrReservedKeyspace, for 'd', 'm' and '!'.
func (s *Store) Keyspace(name byte) (*Keyspace, error) {
	if reservedTag(name) {
		return nil, fmt.Errorf("%w: %q", ErrReservedKeyspace, name)
	}
	return &Keyspace{s: s, tag: name}, nil
}

// key returns the badger key of key in k. The caller validates key.
func (k *Keyspace) key(key []byte) []byte {
	b := make([]byte, 1+len(key))
	b[0] = k.tag
	copy(b[1:], key)
	return b
}

func checkKeyspaceKey(key []byte) error {
	switch {
	case len(key) == 0:
		return fmt.Errorf("%w: empty key", ErrInvalidKey)
	case len(key) > MaxKeyspaceKeySize:
		return fmt.Errorf("%w: key of %d bytes exceeds %d", ErrInvalidKey, len(key), MaxKeyspaceKeySize)
	}
	return nil
}

// Get returns a copy of the value of key, or ErrNotFound. A stored empty
// value is returned as a non-nil empty slice.
func (k *Keyspace) Get(key []byte) ([]byte, error) {
	if err := checkKeyspaceKey(key); err != nil {
		return nil, err
	}
	if err := k.s.enter(); err != nil {
		return nil, err
	}
	defer k.s.exit()
	v, err := k.s.get(k.key(key))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("store: keyspace %q get: %w", k.tag, err)
	}
	return v, err
}

// Update replaces the value of key with fn's result, atomically with
// respect to other Updates and Deletes of the same key. fn's contract is
// Store.Update's: (v, nil) stores v, (nil, nil) deletes, ErrNoChange writes
// nothing and Update returns nil, any other error writes nothing and is
// returned unchanged. fn runs with the key's stripe locked: it must be quick
// and must not call Update, Delete or Close on this Store.
func (k *Keyspace) Update(key []byte, fn func(old []byte, exists bool) ([]byte, error)) error {
	if err := checkKeyspaceKey(key); err != nil {
		return err
	}
	if err := k.s.enter(); err != nil {
		return err
	}
	defer k.s.exit()
	fnErr, err := k.s.update(k.key(key), fn)
	switch {
	case fnErr != nil && errors.Is(fnErr, ErrNoChange):
		return nil
	case fnErr != nil:
		return fnErr
	case err != nil:
		return fmt.Errorf("store: keyspace %q update: %w", k.tag, err)
	}
	return nil
}

// Delete removes key. Deleting an absent key is not an error.
func (k *Keyspace) Delete(key []byte) error {
	if err := checkKeyspaceKey(key); err != nil {
		return err
	}
	if err := k.s.enter(); err != nil {
		return err
	}
	defer k.s.exit()
	if err := k.s.delete(k.key(key)); err != nil {
		return fmt.Errorf("store: keyspace %q delete: %w", k.tag, err)
	}
	return nil
}

// Scan calls fn for every key of the keyspace that starts with prefix (all
// of them for an empty prefix), in ascending key order, with copies of the
// key and value that fn may keep. It reads a snapshot taken when it starts
// and stops at fn's first error, which it returns unchanged. fn may call
// other methods of the Store, except Close.
//
// The snapshot pins badger's memtables, tables and value-log files until
// Scan returns: a caller doing slow work per key (network I/O) should read
// a page at a time with ScanFrom instead.
func (k *Keyspace) Scan(prefix []byte, fn func(key, value []byte) error) error {
	return k.ScanFrom(prefix, nil, fn)
}

// ScanFrom is Scan starting at the first key >= start; keys before start
// are skipped without being read. Resuming after key last is
// ScanFrom(prefix, append(last, 0), fn).
func (k *Keyspace) ScanFrom(prefix, start []byte, fn func(key, value []byte) error) error {
	if err := k.s.enter(); err != nil {
		return err
	}
	defer k.s.exit()

	p := k.key(prefix)
	seek := p
	if bytes.Compare(start, prefix) > 0 {
		seek = k.key(start)
	}
	var fnErr error
	err := k.s.iterate(p, seek, true, func(item *badger.Item) error {
		key := append([]byte(nil), item.Key()[1:]...)
		v, err := valueCopy(item)
		if err != nil {
			return err
		}
		if err := fn(key, v); err != nil {
			fnErr = err
			return err
		}
		return nil
	})
	switch {
	case fnErr != nil:
		return fnErr
	case err != nil:
		return fmt.Errorf("store: keyspace %q scan: %w", k.tag, mapErr(err))
	}
	return nil
}
