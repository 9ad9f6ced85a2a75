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
// Writes are group-committed (commit.go): an Update reads and runs fn under
// its stripe, then queues its change; changes queued while a batch is being
// committed go to badger together, as one transaction, and each Update
// returns when its batch has committed, with that batch's result. A batch
// is all-or-nothing: if its commit fails, every Update in it returns the
// error and none of its changes is visible. A batch larger than one badger
// transaction may hold is split into several, each all-or-nothing. Delete
// goes through the same path.
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
// them to disk; with SyncWrites=true every commit is synced (msync of the
// write-ahead log and the value log) before any Update in it returns, one
// sync for a whole group-committed batch. PutMeta and DeleteMeta always
// sync, because the node's identity and epoch must never go backwards.
//
// # Background work
//
// Two goroutines run until Close, and both take care not to stop the
// store's readers and writers for long (docs/BENCHMARKS.md, "Tail stalls"):
// value-log GC (gc.go) rewrites at most one file per run, at a random phase
// and jittered interval so replicas holding the same data do not rewrite
// together; and the value-log write-back (writeback.go) writes the file being
// filled back to disk once a second, so badger's msync of a full file, which
// every commit waits for, has little left to write. The write-back is a
// latency measure, not a durability one.
//
// # Disk space
//
// Badger writes its value log, write-ahead log and tables by storing into
// memory-mapped files that it creates sparse: a value-log file is truncated
// to 2×ValueLogFileSize at creation, and a page of it is allocated only when
// first touched. On a full file system the kernel cannot back the touch and
// sends SIGBUS, which kills the process; replay at the next start touches
// the log's next page and dies the same way. (tmpfs even allocates on a
// read of a hole through a shared mapping.)
//
// So the store keeps a free-space floor (Options.MinFreeBytes): a write that
// would leave less free than the floor fails with ErrInsufficientStorage
// before badger sees it. The check costs a clock read: the file system is
// asked (statfs) at most every 100 ms, after 4 MiB of writes, or 10 ms
// before a refusal, and in between every admitted byte is counted twice
// against the cached answer (it lands in a log now and in a table at the
// next flush), so foreground writes cannot overrun the floor between two
// looks. What the floor must cover is what badger writes without passing
// through Update: flushes and compactions (L0 stalls writers at 8 tables
// of at most one memtable, up to 1.5×MemTableSize (spread.go), and
// compaction writes their size again before deleting them) and value-log
// GC (it rewrites at most half a file before deleting it); hence the
// default 12×MemTableSize + ValueLogFileSize.
// Deletes, metadata writes and reads are never refused: deletes and GC are
// how space comes back, and writes resume by themselves once the file
// system has room. Open refuses below half the floor, where badger's own
// writes at open could hit a full file system.
//
// Preallocating the files (fallocate) would make SIGBUS impossible but is
// not done: badger creates and maps them itself, with no hook, and
// reserving 2×ValueLogFileSize per store up front would cost every store
// (in-memory test clusters on tmpfs included) that much at once.
//
// # Damaged files
//
// Before badger opens a directory, Open checks what badger would trust
// (damage.go): the MANIFEST replays to its end, every table it names exists
// and passes all its block checksums, the key registry reads. A marker of
// the store's own (marker.go) says a database lives in the directory, so a
// missing MANIFEST is damage rather than a new store, and after a clean
// Close it records the value-log files' sizes, so a missing or truncated
// one, or a newest one badger cuts short at a bad entry, is damage too.
// Damage fails Open with an error wrapping ErrDamaged that names the file;
// a panic inside badger.Open is returned as such an error. Reads verify
// each table block and value-log entry they load, and a value badger
// cannot read from the value log (which it reports as an empty value) is
// an error wrapping ErrDamaged, never an empty value. A table block that
// goes bad while the store is open still ends a lookup as a miss (badger
// does not report it); the next Open finds it.
//
// # Errors
//
// ErrNotFound, ErrClosed, ErrInvalidKey, ErrInvalidOptions,
// ErrInsufficientStorage and ErrDamaged are sentinels for errors.Is; other
// errors come from badger or the file system and are wrapped with the
// operation that failed.
package store
