package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dynkv/dynkv/node"
	"github.com/dynkv/dynkv/node/membership"
	"github.com/dynkv/dynkv/store"
)

// serveCmd holds the flags of `dynkv serve`.
type serveCmd struct {
	f *flags

	nodeID, dataDir, zone       string
	httpAddr, advertiseHTTPAddr string
	internodeAddr, advertiseInt string
	gossipAddr, advertiseGossip string
	join                        []string
	n, r, w, partitions         int
	maxValueBytes, maxSiblings  int
	requestTimeout              time.Duration
	resilience                  resilienceFlags
	limits                      limitsFlags
	security                    securityFlags
	gossip                      gossipFlags
	gossipProfile               string
	syncWrites                  bool
	minFreeDisk                 int
	pprofAddr                   string
	log                         logOptions
	single                      singleValue // single.go
	isSingle                    bool
}

func newServeCmd() *serveCmd {
	d := node.DefaultConfig()
	c := &serveCmd{f: newFlags("dynkv serve [flags]", "Run one dynkv node until SIGINT or SIGTERM, which shut it down cleanly\n(a shutdown is not a leave: the node keeps its partitions).")}
	f := c.f
	f.scope = "" // serve's flags are the node's configuration: DYNKV_<FLAG>
	f.StringVar(&c.nodeID, "node-id", "", "this node's `name`: unique in the cluster, stable across restarts")
	f.defaultText["node-id"] = "the host name"
	f.StringVar(&c.dataDir, "data-dir", "", "`directory` of the node's database")
	f.defaultText["data-dir"] = "./data/<node-id>"
	f.StringVar(&c.httpAddr, "http-addr", d.HTTPAddr, httpAddrUsage)
	f.StringVar(&c.advertiseHTTPAddr, "advertise-http-addr", "", "`address` (host:port) peers and clients reach the HTTP API at; required when --http-addr listens on every interface")
	f.defaultText["advertise-http-addr"] = "--http-addr"
	f.StringVar(&c.internodeAddr, "internode-addr", "", "`address` (host:port) to serve peers' internode connections on; peers learn it by gossip")
	f.defaultText["internode-addr"] = "--http-addr's host, a free port"
	f.StringVar(&c.advertiseInt, "advertise-internode-addr", "", "`address` (host:port) peers reach the internode listener at")
	f.defaultText["advertise-internode-addr"] = "--internode-addr, with --advertise-http-addr's host when it listens on every interface"
	f.StringVar(&c.gossipAddr, "gossip-addr", "127.0.0.1:7946", "`address` (host:port) to gossip on, TCP and UDP")
	f.StringVar(&c.advertiseGossip, "advertise-gossip-addr", "", "`address` (host:port) peers reach gossip at")
	f.defaultText["advertise-gossip-addr"] = "--gossip-addr"
	f.StringVar(&c.zone, "zone", "", "failure-domain `name` (rack, availability zone) announced to peers: every key's N replicas span min(N, zones) zones; nodes without one share a zone")
	f.list(&c.join, "join", "gossip `addresses` of existing members, host:port[,host:port]; none starts a new cluster")
	clusterShapeFlags(f, &c.n, &c.r, &c.w, &c.partitions)
	f.bytes(&c.maxValueBytes, "max-value-bytes", d.MaxValueBytes, "largest value a client may write, a `size` such as 1048576, 512KiB or 1MiB")
	f.IntVar(&c.maxSiblings, "max-siblings", d.MaxSiblings, "most siblings (a `count`) one key may hold; a write past it is refused with 409")
	f.DurationVar(&c.requestTimeout, "request-timeout", d.RequestTimeout, "bound on one client request including the replica fan-out, a `duration` such as 5s")
	c.resilience.register(f)
	c.limits.register(f)
	c.security.register(f)
	c.gossip.register(f)
	c.security.gossipKeyringPresent = func() bool { return c.gossip.keyringFile != "" }
	f.choice(&c.gossipProfile, "gossip-profile", "lan", []string{"lan", "local", "fast"},
		"failure-detection timing `profile`: lan (a crashed node is failed in ~5.5 s), local, or fast (~0.7 s, chatty; for tests)")
	f.StringVar(&c.pprofAddr, "pprof-addr", "", "`address` (host:port) to serve Go's profiler on (/debug/pprof/), separate from the API; off when empty")
	f.BoolVar(&c.syncWrites, "sync-writes", false, "fsync every write so it survives power loss (default: survives kill -9 only)")
	// The default is what the store may write without passing the check:
	// 8 memtables of the largest scale and a value-log file (docs/DESIGN.md,
	// "Disk").
	f.bytes(&c.minFreeDisk, "min-free-disk", store.DefaultMinFreeBytes, "free-space floor, a `size`: writes that would leave less free on the data directory's file system are refused with 507 (reads go on), and the node does not start below half of it")
	c.log.register(f, "info")
	registerSingle(f, &c.single)
	return c
}

