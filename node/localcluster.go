package node

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"

	"github.com/dynkv/dynkv/node/membership"
	"github.com/dynkv/dynkv/node/transport"
)

// LocalCluster runs several nodes in one process with hand-driven
// membership: the harness for multi-node tests here and in other packages
// (SDK examples, load-test checks). Node i is named "n<i+1>".
type LocalCluster struct {
	opts       LocalClusterOptions
	Net        *transport.MemNetwork
	Membership *membership.StaticMembership

	mu    sync.Mutex
	nodes []*Node
	// boots counts each node's simulated operating-system boots: its
	// Config.BootID (PowerLoss starts a new one).
	boots []int
}

// LocalClusterOptions configure a LocalCluster.
type LocalClusterOptions struct {
	Nodes int
	// Dir holds each node's data directory (Dir/n1, ...). Required.
	Dir string
	// HTTP makes every node serve its API on 127.0.0.1 (a free port) and
	// talk to its peers over real HTTP; otherwise nodes talk over Net and
	// serve no sockets.
	HTTP bool
	// Gossip runs real serf membership on loopback (fast failure detection,
	// ~1 s) routed through Net's cuts, instead of the hand-driven
	// Membership: partitions then show in both data and gossip.
	Gossip bool
	// Configure adjusts each node's configuration.
	Configure func(i int, c *Config)
	Logger    *slog.Logger
}

// StartLocalCluster opens and starts every node.
func StartLocalCluster(opts LocalClusterOptions) (*LocalCluster, error) {
	if opts.Nodes < 1 || opts.Dir == "" {
		return nil, errors.New("local cluster needs at least one node and a directory")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c := &LocalCluster{opts: opts, Net: transport.NewMemNetwork(), Membership: membership.NewStaticMembership(), nodes: make([]*Node, opts.Nodes)}
	for i := range opts.Nodes {
		// Opened and started one by one so that, with gossip, every node
		// has a running seed to join.
		if err := c.open(i); err != nil {
			c.Close()
			return nil, err
		}
		if err := c.nodes[i].Start(); err != nil {
			c.Close()
			return nil, fmt.Errorf("start %s: %w", c.nodes[i].ID(), err)
		}
	}
	return c, nil
}

// NodeID is node i's ID.
func NodeID(i int) string { return fmt.Sprintf("n%d", i+1) }

func (c *LocalCluster) open(i int) error {
	cfg := DefaultConfig()
	cfg.NodeID = NodeID(i)
	cfg.DataDir = filepath.Join(c.opts.Dir, cfg.NodeID)
	cfg.Logger = c.opts.Logger
	cfg.HTTPAddr = ""
	cfg.BootID = func() string { return c.bootID(i) }
	if c.opts.HTTP {
		cfg.HTTPAddr = "127.0.0.1:0"
	}
	if c.opts.Configure != nil {
		c.opts.Configure(i, &cfg)
	}
	deps := Deps{Membership: c.Membership.View()}
	if !c.opts.HTTP {
		deps.Transport = c.Net.Endpoint(cfg.NodeID)
		// Peers address this node by its ID on the in-memory network.
		cfg.AdvertiseHTTPAddr = cfg.NodeID
	}
	if c.opts.Gossip {
		m, err := membership.NewFaultySerfMembership(membership.SerfConfig{
			NodeID: cfg.NodeID, BindAddr: "127.0.0.1:0", Join: c.gossipSeeds(i),
			Profile: "fast", Logger: c.opts.Logger,
			SnapshotPath: filepath.Join(cfg.DataDir, membership.SnapshotFile),
			KeyringFile:  cfg.GossipKeyringFile,
		}, c.Net, cfg.NodeID)
		if err != nil {
			return err
		}
		deps.Membership = m
	}
	n, err := Open(cfg, deps)
	if err != nil {
		return fmt.Errorf("open %s: %w", cfg.NodeID, err)
	}
	addr := cfg.NodeID
	if c.opts.HTTP {
		addr = n.HTTPAddr()
	} else {
		c.Net.Register(addr, n)
	}
	c.mu.Lock()
	c.nodes[i] = n
	c.mu.Unlock()
	c.Membership.Set(membership.Member{ID: cfg.NodeID, HTTPAddr: addr, InternodeAddr: n.InternodeAddr(), Status: membership.StatusAlive, Tags: n.selfTags()})
	return nil
}

// gossipSeeds are the gossip addresses of the running nodes other than i.
func (c *LocalCluster) gossipSeeds(i int) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var seeds []string
	for j, n := range c.nodes {
		if j == i || n == nil {
			continue
		}
		if sm, ok := n.membership.(*membership.SerfMembership); ok && sm.GossipAddr() != "" {
			seeds = append(seeds, sm.GossipAddr())
		}
	}
	return seeds
}

