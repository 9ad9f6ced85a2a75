package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
	"golang.org/x/time/rate"

	"github.com/dynkv/dynkv/hinted"
	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/node/membership"
	"github.com/dynkv/dynkv/node/replica"
	"github.com/dynkv/dynkv/node/transport"
)

// Deps are a node's edges to the world; tests swap them.
type Deps struct {
	// membership.Membership is required.
	Membership membership.Membership
	// Transport carries internode requests; default HTTP.
	Transport transport.Transport
}

// Node is one dynkv server: a replica of its partitions, a coordinator for
// any request, and the HTTP API.
type Node struct {
	cfg        Config
	log        *slog.Logger
	replica    *replica.Replica
	transport  transport.Transport
	peers      *transport.Peers
	membership membership.Membership
	cluster    *membership.Tracker
	metrics    *metrics

	handoff handoffs
	leaving atomic.Bool // Leave was called: this node hands everything off
	left    atomic.Bool

	hintDownMu    sync.Mutex
	hintDownSince map[string]time.Time // hint targets found down, since when
	aeLimiter     *rate.Limiter

	server   *fasthttp.Server
	conns    *connTracker
	listener net.Listener
	httpAddr string

	bgCtx    context.Context
	bgCancel context.CancelFunc
	bg       sync.WaitGroup // replication, read repair: bounded work

	loopCtx    context.Context
	loopCancel context.CancelFunc
	loops      sync.WaitGroup // timers and tree builds: run until cancelled
	closing    atomic.Bool
	closed     chan struct{}
	closeMu    sync.Mutex
	drainCut   chan struct{} // closed to end the shutdown drain early
	cutOnce    sync.Once
}

// Open validates cfg, opens the data directory and binds the HTTP listener
// (if cfg.HTTPAddr is set); Start begins serving.
func Open(cfg Config, deps Deps) (*Node, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid configuration: %w", err)
	}
	if deps.Membership == nil {
		return nil, errors.New("node needs a membership")
	}
	n := &Node{
		cfg:        cfg,
		log:        cfg.Logger.With("node", cfg.NodeID),
		membership: deps.Membership,
		transport:  deps.Transport,
		closed:     make(chan struct{}),
		drainCut:   make(chan struct{}),
	}
	var err error
	n.cluster, err = membership.NewTracker(membership.TrackerConfig{
		Self: cfg.NodeID, Ring: cfg.Ring, Source: deps.Membership,
		Health:   membership.NewHealth(cfg.Monotonic, cfg.SuspectCooldown),
		Draining: n.closing.Load, Logger: n.log, OnChange: n.viewChanged,
	})
	if err != nil {
		return nil, fmt.Errorf("ring: %w", err)
	}
	n.metrics = newMetrics(n)

	if n.replica, err = replica.Open(replica.Config{
		NodeID: cfg.NodeID, DataDir: cfg.DataDir, Partitions: cfg.Ring.Partitions, SyncWrites: cfg.SyncWrites,
		MaxValueBytes: cfg.MaxValueBytes, MaxSiblings: cfg.MaxSiblings, Clock: cfg.Clock, Logger: n.log,
		Hints: hinted.Config{
			// The queue never drops a hint on its own: a hint may be the
			// only copy of an acknowledged write (W met by fallbacks
			// alone). Past HintWindow the node hands it to another replica
			// instead (see redirectStaleHints), and anti-entropy carries it on.
			Window:      100 * 365 * 24 * time.Hour,
			Rate:        cfg.HintRate,
			Concurrency: cfg.HintConcurrency,
			Timeout:     cfg.RequestTimeout,
			Logger:      n.log.With("component", "hints"),
		},
	}); err != nil {
		return nil, err
	}
	n.aeLimiter = rate.NewLimiter(rate.Limit(cfg.AntiEntropyRate), max(1, int(cfg.AntiEntropyRate/100)))
	n.hintDownSince = map[string]time.Time{}
	n.metrics.reg.MustRegister(hintCollector{n})
	if cfg.HTTPAddr != "" {
		if n.listener, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
			n.replica.Kill()
			return nil, fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
		}
		n.httpAddr = n.listener.Addr().String()
	}
	if cfg.AdvertiseHTTPAddr != "" {
		n.httpAddr = cfg.AdvertiseHTTPAddr
	}
	if n.transport == nil {
		n.transport = transport.NewHTTPTransport(cfg.ServerIdleTimeout, cfg.ConnectTimeout, 1024, cfg.MaxInternodeBytes)
	}
	n.peers = transport.NewPeers(transport.PeersConfig{
		Self: cfg.NodeID, Local: n.replica, Transport: n.transport,
		Health: n.cluster.Health(), Observe: n.metrics.observeInternode,
	})
	n.bgCtx, n.bgCancel = context.WithCancel(context.Background())
	n.loopCtx, n.loopCancel = context.WithCancel(context.Background())
	return n, nil
}