// httpAddrUsage describes --http-addr, which healthcheck shares.
const httpAddrUsage = "`address` (host:port) to serve the client API on"

// clusterShapeFlags registers --n, --r, --w and --partitions, which serve
// and dev share.
func clusterShapeFlags(f *flags, n, r, w, partitions *int) {
	d := node.DefaultConfig()
	f.IntVar(n, "n", d.Ring.N, "`count` of replicas per key, fixed for the cluster's life")
	f.IntVar(r, "r", d.R, "default read quorum, a `count` 1..n")
	f.IntVar(w, "w", d.W, "default write quorum, a `count` 1..n")
	f.IntVar(partitions, "partitions", d.Ring.Partitions, "`count` of ring partitions, fixed for the cluster's life")
	f.share("n", "r", "w", "partitions")
}

// serveConfig is everything `dynkv serve` needs to start a node.
type serveConfig struct {
	node      node.Config
	serf      membership.SerfConfig
	log       logOptions
	pprofAddr string
	// reload rereads certificates and tokens (SIGHUP).
	reload func() error
	// single is set for a single node (single.go), which says so first.
	single *singleNotice
}

// config parses args and the environment into a checked configuration.
func (c *serveCmd) config(args []string, lookupEnv func(string) (string, bool)) (serveConfig, error) {
	if err := c.f.parse(args, lookupEnv); err != nil {
		return serveConfig{}, err
	}
	single, err := c.applySingle()
	if err != nil {
		return serveConfig{}, err
	}
	c.isSingle = single != nil
	if c.nodeID == "" {
		h, err := os.Hostname()
		if err != nil {
			return serveConfig{}, fmt.Errorf("no --node-id and no host name to default to: %v", err)
		}
		c.nodeID = h
	}
	if c.dataDir == "" {
		c.dataDir = filepath.Join("data", c.nodeID)
	}
	nc := node.DefaultConfig()
	nc.NodeID, nc.DataDir, nc.Zone = c.nodeID, c.dataDir, c.zone
	nc.HTTPAddr, nc.AdvertiseHTTPAddr = c.httpAddr, c.advertiseHTTPAddr
	nc.InternodeAddr, nc.AdvertiseInternodeAddr = c.internodeAddr, c.advertiseInt
	nc.Ring.N, nc.Ring.Partitions = c.n, c.partitions
	nc.R, nc.W = c.r, c.w
	nc.MaxValueBytes, nc.MaxSiblings = c.maxValueBytes, c.maxSiblings
	// An internode message carries whole values: keep room for the largest.
	nc.MaxInternodeBytes = max(nc.MaxInternodeBytes, c.maxValueBytes+64<<10)
	nc.RequestTimeout = c.requestTimeout
	nc.SyncWrites = c.syncWrites
	nc.MinFreeDiskBytes = int64(c.minFreeDisk)
	c.resilience.apply(&nc)
	c.limits.apply(&nc, c.f)
	c.gossip.apply(&nc)

	var errs []error
	reload, err := c.applySecurity(&nc)
	errs = append(errs, err)
	if single != nil {
		single.open = nc.Security.Tokens == nil && !isLoopback(c.httpAddr)
	}
	if c.requestTimeout <= 0 {
		errs = append(errs, errors.New("--request-timeout must be positive"))
	}
	errs = append(errs, c.resilience.check()...)
	advertised, addrErrs := c.checkAddrs()
	errs = append(errs, addrErrs...)
	if err := nc.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return serveConfig{}, errors.New(strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return serveConfig{
		node: nc,
		serf: membership.SerfConfig{
			NodeID: c.nodeID, BindAddr: c.gossipAddr, AdvertiseAddr: c.advertiseGossip,
			HTTPAddr: advertised, Join: c.join, Profile: c.gossipProfile,
			SnapshotPath: filepath.Join(c.dataDir, membership.SnapshotFile),
		},
		log:       c.log,
		pprofAddr: c.pprofAddr,
		reload:    reload,
		single:    single,
	}, nil
}

// checkAddrs checks every address flag, and returns the HTTP address peers
// are told to dial: --advertise-http-addr, else --http-addr, which must
// then be dialable itself (not 0.0.0.0).
func (c *serveCmd) checkAddrs() (advertised string, errs []error) {
	advertised = c.httpAddr
	if c.advertiseHTTPAddr != "" {
		advertised = c.advertiseHTTPAddr
		errs = append(errs, checkDialable("--advertise-http-addr", c.advertiseHTTPAddr))
	} else if err := checkDialable("--http-addr", c.httpAddr); err != nil {
		errs = append(errs, fmt.Errorf("%w, or set --advertise-http-addr", err))
	}
	if c.internodeAddr != "" {
		errs = append(errs, checkHostPort("--internode-addr", c.internodeAddr))
	}
	if c.advertiseInt != "" {
		errs = append(errs, checkDialable("--advertise-internode-addr", c.advertiseInt))
	}
	errs = append(errs, checkHostPort("--gossip-addr", c.gossipAddr))
	if c.advertiseGossip != "" {
		errs = append(errs, checkDialable("--advertise-gossip-addr", c.advertiseGossip))
	}
	for _, j := range c.join {
		errs = append(errs, checkHostPort("--join", j))
	}
	return advertised, errs
}

// applySecurity loads what --certs-dir, --tls-* and --tokens-file name into
// nc, refuses to listen beyond loopback open to all (checkExposure), and
// returns the SIGHUP reload.
func (c *serveCmd) applySecurity(nc *node.Config) (func() error, error) {
	sec, reload, err := c.security.build()
	if err != nil {
		return nil, err
	}
	nc.Security = sec
	exposed := []string{c.httpAddr, c.internodeAddr, c.gossipAddr}
	if c.isSingle {
		exposed = exposed[1:] // peers have nothing to reach; its log warns of an open client API
	}
	if err := c.security.checkExposure(sec, exposed...); err != nil {
		return nil, err
	}
	return reload, nil
}

func checkHostPort(flagName, addr string) error {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("%s %q: want host:port", flagName, addr)
	}
	return nil
}

