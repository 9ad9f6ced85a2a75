package store

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// Options configures a Store. The zero value of every tuning field selects a
// default sized so that 3–5 stores fit comfortably in one process (dynkv dev,
// multi-node tests); a dedicated production node may raise the sizes.
type Options struct {
	// Dir is the data directory, created if missing. Required unless
	// InMemory; must be empty when InMemory. One Store per directory: badger
	// locks it, and a second Open of the same Dir fails.
	Dir string

	// InMemory keeps everything in RAM and nothing on disk; Close loses the
	// data. For tests only. There is no value log in this mode, so values
	// stay in the LSM tree and ValueThreshold is raised to badger's maximum
	// (1 MiB, or 15% of MemTableSize if lower; larger values are rejected);
	// value-log GC does not run.
	InMemory bool

	// SyncWrites fsyncs every commit. Default false: a returned write then
	// survives a process kill (badger writes into memory-mapped files) but
	// not a power loss or kernel crash. True costs a disk flush per write.
	// PutMeta and DeleteMeta sync regardless.
	SyncWrites bool

	// Logger receives badger's log lines at DEBUG, INFO, WARN and ERROR,
	// with the attribute component=badger, and this package's own warnings
	// (failed value-log GC). Nil discards them.
	Logger *slog.Logger

	// MemTableSize is the size of one memtable in bytes. Default 8 MiB
	// (badger: 64 MiB). Each data directory runs at its own scale of it,
	// between 1 and 1.5, drawn when the directory is made, so replicas
	// holding the same data do not flush at the same moment (spread.go).
	// Two are kept (one active, one flushing), so this bounds unflushed
	// writes per store at about 3×MemTableSize. Larger
	// memtables mean fewer, larger L0 tables and more memory.
	MemTableSize int64

	// BlockCacheSize is the cache of decompressed table blocks, in bytes.
	// Default 8 MiB (badger: 256 MiB). Must be > 0 because tables are
	// Snappy-compressed. With the low ValueThreshold the LSM tree holds
	// only keys and value pointers, so a small cache covers much of it.
	BlockCacheSize int64

	// IndexCacheSize caps the memory for table indexes and Bloom filters, in
	// bytes. Default 8 MiB (badger: 0, meaning every index stays in memory,
	// which grows with the data).
	IndexCacheSize int64

	// ValueThreshold is the value size, in bytes, from which values go to
	// the value log instead of the LSM tree. Default 1 KiB (badger: 1 MiB).
	// Keeping values out of the LSM tree is the biggest memory saving:
	// flushes and compactions then move keys and pointers, not values.
	// The price is value-log garbage collection (see GCInterval). Must not
	// exceed 15% of MemTableSize (a badger limit). Ignored when InMemory.
	ValueThreshold int64

	// ValueLogFileSize is the size of one value-log file in bytes. Default
	// 64 MiB (badger: 1 GiB). GC rewrites whole files and never the one
	// being written, so smaller files let GC reclaim space sooner and in
	// smaller steps. Range 1 MiB to 2 GiB-1.
	ValueLogFileSize int64

	// NumCompactors is the number of concurrent compaction goroutines.
	// Default 2 (badger: 4), the minimum badger allows besides 0.
	NumCompactors int

	// GCInterval is how often value-log GC runs, on average. Default 1
	// minute; a negative value disables it. Each run rewrites at most one
	// value-log file that is at least half garbage, and runs again sooner
	// when it did; the first run comes at a random point of the first
	// interval and each later one is jittered, so replicas do not all
	// rewrite at once (gc.go). When nothing qualifies a run is cheap.
	// Badger counts a value as garbage only once a compaction has dropped
	// the old version of its key, and never rewrites the file being
	// written, so space from recent overwrites comes back only after later
	// writes have pushed them through compaction.
	GCInterval time.Duration

	// WriteBackInterval is how often the value-log file being written is
	// written back to disk. Default 1 second; a negative value disables it;
	// ignored when InMemory or SyncWrites (nothing is left to write back).
	// It changes no durability promise: it keeps the file's dirty pages few,
	// so that badger's msync of a full file does not stop every read and
	// write of the store for tens of milliseconds (writeback.go).
	WriteBackInterval time.Duration

	// MinFreeBytes is the free-space floor: a write that would leave less
	// free space than this on the file system holding Dir is refused,
	// wrapping ErrInsufficientStorage, and Open refuses below half of it.
	// Reads, deletes and metadata writes are never refused. Default (0):
	// 12×MemTableSize + ValueLogFileSize, 160 MiB with the default sizes,
	// which covers what badger writes without asking (see doc.go, "Disk
	// space"); negative disables the floor. Ignored when InMemory.
	MinFreeBytes int64

	// statfs replaces the file system's free-space query in tests.
	statfs func(dir string) (free, total int64, err error)
}

// ErrInvalidOptions is wrapped by Open's error for unusable Options.
var ErrInvalidOptions = errors.New("store: invalid options")

// Defaults for zero Options fields; see the field comments for the reasons.
const (
	defaultMemTableSize     = 8 << 20
	defaultBlockCacheSize   = 8 << 20
	defaultIndexCacheSize   = 8 << 20
	defaultValueThreshold   = 1 << 10
	defaultValueLogFileSize = 64 << 20
	defaultNumCompactors    = 2
	defaultGCInterval       = time.Minute
	defaultWriteBack        = time.Second

	// gcDiscardRatio is the fraction of a value-log file that must be
	// garbage before GC rewrites it. Badger recommends 0.5: lifetime
	// write amplification of the value log is then at most 2.
	gcDiscardRatio = 0.5

	// badgerMaxValueThreshold is badger's upper bound for ValueThreshold.
	badgerMaxValueThreshold = 1 << 20
)