// HTTPAddr is the address clients and peers reach this node at.
func (n *Node) HTTPAddr() string { return n.httpAddr }

// ID is the node's ID.
func (n *Node) ID() string { return n.cfg.NodeID }

// Actor is the name this incarnation's dots carry.
func (n *Node) Actor() string { return n.replica.Actor() }

// Start joins membership and then serves HTTP (if listening), so that a
// healthy /healthz means the node is also gossiping.
func (n *Node) Start() error {
	if err := n.membership.Start(membership.Member{ID: n.cfg.NodeID, HTTPAddr: n.httpAddr}, n.cluster.Rebuild); err != nil {
		return fmt.Errorf("membership: %w", err)
	}
	n.cluster.Rebuild()
	n.runLoops()
	n.resumeLeave()
	if n.listener != nil {
		n.conns = newConnTracker()
		n.server = n.newHTTPServer()
		go func() {
			if err := n.server.Serve(n.listener); err != nil {
				n.log.Error("http server stopped", "err", err)
			}
		}()
	}
	n.log.Info("node started", "http", n.httpAddr, "actor", n.replica.Actor(),
		"partitions", n.cfg.Ring.Partitions, "n", n.cfg.Ring.N, "r", n.cfg.R, "w", n.cfg.W)
	return nil
}

// Members is this node's current view of the cluster, sorted by ID.
func (n *Node) Members() []membership.Member { return slices.Clone(n.cluster.View().List) }

// viewChanged follows every new view: the metrics, and the trees of the
// partitions this node replicates when the ring moved.
func (n *Node) viewChanged(v *membership.View, ringChanged bool) {
	n.metrics.setMembers(v.List)
	if ringChanged {
		n.syncTrees()
	}
}

// background runs f on its own goroutine with a bounded context, tracked so
// Close can wait for it.
func (n *Node) background(f func(ctx context.Context)) {
	n.bg.Add(1)
	go func() {
		defer n.bg.Done()
		ctx, cancel := context.WithTimeout(n.bgCtx, n.cfg.RequestTimeout)
		defer cancel()
		f(ctx)
	}()
}

// Close shuts the node down without leaving the cluster: it stops taking
// requests, finishes in-flight ones, waits for background replication, and
// records a clean shutdown so the next start keeps this incarnation.
func (n *Node) Close() error {
	n.closeMu.Lock()
	defer n.closeMu.Unlock()
	select {
	case <-n.closed:
		return nil
	default:
	}
	defer close(n.closed)
	var errs []error
	// New client requests are refused from here with 503 shutting_down,
	// which clients safely retry elsewhere; requests in flight finish. The
	// listener stays open for the drain period so that whatever routes to
	// this node (a proxy, a load balancer watching /healthz) learns it is
	// going instead of having connections reset.
	n.closing.Store(true)
	n.replica.Drain()
	n.loopCancel()
	if n.listener != nil && n.cfg.ShutdownDrain > 0 {
		t := time.NewTimer(n.cfg.ShutdownDrain)
		select {
		case <-t.C:
		case <-n.drainCut:
			t.Stop()
		}
	}
	if n.listener != nil {
		n.listener.Close()
	}
	if n.server != nil {
		n.conns.drain(n.cfg.RequestTimeout)
	}
	n.loops.Wait()
	waitTimeout(&n.bg, n.cfg.RequestTimeout)
	n.bgCancel()
	n.bg.Wait()
	if err := n.membership.Close(); err != nil {
		errs = append(errs, fmt.Errorf("membership: %w", err))
	}
	if err := n.transport.Close(); err != nil {
		errs = append(errs, fmt.Errorf("transport: %w", err))
	}
	if err := n.replica.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close replica: %w", err))
	}
	n.log.Info("node stopped")
	return errors.Join(errs...)
}

// endDrain ends a shutdown's drain period now (or the next one at once).
func (n *Node) endDrain() { n.cutOnce.Do(func() { close(n.drainCut) }) }

// Kill stops the node abruptly for crash tests: nothing is flushed or marked
// clean beyond what the store already holds.
func (n *Node) Kill() {
	n.closeMu.Lock()
	defer n.closeMu.Unlock()
	select {
	case <-n.closed:
		return
	default:
	}
	close(n.closed)
	n.closing.Store(true)
	n.replica.Drain()
	n.loopCancel()
	if n.listener != nil {
		n.listener.Close()
	}
	if n.conns != nil {
		n.conns.drain(0)
	}
	n.bgCancel()
	n.bg.Wait()
	n.loops.Wait()
	n.membership.Close()
	n.replica.Kill()
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// HandleInternode implements transport.Handler: the replica answers peers.
func (n *Node) HandleInternode(ctx context.Context, op wire.Op, body []byte) ([]byte, error) {
	return n.replica.HandleInternode(ctx, op, body)
}