// AddNode opens and starts one more node (a join) and returns its index.
func (c *LocalCluster) AddNode() (int, error) {
	c.mu.Lock()
	i := len(c.nodes)
	c.nodes = append(c.nodes, nil)
	c.mu.Unlock()
	if err := c.open(i); err != nil {
		return i, err
	}
	return i, c.Node(i).Start()
}

// DataDir is node i's data directory.
func (c *LocalCluster) DataDir(i int) string { return filepath.Join(c.opts.Dir, NodeID(i)) }

// Node returns node i (nil while it is down).
func (c *LocalCluster) Node(i int) *Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i]
}

// Size is the number of node slots.
func (c *LocalCluster) Size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.nodes)
}

// Addr is the address node i is registered under (its HTTP address when
// serving HTTP).
func (c *LocalCluster) Addr(i int) string {
	for _, m := range c.Membership.List() {
		if m.ID == NodeID(i) {
			return m.HTTPAddr
		}
	}
	return ""
}

// Kill stops node i abruptly (as kill -9 would, short of losing the
// store's unsynced pages). membership.Membership is left alone: the failure detector's
// verdict is the test's to set with membership.Membership.SetStatus.
func (c *LocalCluster) Kill(i int) {
	c.mu.Lock()
	n := c.nodes[i]
	c.nodes[i] = nil
	c.mu.Unlock()
	if n == nil {
		return
	}
	c.Net.Unregister(NodeID(i))
	n.Kill()
}

// PowerLoss stops node i abruptly and starts a new boot of its simulated
// operating system, as a power loss would: on restart the node must assume
// it lost its unsynced writes. (Nothing is lost in-process; what changes is
// what the node may assume.)
func (c *LocalCluster) PowerLoss(i int) {
	c.Kill(i)
	c.mu.Lock()
	for len(c.boots) <= i {
		c.boots = append(c.boots, 0)
	}
	c.boots[i]++
	c.mu.Unlock()
}

func (c *LocalCluster) bootID(i int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	boot := 0
	if i < len(c.boots) {
		boot = c.boots[i]
	}
	return fmt.Sprintf("local-%p-%s-boot-%d", c, NodeID(i), boot)
}

// Stop shuts node i down cleanly.
func (c *LocalCluster) Stop(i int) error {
	c.mu.Lock()
	n := c.nodes[i]
	c.nodes[i] = nil
	c.mu.Unlock()
	if n == nil {
		return nil
	}
	c.Net.Unregister(NodeID(i))
	return n.Close()
}

// Restart starts node i again on its data directory.
func (c *LocalCluster) Restart(i int) error {
	if c.Node(i) != nil {
		return fmt.Errorf("%s is running", NodeID(i))
	}
	if err := c.open(i); err != nil {
		return err
	}
	return c.Node(i).Start()
}

// Close stops every running node cleanly.
func (c *LocalCluster) Close() error {
	var errs []error
	for i := range c.Size() {
		if err := c.Stop(i); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
