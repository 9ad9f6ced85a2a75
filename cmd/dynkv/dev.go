package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dynkv/dynkv/node"
	"github.com/dynkv/dynkv/node/membership"
)

// devCmd holds the flags of `dynkv dev`.
type devCmd struct {
	f *flags

	nodes               int
	dataDir             string
	basePort            int
	n, r, w, partitions int
	secure              bool
	log                 logOptions
}

// gossipPortOffset separates a dev node's gossip port from its HTTP port.
const gossipPortOffset = 1000

func newDevCmd() *devCmd {
	d := node.DefaultConfig()
	c := &devCmd{f: newFlags("dynkv dev [flags]", "Run a local cluster in this process: real nodes with real gossip and HTTP on\nloopback. Prints each node's URL and runs until Ctrl-C.")}
	f := c.f
	f.IntVar(&c.nodes, "nodes", 3, "`count` of nodes to run")
	f.StringVar(&c.dataDir, "data-dir", "", "keep the nodes' data in `directory`/n1, /n2, ... instead of a temporary directory removed on exit")
	f.defaultText["data-dir"] = "a temporary directory"
	f.IntVar(&c.basePort, "base-port", 8081, "first `port`: node i (from 0) serves HTTP on base-port+i and gossips on base-port+1000+i")
	clusterShapeFlags(f, &c.n, &c.r, &c.w, &c.partitions)
	f.defaultText["n"] = fmt.Sprintf("%d, or --nodes if fewer", d.Ring.N)
	f.defaultText["r"] = fmt.Sprintf("%d, or n if fewer", d.R)
	f.defaultText["w"] = fmt.Sprintf("%d, or n if fewer", d.W)
	f.BoolVar(&c.secure, "secure", false, "run the cluster secured (docs/SECURITY.md): a throwaway CA and node certificates, an encrypted gossip keyring "+
		"and an admin token, made in the data directory; prints how to point curl and the CLI at it")
	c.log.register(f, "warn")
	return c
}

// devPlan is the checked configuration of a dev cluster.
type devPlan struct {
	nodes    int
	dataDir  string // empty: a temporary directory
	basePort int
	node     node.Config // shared settings; ID, directory and address per node
	secure   bool
	log      logOptions
}

func (p devPlan) httpAddr(i int) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.basePort+i))
}

func (p devPlan) gossipAddr(i int) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.basePort+gossipPortOffset+i))
}