// checkDialable rejects addresses peers could not use: no port, port 0, or
// an every-interface host such as 0.0.0.0.
func checkDialable(flagName, addr string) error {
	host, port, err := net.SplitHostPort(addr)
	switch {
	case err != nil:
		return fmt.Errorf("%s %q: want host:port", flagName, addr)
	case port == "0":
		return fmt.Errorf("%s %q: peers need a concrete port, not 0", flagName, addr)
	case host == "" || net.ParseIP(host) != nil && net.ParseIP(host).IsUnspecified():
		return fmt.Errorf("%s %q: peers cannot dial an every-interface address", flagName, addr)
	}
	return nil
}

// runServe is `dynkv serve`.
func runServe(args []string, stdin io.Reader, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	cmd := newServeCmd()
	cfg, err := cmd.config(args, lookupEnv)
	switch {
	case errors.Is(err, flag.ErrHelp):
		cmd.f.printUsage(stdout)
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "dynkv serve: %v (see dynkv serve --help)\n", err)
		return 2
	}
	log := cfg.log.logger(stderr)
	if cfg.single != nil {
		cfg.single.log(log)
	}
	applyMemoryLimit(cfg.node, log)
	sigs, stopSignals := notifyShutdown()
	defer stopSignals()
	stopPprof, err := servePprof(cfg.pprofAddr, log)
	if err != nil {
		log.Error("cannot start the profiler", "err", err)
		return 1
	}
	defer stopPprof()
	n, err := startNode(cfg.node, cfg.serf, log)
	if err != nil {
		log.Error("cannot start node", "err", err)
		return 1
	}
	if cfg.reload != nil {
		defer reloadOnHangup(log, cfg.reload)()
	}
	return awaitShutdown(sigs, log, n.Close)
}
