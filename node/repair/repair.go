package repair

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/dynkv/dynkv/bucket"
	"github.com/dynkv/dynkv/node/clock"
	"github.com/dynkv/dynkv/node/membership"
	"github.com/dynkv/dynkv/node/replica"
	"github.com/dynkv/dynkv/node/transport"
)

// Config configures the repair work of one node.
type Config struct {
	Self       string
	Partitions int
	// HintInterval is how often hints are offered to their targets;
	// negative disables the loop (tests call DeliverHintsOnce).
	HintInterval time.Duration
	// AntiEntropyInterval is the pause between two passes of anti-entropy,
	// handoff and reaping; negative disables the loop.
	AntiEntropyInterval time.Duration
	// AntiEntropyRate caps keys repaired per second.
	AntiEntropyRate float64
	// TombstoneGrace is how old a tombstone must be before it is reaped.
	TombstoneGrace time.Duration
	// Wall stamps and judges tombstones' ages; Time drives the loops.
	Wall   func() time.Time
	Time   clock.Clock
	Logger *slog.Logger
	// Buckets returns the node's current bucket table, read once per pass:
	// a key's replicas are the first N of its partition's walk, N its
	// bucket's (classes.go). It must not be nil nor return nil.
	Buckets func() *bucket.Table
}

// Announcer is what a leave needs of membership: to tell every member, and
// then to go.
type Announcer interface {
	SetTag(key, value string) error
	Leave() error
}

// Repair drives one node's repair work. Safe for concurrent use.
type Repair struct {
	cfg       Config
	log       *slog.Logger
	replica   *replica.Replica
	peers     *transport.Peers
	cluster   *membership.Tracker
	announcer Announcer
	limiter   *rate.Limiter

	handoffs handoffs
	leaving  atomic.Bool // Leave was called: this node hands everything off
	left     atomic.Bool

	stats Stats

	ctx     context.Context
	cancel  context.CancelFunc
	mu      sync.Mutex // orders goLoop's Add before Stop's Wait
	stopped bool
	loops   sync.WaitGroup
}

// Stats are cumulative counters since the node started (metrics).
type Stats struct {
	ExchangesInSync   atomic.Int64
	ExchangesRepaired atomic.Int64
	ExchangesFailed   atomic.Int64
	KeysRepaired      atomic.Int64
	KeyFailures       atomic.Int64 // keys anti-entropy could not repair
	BytesSent         atomic.Int64
	TombstonesReaped  atomic.Int64
	HandoffKeys       atomic.Int64
	// LastExchange is when the last exchange ended (Unix ms; 0: none yet),
	// whatever its result: an operator asks whether anti-entropy runs.
	LastExchange atomic.Int64
}

// New returns the repair work of a node; Start runs its loops.
func New(cfg Config, r *replica.Replica, peers *transport.Peers, cluster *membership.Tracker, a Announcer) *Repair {
	ctx, cancel := context.WithCancel(context.Background())
	return &Repair{
		cfg: cfg, log: cfg.Logger, replica: r, peers: peers, cluster: cluster, announcer: a,
		limiter: rate.NewLimiter(rate.Limit(cfg.AntiEntropyRate), max(1, int(cfg.AntiEntropyRate/100))),
		ctx:     ctx, cancel: cancel,
	}
}

// Stats is the live counters.
func (rp *Repair) Stats() *Stats { return &rp.stats }

// Stop ends every loop and pass in progress, and starts no more; Wait
// waits for them.
func (rp *Repair) Stop() {
	rp.mu.Lock()
	rp.stopped = true
	rp.mu.Unlock()
	rp.cancel()
}

// Wait returns once every goroutine Start, SyncTrees or Leave began has
// ended (after Stop).
func (rp *Repair) Wait() { rp.loops.Wait() }

// goLoop runs f on a tracked goroutine unless stopped.
func (rp *Repair) goLoop(f func(ctx context.Context)) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if rp.stopped {
		return
	}
	rp.loops.Add(1)
	go func() {
		defer rp.loops.Done()
		f(rp.ctx)
	}()
}

// Start runs the background loops: hint delivery every HintInterval; and,
// every AntiEntropyInterval after the previous pass ended, anti-entropy,
// handoff and reaping.
func (rp *Repair) Start() {
	if rp.cfg.HintInterval > 0 {
		rp.goLoop(rp.hintLoop)
	}
	if rp.cfg.AntiEntropyInterval > 0 {
		rp.goLoop(rp.antiEntropyLoop)
	}
	rp.resumeLeave()
}

func (rp *Repair) hintLoop(ctx context.Context) {
	t := rp.cfg.Time.NewTicker(rp.cfg.HintInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		if err := rp.DeliverHintsOnce(ctx); err != nil && ctx.Err() == nil {
			rp.log.Debug("hint delivery pass incomplete", "err", err)
		}
	}
}

func (rp *Repair) antiEntropyLoop(ctx context.Context) {
	// A timer re-armed after each pass, not a ticker: a pass slower than
	// the interval must not be followed by another at once.
	t := rp.cfg.Time.NewTimer(rp.cfg.AntiEntropyInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		if st, err := rp.AntiEntropyOnce(ctx); err != nil && ctx.Err() == nil {
			rp.log.Debug("anti-entropy pass incomplete", "err", err, "repaired", st.KeysRepaired)
		}
		if _, err := rp.HandoffOnce(ctx); err != nil && ctx.Err() == nil {
			rp.log.Debug("handoff pass incomplete", "err", err)
		}
		if _, err := rp.ReapTombstonesOnce(ctx); err != nil && ctx.Err() == nil {
			rp.log.Debug("tombstone reaping incomplete", "err", err)
		}
		t.Reset(rp.cfg.AntiEntropyInterval)
	}
}

// SyncTrees follows a ring change: the trees this node now keeps (one per
// partition and class it replicates, classes.go) get built in the
// background, the others are forgotten.
func (rp *Repair) SyncTrees(v *membership.View) {
	build, err := rp.replica.Track(rp.wantedTrees(v, rp.cfg.Buckets()))
	if err != nil {
		rp.log.Error("cannot track partitions for anti-entropy", "err", err)
		return
	}
	if len(build) > 0 {
		rp.goLoop(func(ctx context.Context) { rp.replica.BuildTrees(ctx, build) })
	}
}