func (c *devCmd) plan(args []string, lookupEnv func(string) (string, bool)) (devPlan, error) {
	if err := c.f.parse(args, lookupEnv); err != nil {
		return devPlan{}, err
	}
	if c.nodes < 1 {
		return devPlan{}, fmt.Errorf("--nodes %d: want at least 1", c.nodes)
	}
	if c.basePort < 1 || c.basePort+gossipPortOffset+c.nodes-1 > 65535 {
		return devPlan{}, fmt.Errorf("--base-port %d: ports %d..%d must lie in 1..65535", c.basePort, c.basePort, c.basePort+gossipPortOffset+c.nodes-1)
	}
	if !c.f.isSet("n") {
		c.n = min(c.n, c.nodes)
	}
	if !c.f.isSet("r") {
		c.r = min(c.r, c.n)
	}
	if !c.f.isSet("w") {
		c.w = min(c.w, c.n)
	}
	for _, q := range []struct {
		flag  string
		value int
	}{{"--r", c.r}, {"--w", c.w}} {
		if q.value > c.nodes {
			return devPlan{}, fmt.Errorf("%s %d needs at least %d nodes; --nodes is %d", q.flag, q.value, q.value, c.nodes)
		}
	}
	nc := node.DefaultConfig()
	nc.Ring.N, nc.Ring.Partitions, nc.R, nc.W = c.n, c.partitions, c.r, c.w
	// Check the shared settings now, under the first node's name.
	probe := nc
	probe.NodeID, probe.DataDir = node.NodeID(0), "."
	if err := probe.Validate(); err != nil {
		return devPlan{}, errors.New(strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return devPlan{nodes: c.nodes, dataDir: c.dataDir, basePort: c.basePort, node: nc, secure: c.secure, log: c.log}, nil
}

// runDev is `dynkv dev`.
func runDev(args []string, stdin io.Reader, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	cmd := newDevCmd()
	p, err := cmd.plan(args, lookupEnv)
	switch {
	case errors.Is(err, flag.ErrHelp):
		cmd.f.printUsage(stdout)
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "dynkv dev: %v (see dynkv dev --help)\n", err)
		return 2
	}
	log := p.log.logger(stderr)
	sigs, stopSignals := notifyShutdown()
	defer stopSignals()
	if err := p.checkPorts(); err != nil {
		fmt.Fprintf(stderr, "dynkv dev: %v\n", err)
		return 1
	}
	dir, temp := p.dataDir, p.dataDir == ""
	if temp {
		if dir, err = os.MkdirTemp("", "dynkv-dev-"); err != nil {
			fmt.Fprintf(stderr, "dynkv dev: %v\n", err)
			return 1
		}
	}
	var sec *devSecurity
	if p.secure {
		sec, err = makeDevSecurity(dir, p.nodes)
	}
	var nodes []*node.Node
	if err == nil {
		nodes, err = p.start(dir, log, sec)
	}
	if err != nil {
		if temp {
			os.RemoveAll(dir)
		}
		fmt.Fprintf(stderr, "dynkv dev: %v\n", err)
		return 1
	}
	if err := waitForMembers(nodes, 15*time.Second); err != nil {
		fmt.Fprintf(stderr, "dynkv dev: warning: %v\n", err)
	}
	p.printBanner(stdout, dir, temp, nodes, sec)
	code := awaitShutdown(sigs, log, func() error {
		fmt.Fprintln(stdout, "stopping; press Ctrl-C again to exit at once")
		err := closeAll(nodes)
		if sec != nil && !temp {
			err = errors.Join(err, sec.removeDevToken())
		}
		if temp {
			err = errors.Join(err, os.RemoveAll(dir))
		}
		return err
	})
	if code == 0 {
		fmt.Fprintln(stdout, "stopped")
	} else if temp {
		fmt.Fprintf(stderr, "dynkv dev: data left in %s\n", dir)
	}
	return code
}

// checkPorts fails early, naming the flag to change, if a port is taken.
func (p devPlan) checkPorts() error {
	busy := func(i int, what, addr string) error {
		return fmt.Errorf("%s port of %s (%s) is in use; choose other ports with --base-port (now %d; HTTP uses base-port+i, gossip base-port+%d+i)",
			what, node.NodeID(i), addr, p.basePort, gossipPortOffset)
	}
	for i := range p.nodes {
		if l, err := net.Listen("tcp", p.httpAddr(i)); err != nil {
			return busy(i, "HTTP", p.httpAddr(i))
		} else {
			l.Close()
		}
		l, err := net.Listen("tcp", p.gossipAddr(i))
		if err != nil {
			return busy(i, "gossip", p.gossipAddr(i))
		}
		l.Close()
		u, err := net.ListenPacket("udp", p.gossipAddr(i))
		if err != nil {
			return busy(i, "gossip", p.gossipAddr(i))
		}
		u.Close()
	}
	return nil
}

// start opens and starts every node in turn; node 1 founds the cluster and
// the others join it. On failure it closes the nodes already started.
func (p devPlan) start(dir string, log *slog.Logger, sec *devSecurity) ([]*node.Node, error) {
	var nodes []*node.Node
	for i := range p.nodes {
		nc := p.node
		nc.NodeID = node.NodeID(i)
		nc.DataDir = filepath.Join(dir, nc.NodeID)
		nc.HTTPAddr = p.httpAddr(i)
		if sec != nil {
			sec.apply(i, &nc)
		}
		sc := membership.SerfConfig{NodeID: nc.NodeID, BindAddr: p.gossipAddr(i), HTTPAddr: nc.HTTPAddr, Profile: "local",
			SnapshotPath: filepath.Join(nc.DataDir, membership.SnapshotFile)}
		if i > 0 {
			sc.Join = []string{p.gossipAddr(0)}
		}
		n, err := startNode(nc, sc, log)
		if err != nil {
			closeAll(nodes)
			return nil, fmt.Errorf("start %s: %w", nc.NodeID, err)
		}
		nodes = append(nodes, n)
	}
	return nodes, nil
}

// closeAll closes nodes concurrently.
func closeAll(nodes []*node.Node) error {
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() { errs[i] = n.Close() })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (p devPlan) printBanner(w io.Writer, dir string, temp bool, nodes []*node.Node, sec *devSecurity) {
	fmt.Fprintf(w, "dynkv dev: %d nodes on loopback (N=%d R=%d W=%d, %d partitions)\n",
		len(nodes), p.node.Ring.N, p.node.R, p.node.W, p.node.Ring.Partitions)
	note := "kept on exit"
	if temp {
		note = "temporary: removed on exit"
	}
	fmt.Fprintf(w, "data  %s (%s)\n\n", dir, note)
	scheme := "http"
	if sec != nil {
		scheme = "https"
	}
	for _, n := range nodes {
		fmt.Fprintf(w, "  %s  %s://%s\n", n.ID(), scheme, n.HTTPAddr())
	}
	first, last := nodes[0].HTTPAddr(), nodes[len(nodes)-1].HTTPAddr()
	if sec != nil {
		sec.printTry(w, first, last)
		fmt.Fprintf(w, "\nCtrl-C stops the cluster.\n")
		return
	}
	fmt.Fprintf(w, "\nTry:\n")
	fmt.Fprintf(w, "  curl -i -X PUT --data-binary 'hello' -H 'Content-Type: text/plain' http://%s/kv/greeting\n", first)
	fmt.Fprintf(w, "  curl -i http://%s/kv/greeting\n", last)
	fmt.Fprintf(w, "  curl http://%s/cluster/members\n", first)
	fmt.Fprintf(w, "\nCtrl-C stops the cluster.\n")
}