// DefaultMinFreeBytes is the free-space floor of a store of the default
// sizes.
const DefaultMinFreeBytes = 8*maxMemTableScale*defaultMemTableSize + defaultValueLogFileSize

// MinFreeBytesFor is the default free-space floor of a store with these
// sizes: the most badger writes without passing the floor's check. L0
// stalls writers at 8 tables of at most one memtable each (a memtable is up
// to maxMemTableScale times MemTableSize, spread.go), and compacting
// them into L1 writes their size again before it deletes them; value-log
// GC rewrites at most half a file (gcDiscardRatio) before it deletes the
// file, and the active file grows by writes admitted since the last check.
func MinFreeBytesFor(memTableSize, valueLogFileSize int64) int64 {
	return int64(8*maxMemTableScale*float64(memTableSize)) + valueLogFileSize
}

// withDefaults returns o with every zero tuning field set to its default.
func (o Options) withDefaults() Options {
	if o.MemTableSize == 0 {
		o.MemTableSize = defaultMemTableSize
	}
	if o.BlockCacheSize == 0 {
		o.BlockCacheSize = defaultBlockCacheSize
	}
	if o.IndexCacheSize == 0 {
		o.IndexCacheSize = defaultIndexCacheSize
	}
	if o.ValueThreshold == 0 {
		o.ValueThreshold = defaultValueThreshold
	}
	if o.ValueLogFileSize == 0 {
		o.ValueLogFileSize = defaultValueLogFileSize
	}
	if o.NumCompactors == 0 {
		o.NumCompactors = defaultNumCompactors
	}
	if o.GCInterval == 0 {
		o.GCInterval = defaultGCInterval
	}
	if o.WriteBackInterval == 0 {
		o.WriteBackInterval = defaultWriteBack
	}
	if o.MinFreeBytes == 0 {
		o.MinFreeBytes = MinFreeBytesFor(o.MemTableSize, o.ValueLogFileSize)
	}
	return o
}

// validate reports the first problem with o, which must have defaults
// applied. It checks what badger would otherwise panic on or report less
// clearly.
func (o Options) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidOptions, fmt.Sprintf(format, args...))
	}
	switch {
	case o.InMemory && o.Dir != "":
		return bad("Dir must be empty when InMemory")
	case !o.InMemory && o.Dir == "":
		return bad("Dir is required")
	case o.MemTableSize < 1<<20:
		return bad("MemTableSize %d is below 1 MiB", o.MemTableSize)
	case o.BlockCacheSize < 0:
		return bad("BlockCacheSize %d is negative", o.BlockCacheSize)
	case o.IndexCacheSize < 0:
		return bad("IndexCacheSize %d is negative", o.IndexCacheSize)
	case o.ValueThreshold < 0 || o.ValueThreshold > badgerMaxValueThreshold:
		return bad("ValueThreshold %d is outside 1..%d", o.ValueThreshold, badgerMaxValueThreshold)
	case !o.InMemory && o.ValueThreshold > o.MemTableSize*15/100:
		return bad("ValueThreshold %d exceeds 15%% of MemTableSize %d", o.ValueThreshold, o.MemTableSize)
	case o.ValueLogFileSize < 1<<20 || o.ValueLogFileSize >= 2<<30:
		return bad("ValueLogFileSize %d is outside 1 MiB..2 GiB-1", o.ValueLogFileSize)
	case o.NumCompactors < 2:
		return bad("NumCompactors %d is below 2", o.NumCompactors)
	}
	return nil
}

// badgerOptions translates o (defaults applied, validated) for badger.
func (o Options) badgerOptions() badger.Options {
	bo := badger.DefaultOptions(o.Dir).
		WithInMemory(o.InMemory).
		WithSyncWrites(o.SyncWrites).
		WithLogger(nil).
		WithMemTableSize(o.MemTableSize).
		WithNumMemtables(2).
		// Flush L0 to L1 early and stall writers at 8 L0 tables rather than
		// 15: each L0 table is a full memtable, and compaction buffers grow
		// with the number of tables merged at once.
		WithNumLevelZeroTables(2).
		WithNumLevelZeroTablesStall(8).
		WithBlockCacheSize(o.BlockCacheSize).
		WithIndexCacheSize(o.IndexCacheSize).
		WithValueThreshold(o.ValueThreshold).
		WithValueLogFileSize(o.ValueLogFileSize).
		WithNumCompactors(o.NumCompactors).
		// Badger's metrics are process-wide expvars keyed by directory; with
		// several stores per process they only cost memory and CPU.
		WithMetricsEnabled(false).
		// Conflict detection could never fire: it fails a transaction
		// whose reads were overwritten after its read timestamp, and the
		// store's writes are write-only transactions (group commit,
		// commit.go) whose read-modify-write happened before, under the
		// key's stripe, against a read that badger made wait for every
		// earlier commit. It would only cost a map per transaction and a
		// list of committed ones.
		WithDetectConflicts(false).
		// A damaged block must fail its read rather than be decoded as
		// data; whole tables are verified before badger opens them
		// (damage.go). Value-log reads check each entry's CRC, without
		// which a damaged value is returned as if it were stored.
		WithChecksumVerificationMode(options.OnBlockRead).
		WithVerifyValueChecksum(true)
	if o.InMemory {
		// No value log: every value must fit the LSM tree, up to the
		// largest threshold badger accepts for this memtable size.
		bo = bo.WithDir("").WithValueDir("").WithValueThreshold(min(badgerMaxValueThreshold, o.MemTableSize*15/100))
	}
	if o.Logger != nil {
		bo = bo.WithLogger(slogAdapter{o.Logger.With("component", "badger")})
	}
	return bo
}
