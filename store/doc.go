// Package store is a dynkv node's local storage: one badger/v4 database per
// node behind a narrow, byte-oriented interface.
//
// # What it owns
//
// Everything the node keeps on disk:
//
//   - the data keyspace: one opaque value per (partition, key). The node stores
//     an encoded sibling set there; this package never looks inside it.
//   - the metadata keyspace: a few named values (node identity, epoch,
//     partition count) that data scans never see.
//
// # What it must not know
//
// Vector clocks, sibling encoding, the ring, preference lists, HTTP, serf.
// A partition is just a uint16 that groups keys so one partition can be
// scanned (for Merkle trees and hand-off) without touching the others.
//
// # On-disk layout
//
//	data: 'd' | partition (uint16, big-endian) | key
//	meta: 'm' | name
//
// The partition prefix is fixed-width, so the prefix of partition 0x00FF
// never matches a key of partition 0x0100, and a prefix scan of one partition
// returns exactly that partition's keys in key order. Neither namespace byte
// can collide with badger's internal "!badger!" prefix. Changing this layout
// requires a migration: existing directories would be misread.
//
// # Concurrency
//
// All methods are safe for concurrent use. Update is a read-modify-write that
// is serialized per key by striped mutexes (keys whose hashes share a stripe
// also wait for each other, which is harmless), so callers never see a
// transaction conflict. Delete takes the same stripe, so it cannot be lost
// between an Update's read and its write. Scan and Count read a snapshot
// taken when they start; writes made during a scan are not seen by it.
// Callbacks may call other Store methods.
//
// Close waits for in-flight calls to return, then closes the database; calls
// made after Close has begun return ErrClosed.
//
// # Durability
//
// With SyncWrites=false (the default) a returned write is in badger's
// write-ahead log and value log, which are memory-mapped files: it survives
// the process being killed (kill -9, panic, OOM kill) but not a power loss or
// kernel crash, which can lose the writes since the last fsync. Sync forces
// them to disk; SyncWrites=true fsyncs every commit. PutMeta and DeleteMeta
// always sync, because the node's identity and epoch must never go backwards.
//
// # Errors
//
// ErrNotFound, ErrClosed, ErrInvalidKey and ErrInvalidOptions are sentinels
// for errors.Is; other errors come from badger or the file system and are
// wrapped with the operation that failed.
package store
