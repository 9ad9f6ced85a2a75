package node

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/dynkv/dynkv/node/clock"
	"github.com/dynkv/dynkv/ring"
)

// Config is one node's configuration. Zero durations and sizes take the
// defaults of DefaultConfig.
type Config struct {
	// NodeID names the node in the cluster; stable across restarts and
	// stored in the data directory, which refuses to open under another ID.
	NodeID string
	// DataDir holds the node's database. Required.
	DataDir string
	// HTTPAddr is where the client API is served, host:port. Port 0 picks
	// a free port (see Node.HTTPAddr).
	HTTPAddr string
	// AdvertiseHTTPAddr is the address peers and clients use to reach this
	// node; default HTTPAddr once bound.
	AdvertiseHTTPAddr string
	// InternodeAddr is where peers' framed internode connections are
	// served, host:port, when HTTPAddr is set. Default: HTTPAddr's host
	// and a free port, which peers learn by gossip, so that no default
	// can collide with another listener (internode.go).
	InternodeAddr string
	// AdvertiseInternodeAddr is the address peers dial for internode
	// traffic; default InternodeAddr once bound, with the advertised
	// HTTP host when InternodeAddr listens on every interface.
	AdvertiseInternodeAddr string

	// Zone is the failure domain the node runs in (rack, availability
	// zone), announced to peers in a gossip tag: every preference list
	// spans min(N, zones) zones (docs/DESIGN.md, "Zones"). Same characters
	// as NodeID, or empty for none; nodes without a zone share one.
	// Changing it moves data, as a join would.
	Zone string

	// Security is who may talk to the node, and how (security.go); the
	// zero value authenticates no one.
	Security Security

	// Ring fixes partitions and N for the cluster's life; the partition
	// count is stored on disk and checked at start.
	Ring ring.Config
	// R and W are the default read and write quorums; 1..N.
	R, W int

	// MaxValueBytes bounds a client value; default 1 MiB.
	MaxValueBytes int
	// MaxSiblings caps the siblings of one key (docs/GUARANTEES.md, G7);
	// default 100.
	MaxSiblings int
	// MaxInternodeBytes bounds an internode message (a whole sibling set);
	// default 64 MiB, or more when MaxValueBytes needs it.
	MaxInternodeBytes int
	// MaxInflightBytes caps the request bodies the node holds at once,
	// client and internode together; past it a client request is answered
	// 503 overloaded before its body is read. MaxInternodeBytes of it is
	// kept for peers, so replication still gets through when clients fill
	// the rest. Default 256 MiB (docs/DESIGN.md, "Memory bounds").
	MaxInflightBytes int
	// RequestTimeout bounds one client request end to end, including the
	// replica fan-out; default 5 s.
	RequestTimeout time.Duration
	// ReadRepairTimeout bounds waiting for the slow replicas after a read
	// answered, to repair them; default 2 s.
	ReadRepairTimeout time.Duration
	// ReadSpeculateAfter is how long a read waits for the R targets it
	// asked before asking one more; default 25 ms. A read asks only R of
	// the N targets (a third of the internode reads at N=3, R=2), so a
	// replica that is slow but not failed would otherwise hold the read up
	// to RequestTimeout. Negative asks all N at once, as Riak does: more
	// traffic, and read repair reaches every replica.
	ReadSpeculateAfter time.Duration
	// ServerIdleTimeout closes idle keep-alive connections; default 60 s.
	ServerIdleTimeout time.Duration
	// ConnectTimeout bounds dialing a peer, so an unreachable replica costs
	// a fraction of RequestTimeout and the next one is still tried; default
	// 1 s.
	ConnectTimeout time.Duration
	// ShutdownDrain is how long a stopping node keeps answering 503
	// shutting_down (and /healthz 503) before it closes its listener;
	// default 0 (tests, dev); serve sets it.
	ShutdownDrain time.Duration

	// SuspectCooldown is how long the coordinator avoids a peer it failed to
	// reach (sending to a fallback instead) before trying it again; default
	// 2 s. Gossip's verdict applies on top.
	SuspectCooldown time.Duration

	// HintInterval is how often hints are offered to their targets; default
	// 1 s; negative disables delivery (tests drive DeliverHintsOnce).
	HintInterval time.Duration
	// HintWindow is how long a hint target may stay down before its hints
	// are handed to another replica of each key (never dropped: a hint may
	// be a write's only copy), from where anti-entropy carries them on;
	// default 3 h. Tombstone grace must exceed it.
	HintWindow time.Duration
	// HintRate caps hints delivered per second (all targets), so a
	// returning node is not flooded; default 500.
	HintRate float64
	// HintConcurrency is how many targets get hints at once; default 2.
	HintConcurrency int

	// AntiEntropyInterval is the pause between two anti-entropy passes over
	// every partition this node replicates; default 30 s; negative disables
	// the background loop (tests drive AntiEntropyOnce).
	AntiEntropyInterval time.Duration
	// AntiEntropyRate caps keys repaired per second, so anti-entropy never
	// starves client traffic; default 1000.
	AntiEntropyRate float64

	// BucketSyncInterval is the pause between two bucket registry sync
	// passes when no membership change prompts one (node/buckets); default
	// 10 s; negative: passes follow membership changes only.
	BucketSyncInterval time.Duration

	// TombstoneGrace is how old (by the deleting replica's clock) a
	// tombstone must be before it can be forgotten, once every replica holds
	// the same one; default 24 h. Keep it well above HintWindow.
	TombstoneGrace time.Duration

	// SyncWrites fsyncs every write (survives power loss); default off,
	// which survives kill -9 (see store).
	SyncWrites bool
	// MemTableBytes and ValueLogFileBytes size the store's memtables and
	// value-log files; zero takes the store's defaults (8 MiB, 64 MiB),
	// sized for 3-5 nodes in one process. Smaller ones open faster and
	// hold less memory (the test clusters use 1 MiB and 4 MiB); a node on
	// a machine of its own may raise them.
	MemTableBytes     int64
	ValueLogFileBytes int64
	// MinFreeDiskBytes is the free-space floor of the file system holding
	// DataDir: a write that would leave less is refused with 507
	// insufficient_storage (reads go on), and the node does not start
	// below half of it. Badger writes through memory-mapped files and dies
	// of SIGBUS on a full file system, so the floor must cover what it
	// writes without asking. Zero takes the store's default, 12×MemTableBytes
	// + ValueLogFileBytes (160 MiB with the defaults; docs/DESIGN.md,
	// "Disk"); negative disables the floor.
	MinFreeDiskBytes int64

	// GossipKeyringFile is serf's keyring file (a JSON array of base64
	// AES keys, mode 0600): gossip is encrypted and authenticated with it,
	// and a node without its key cannot join. Empty gossips in the clear.
	// The membership built for the node reads it (membership.SerfConfig.
	// KeyringFile); GET/POST /admin/keyring manage it (api_keyring.go).
	GossipKeyringFile string

	// Clock is the wall clock: it stamps siblings' Modified times; default
	// time.Now.
	Clock func() time.Time
	// Time measures durations (cool-downs, the hint window), which a wall
	// clock stepped backwards would stretch, and drives every timer and
	// ticker: speculative reads, read repair, the repair loops, the leave
	// backoff, the shutdown drain and the internode silence bound. Default
	// clock.Real(); tests pass a clock.Manual and advance it.
	Time clock.Clock
	// BootID names the operating system's boot; a node keeps its actor
	// across a crash within one boot, when no returned write can have been
	// lost (node/replica/identity.go). Default: Linux's boot id. Tests
	// change it to stand for a power loss.
	BootID func() string
	// Logger receives the node's logs; default slog.Default().
	Logger *slog.Logger
}

