package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dynkv/dynkv/bucket"

	"github.com/valyala/fasthttp"

	"github.com/dynkv/dynkv/hinted"
	"github.com/dynkv/dynkv/node/buckets"
	"github.com/dynkv/dynkv/node/coordinator"
	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/node/membership"
	"github.com/dynkv/dynkv/node/repair"
	"github.com/dynkv/dynkv/node/replica"
	"github.com/dynkv/dynkv/node/transport"
)

// Deps are a node's edges to the world; tests swap them.
type Deps struct {
	// Membership is required.
	Membership membership.Membership
	// Transport carries internode requests; default HTTP.
	Transport transport.Transport
}

// Node is one dynkv server: its parts wired together, their lifecycle, and
// the HTTP face (api.go).
type Node struct {
	cfg        Config
	log        *slog.Logger
	membership membership.Membership
	cluster    *membership.Tracker
	replica    *replica.Replica
	transport  transport.Transport
	peers      *transport.Peers
	coord      *coordinator.Coordinator
	repair     *repair.Repair
	metrics    *metrics
	ops        *opStats
	started    time.Time // this run's start: its incarnation
	// tables holds the bucket table (buckets.go); nil until the first
	// registry is applied, which reads as the defaults.
	tables atomic.Pointer[bucket.Table]
	// buckets keeps the registry the tables are resolved from, in step
	// with the peers' (node/buckets).
	buckets *buckets.Manager

	server   *fasthttp.Server
	admit    *admission // set by Start, with the server
	conns    *connTracker
	listener net.Listener
	httpAddr string

	internodeListener net.Listener
	internodeAddr     string
	framed            *transport.FramedServer

	closing  atomic.Bool
	closed   chan struct{}
	closeMu  sync.Mutex
	drainCut chan struct{} // closed to end the shutdown drain early
	cutOnce  sync.Once
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
		Health:   membership.NewHealth(cfg.Time.Now, cfg.SuspectCooldown),
		Draining: n.closing.Load, Logger: n.log, OnChange: n.viewChanged,
	})
	if err != nil {
		return nil, fmt.Errorf("ring: %w", err)
	}
	n.metrics = newMetrics(n)
	n.ops = newOpStats(cfg.Time.Now)
	n.started = cfg.Clock()
	if n.replica, err = replica.Open(n.replicaConfig()); err != nil {
		return nil, err
	}
	if err := n.listen(); err != nil {
		n.replica.Kill()
		return nil, err
	}
	n.wire()
	if err := n.openBuckets(); err != nil {
		n.abandonOpen()
		return nil, err
	}
	return n, nil
}

// abandonOpen undoes an Open that failed after the parts were wired.
func (n *Node) abandonOpen() {
	for _, ln := range []net.Listener{n.listener, n.internodeListener} {
		if ln != nil {
			ln.Close()
		}
	}
	n.transport.Close()
	n.replica.Kill()
}

func (n *Node) replicaConfig() replica.Config {
	cfg := n.cfg
	return replica.Config{
		NodeID: cfg.NodeID, DataDir: cfg.DataDir, Partitions: cfg.Ring.Partitions, SyncWrites: cfg.SyncWrites,
		MemTableBytes: cfg.MemTableBytes, ValueLogFileBytes: cfg.ValueLogFileBytes, MinFreeBytes: cfg.MinFreeDiskBytes,
		MaxValueBytes: cfg.MaxValueBytes, MaxSiblings: cfg.MaxSiblings, Clock: cfg.Clock, BootID: cfg.BootID, Logger: n.log,
		Buckets: n.bucketTable,
		Hints: hinted.Config{
			Window:      cfg.HintWindow,
			Monotonic:   cfg.Time.Now,
			Rate:        cfg.HintRate,
			Concurrency: cfg.HintConcurrency,
			Timeout:     cfg.RequestTimeout,
			Logger:      n.log.With("component", "hints"),
		},
	}
}

// listen binds the HTTP listener, if there is to be one.
func (n *Node) listen() error {
	if n.cfg.HTTPAddr != "" {
		var err error
		if n.listener, err = net.Listen("tcp", n.cfg.HTTPAddr); err != nil {
			return fmt.Errorf("listen on %s: %w", n.cfg.HTTPAddr, err)
		}
		n.httpAddr = n.listener.Addr().String()
	}
	if n.cfg.AdvertiseHTTPAddr != "" {
		n.httpAddr = n.cfg.AdvertiseHTTPAddr
	}
	if n.listener != nil {
		if err := n.listenInternode(); err != nil {
			n.listener.Close()
			return err
		}
	}
	return nil
}

