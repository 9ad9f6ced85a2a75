package coordinator

import (
	"context"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dynkv/dynkv/bucket"
	"github.com/dynkv/dynkv/node/clock"
	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/node/membership"
	"github.com/dynkv/dynkv/vclock"
)

// Config configures a coordinator.
type Config struct {
	// R and W are the default quorums, 1..N, of a coordinator without
	// Buckets (tests); with Buckets every key's bucket props give them.
	R, W int
	// Buckets returns the bucket table every request reads its key's props
	// from (N, R, W, value cap, default TTL, conflict mode), once per
	// request; nil means every key has the defaults of R, W and the ring's
	// N. It never returns nil.
	Buckets func() *bucket.Table
	// RequestTimeout bounds one request end to end, fan-out included.
	RequestTimeout time.Duration
	// ReadRepairTimeout bounds waiting for stragglers after a read
	// answered, to repair them.
	ReadRepairTimeout time.Duration
	// ReadSpeculateAfter is how long a read waits for the R targets it
	// asked before asking one more; negative asks all N at once.
	ReadSpeculateAfter time.Duration
	// Time drives the speculation and read-repair timers.
	Time   clock.Clock
	Logger *slog.Logger
}

// Peers is what a coordinator needs of the replicas it fans out to; a
// transport.Peers is the one the node uses. Refusals come back as
// *wire.RemoteError; failures to answer as any other error.
type Peers interface {
	Read(ctx context.Context, t membership.Target, key []byte) (vclock.Set, error)
	Mint(ctx context.Context, t membership.Target, req wire.WriteRequest) (wire.WriteResponse, error)
	// Merge sends an encoded wire.MergeRequest, encoded once for all.
	Merge(ctx context.Context, t membership.Target, body []byte) error
	// List asks m for one page of a partition's live keys (list.go).
	List(ctx context.Context, m membership.Member, req wire.ListRequest) (wire.ListResponse, error)
}

// Coordinator runs client requests. Safe for concurrent use.
type Coordinator struct {
	cfg     Config
	log     *slog.Logger
	peers   Peers
	cluster *membership.Tracker

	readRepairs atomic.Int64
	// bgRunning counts the background work in flight (Background).
	bgRunning atomic.Int64

	bgCtx    context.Context
	bgCancel context.CancelFunc
	bg       sync.WaitGroup // replication stragglers and read repair
}

// New returns a coordinator over the cluster's view and the peers.
func New(cfg Config, cluster *membership.Tracker, peers Peers) *Coordinator {
	ctx, cancel := context.WithCancel(context.Background())
	return &Coordinator{cfg: cfg, log: cfg.Logger, peers: peers, cluster: cluster, bgCtx: ctx, bgCancel: cancel}
}

// ReadRepairs counts replicas brought up to date after reads.
func (c *Coordinator) ReadRepairs() int64 { return c.readRepairs.Load() }

// background runs f on its own goroutine with a bounded context, tracked so
// Drain can wait for it.
func (c *Coordinator) background(f func(ctx context.Context)) {
	c.bg.Add(1)
	c.bgRunning.Add(1)
	go func() {
		defer c.bg.Done()
		defer c.bgRunning.Add(-1)
		ctx, cancel := context.WithTimeout(c.bgCtx, c.cfg.RequestTimeout)
		defer cancel()
		f(ctx)
	}()
}

// Background is how many replication stragglers and read repairs are in
// flight: tests wait for 0 before they judge what replicas hold.
func (c *Coordinator) Background() int64 { return c.bgRunning.Load() }

// Drain waits up to timeout for background work, then cancels what is
// left and waits for it to end; a zero timeout cancels at once (a crash).
func (c *Coordinator) Drain(timeout time.Duration) {
	if timeout > 0 {
		done := make(chan struct{})
		go func() { c.bg.Wait(); close(done) }()
		t := c.cfg.Time.NewTimer(timeout)
		select {
		case <-done:
		case <-t.C():
		}
		t.Stop()
	}
	c.bgCancel()
	c.bg.Wait()
}

// table is the bucket table of one request.
func (c *Coordinator) table() *bucket.Table {
	if c.cfg.Buckets != nil {
		return c.cfg.Buckets()
	}
	n := c.cluster.View().Ring.Config().N
	return bucket.NewTable(bucket.Registry{}, bucket.Limits{N: n, R: c.cfg.R, W: c.cfg.W, MaxSiblings: math.MaxInt, MaxValueBytes: math.MaxInt})
}

// propsOf is the effective props of an internal key's bucket, read once
// per request so that a props change applies from the next one.
func (c *Coordinator) propsOf(key []byte) bucket.Props { return c.table().PropsOf(key) }

// source names a target for the quorum core.
func source(t membership.Target) Source { return Source{ID: t.ID, Fallback: t.HintFor != ""} }