// DefaultConfig returns the defaults: N=3, R=2, W=2, 256 partitions.
func DefaultConfig() Config {
	return Config{
		Ring:               ring.DefaultConfig(),
		R:                  2,
		W:                  2,
		MaxValueBytes:      1 << 20,
		MaxSiblings:        100,
		MaxInternodeBytes:  64 << 20,
		MaxInflightBytes:   256 << 20,
		RequestTimeout:     5 * time.Second,
		ReadRepairTimeout:  2 * time.Second,
		ReadSpeculateAfter: 25 * time.Millisecond,
		ServerIdleTimeout:  60 * time.Second,
		ConnectTimeout:     time.Second,
		HTTPAddr:           "127.0.0.1:8080",

		SuspectCooldown:     2 * time.Second,
		HintInterval:        time.Second,
		HintWindow:          3 * time.Hour,
		HintRate:            500,
		HintConcurrency:     2,
		AntiEntropyInterval: 30 * time.Second,
		AntiEntropyRate:     1000,
		BucketSyncInterval:  10 * time.Second,
		TombstoneGrace:      24 * time.Hour,
	}
}

// validNodeID reports whether id is 1-128 of A-Z a-z 0-9 . _ - starting
// with a letter or digit: safe in file names, tags and log lines.
func validNodeID(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for i, c := range []byte(id) {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '_' && c != '-') {
			return false
		}
	}
	return true
}

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Ring == (ring.Config{}) {
		c.Ring = d.Ring
	}
	if c.R == 0 {
		c.R = min(d.R, c.Ring.N)
	}
	if c.W == 0 {
		c.W = min(d.W, c.Ring.N)
	}
	setDefault(&c.MaxValueBytes, d.MaxValueBytes)
	setDefault(&c.MaxSiblings, d.MaxSiblings)
	// A whole sibling set travels in one message: leave room for values
	// near the limit.
	setDefault(&c.MaxInternodeBytes, max(d.MaxInternodeBytes, c.MaxValueBytes+64<<10))
	setDefault(&c.MaxInflightBytes, max(d.MaxInflightBytes, c.MinInflightBytes()))
	setDefault(&c.RequestTimeout, d.RequestTimeout)
	setDefault(&c.ReadRepairTimeout, d.ReadRepairTimeout)
	setDefault(&c.ReadSpeculateAfter, d.ReadSpeculateAfter)
	setDefault(&c.ServerIdleTimeout, d.ServerIdleTimeout)
	setDefault(&c.ConnectTimeout, d.ConnectTimeout)
	setDefault(&c.SuspectCooldown, d.SuspectCooldown)
	setDefault(&c.HintInterval, d.HintInterval)
	setDefault(&c.HintWindow, d.HintWindow)
	setDefault(&c.HintRate, d.HintRate)
	setDefault(&c.HintConcurrency, d.HintConcurrency)
	setDefault(&c.AntiEntropyInterval, d.AntiEntropyInterval)
	setDefault(&c.AntiEntropyRate, d.AntiEntropyRate)
	setDefault(&c.BucketSyncInterval, d.BucketSyncInterval)
	setDefault(&c.TombstoneGrace, d.TombstoneGrace)
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.Time == nil {
		c.Time = clock.Real()
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Validate reports every problem with the configuration at once.
func (c Config) Validate() error {
	var errs []error
	if !validNodeID(c.NodeID) {
		errs = append(errs, fmt.Errorf("node id %q: want 1-128 of A-Z a-z 0-9 . _ - starting with a letter or digit", c.NodeID))
	}
	if c.Zone != "" && !validNodeID(c.Zone) {
		errs = append(errs, fmt.Errorf("zone %q: want 1-128 of A-Z a-z 0-9 . _ - starting with a letter or digit, or none", c.Zone))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("data dir is required"))
	}
	if err := c.Ring.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.R < 1 || c.R > c.Ring.N {
		errs = append(errs, fmt.Errorf("r=%d: want 1..n (%d)", c.R, c.Ring.N))
	}
	if c.W < 1 || c.W > c.Ring.N {
		errs = append(errs, fmt.Errorf("w=%d: want 1..n (%d)", c.W, c.Ring.N))
	}
	for name, a := range map[string]string{"internode addr": c.InternodeAddr, "advertised internode addr": c.AdvertiseInternodeAddr} {
		if _, _, err := net.SplitHostPort(a); a != "" && err != nil {
			errs = append(errs, fmt.Errorf("%s %q: %w", name, a, err))
		}
	}
	errs = append(errs, c.Security.validate(c.NodeID)...)
	if c.MaxValueBytes < 1 {
		errs = append(errs, fmt.Errorf("max value bytes %d: want > 0", c.MaxValueBytes))
	}
	if c.MaxSiblings < 1 {
		errs = append(errs, fmt.Errorf("max siblings %d: want > 0", c.MaxSiblings))
	}
	if c.MaxInternodeBytes < c.MaxValueBytes+64<<10 {
		errs = append(errs, fmt.Errorf("max internode bytes %d: want at least max value bytes + 64 KiB", c.MaxInternodeBytes))
	}
	if c.MaxInflightBytes < c.MinInflightBytes() {
		errs = append(errs, fmt.Errorf("max inflight bytes %d: want at least max internode bytes + max value bytes + 64 KiB (%d)", c.MaxInflightBytes, c.MinInflightBytes()))
	}
	return errors.Join(errs...)
}