// wire connects the parts: peers over the transport, the coordinator and
// the repair work over the peers.
func (n *Node) wire() {
	cfg := n.cfg
	if n.transport == nil {
		n.transport = transport.NewFramedTransport(transport.FramedConfig{
			ConnectTimeout: cfg.ConnectTimeout, IdleTimeout: cfg.ServerIdleTimeout,
			MaxPending: 1024, MaxFrame: cfg.MaxInternodeBytes, Time: cfg.Time,
			TLS: cfg.Security.internodeClientTLS(),
		})
	}
	n.peers = transport.NewPeers(transport.PeersConfig{
		Self: cfg.NodeID, Local: n.replica, Transport: n.transport,
		Health: n.cluster.Health(), Observe: n.metrics.observeInternode,
	})
	n.coord = coordinator.New(coordinator.Config{
		R: cfg.R, W: cfg.W, RequestTimeout: cfg.RequestTimeout, ReadRepairTimeout: cfg.ReadRepairTimeout,
		ReadSpeculateAfter: cfg.ReadSpeculateAfter, Time: cfg.Time, Logger: n.log,
		Buckets: n.bucketTable,
	}, n.cluster, n.peers)
	n.repair = repair.New(repair.Config{
		Self: cfg.NodeID, Partitions: cfg.Ring.Partitions,
		HintInterval: cfg.HintInterval, AntiEntropyInterval: cfg.AntiEntropyInterval,
		AntiEntropyRate: cfg.AntiEntropyRate, TombstoneGrace: cfg.TombstoneGrace,
		Wall: cfg.Clock, Time: cfg.Time, Logger: n.log, Buckets: n.bucketTable,
	}, n.replica, n.peers, n.cluster, n.membership)
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
	self := membership.Member{ID: n.cfg.NodeID, HTTPAddr: n.httpAddr, InternodeAddr: n.internodeAddr, Tags: n.selfTags()}
	if err := n.membership.Start(self, n.cluster.Rebuild); err != nil {
		return fmt.Errorf("membership: %w", err)
	}
	n.cluster.Rebuild()
	n.repair.Start()
	n.buckets.Start(self.Tags[membership.TagBuckets])
	if n.listener != nil {
		n.conns = newConnTracker(n.cfg.Time)
		n.server = n.newHTTPServer()
		n.serveInternode()
		go func() {
			if err := n.server.Serve(n.cfg.Security.clientListener(n.listener)); err != nil {
				n.log.Error("http server stopped", "err", err)
			}
		}()
	}
	n.log.Info("node started", "http", n.httpAddr, "internode", n.internodeAddr, "actor", n.replica.Actor(),
		"partitions", n.cfg.Ring.Partitions, "n", n.cfg.Ring.N, "r", n.cfg.R, "w", n.cfg.W)
	return nil
}

// selfTags are the tags the node starts gossiping with: its zone, if any.
func (n *Node) selfTags() map[string]string {
	// Tags share serf's 512-byte budget (node/buckets_test.go checks the
	// worst case fits).
	tags := map[string]string{
		membership.TagIncarnation: strconv.FormatInt(n.started.UnixMilli(), 10),
		membership.TagBuckets:     n.buckets.Digest(),
	}
	if n.cfg.Zone != "" {
		tags[membership.TagZone] = n.cfg.Zone
	}
	return tags
}

// viewChanged follows every new view: the metrics, and the trees of the
// partitions this node replicates when the ring moved.
func (n *Node) viewChanged(v *membership.View, ringChanged bool) {
	n.metrics.setMembers(v.List)
	if n.buckets != nil {
		n.buckets.Poke() // a peer's digest may have changed
	}
	if ringChanged {
		n.repair.SyncTrees(v)
	}
}

// stopTaking makes the node refuse new work: clients and peers get 503
// shutting_down, which they safely retry elsewhere.
func (n *Node) stopTaking() {
	n.closing.Store(true)
	n.replica.Drain()
	n.repair.Stop()
	n.buckets.Stop()
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
	// The listener stays open for the drain period so that whatever routes
	// to this node (a proxy, a load balancer watching /healthz) learns it
	// is going instead of having connections reset.
	n.stopTaking()
	if n.listener != nil && n.cfg.ShutdownDrain > 0 {
		t := n.cfg.Time.NewTimer(n.cfg.ShutdownDrain)
		select {
		case <-t.C():
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
	n.closeInternode()
	n.repair.Wait()
	n.buckets.Wait()
	n.coord.Drain(n.cfg.RequestTimeout)
	var errs []error
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
	n.stopTaking()
	if n.listener != nil {
		n.listener.Close()
	}
	if n.conns != nil {
		n.conns.drain(0)
	}
	n.closeInternode()
	n.coord.Drain(0)
	n.repair.Wait()
	n.buckets.Wait()
	n.membership.Close()
	n.replica.Kill()
}

// HandleInternode implements transport.Handler: the replica answers peers.
// A status request is the node's, not the replica's, and is answered
// while the node drains too: the report says it drains. So are the bucket
// registry's operations (buckets.go).
func (n *Node) HandleInternode(ctx context.Context, op wire.Op, body []byte) ([]byte, error) {
	switch op {
	case wire.OpStatus:
		return n.handleStatus(body)
	case wire.OpBucketsGet, wire.OpBucketsMerge:
		return n.handleBuckets(op, body)
	}
	return n.replica.HandleInternode(ctx, op, body)
}
