package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
)

// A single node (--single) is a whole cluster of one, for trying dynkv out
// in one command and for small deployments: it answers reads and writes
// alone (R=W=1 unless given), and keeps nothing reachable for peers —
// gossip and the internode listener are on loopback — so the refusal to
// run open beyond loopback (security_flags.go) does not apply to them.
// Its client API may still listen anywhere (the container image listens
// on 0.0.0.0:8080); the first log lines say so, loudly when it takes no
// token.
//
// N keeps its value (--n, 3 by default): placement is a cluster-wide
// constant that no node checks against another's (ring's package doc), so
// a single node that later grows into a cluster must already have the N
// the cluster will have. Alone it is every key's only replica whatever N
// says; growing is a restart without --single and with --join, after
// which the new members take over their replicas by handoff and
// anti-entropy (README, "One node, then a cluster").

// singleNodeID is a single node's id unless --node-id names one: the first
// of a cluster it may grow into (README, "One node, then a cluster").
const singleNodeID = "n1"

// singleValue is --single: "true", "false" or "auto" (single exactly when
// no --join is given, the container image's default). A bool flag, so
// that --single alone means true.
type singleValue struct{ mode string }

func (s *singleValue) String() string {
	if s == nil || s.mode == "" {
		return "false"
	}
	return s.mode
}

func (s *singleValue) Set(v string) error {
	switch v {
	case "true", "1":
		s.mode = "true"
	case "false", "0":
		s.mode = "false"
	case "auto":
		s.mode = "auto"
	default:
		return errors.New("want true, false or auto")
	}
	return nil
}

func (s *singleValue) IsBoolFlag() bool { return true }

func registerSingle(f *flags, s *singleValue) {
	f.Var(s, "single", "run a one-node cluster: R=W=1, gossip and internode on loopback, --join refused; "+
		"auto: exactly when no --join is given (the container image's default)")
}

// singleNotice is what a single node says first in its log.
type singleNotice struct {
	httpAddr, nodeID string
	n, r, w          int
	open             bool // the client API is reachable beyond loopback without a token
}

func (s *singleNotice) log(l *slog.Logger) {
	l.Info("single node: a cluster of one that serves every read and write alone; grow it with a restart without --single and with --join (README)",
		"node", s.nodeID, "http", s.httpAddr, "n", s.n, "r", s.r, "w", s.w)
	if s.open {
		l.Warn("THE CLIENT API IS OPEN: anyone who reaches " + s.httpAddr + " can read, write and delete every key; " +
			"give --tokens-file (and --tls-cert) to require a token, or listen on loopback (docs/SECURITY.md)")
	}
}

// applySingle turns the serve flags into those of a single node when
// --single says so, and returns nil otherwise. The flags must be parsed.
func (c *serveCmd) applySingle() (*singleNotice, error) {
	mode := c.single.String()
	if mode == "false" || mode == "auto" && len(c.join) > 0 {
		return nil, nil
	}
	why := "--single"
	if mode == "auto" {
		why = "--single=auto without --join"
	}
	var errs []error
	for _, fl := range []struct {
		name  string
		given bool
	}{
		{"join", len(c.join) > 0},
		{"advertise-gossip-addr", c.advertiseGossip != ""},
		{"advertise-internode-addr", c.advertiseInt != ""},
	} {
		if fl.given {
			errs = append(errs, fmt.Errorf("%s runs a node without peers: --%s has no use (for a cluster node, give --join and --single=false)", why, fl.name))
		}
	}
	for _, q := range []struct {
		name string
		v    *int
	}{{"r", &c.r}, {"w", &c.w}} {
		switch {
		case !c.f.isSet(q.name):
			*q.v = 1
		case *q.v != 1:
			errs = append(errs, fmt.Errorf("%s: --%s %d cannot be met by one node; want 1", why, q.name, *q.v))
		}
	}
	var err error
	if c.gossipAddr, err = onLoopback("--gossip-addr", c.gossipAddr); err != nil {
		errs = append(errs, err)
	}
	if c.internodeAddr == "" {
		c.internodeAddr = "127.0.0.1:0"
	} else if c.internodeAddr, err = onLoopback("--internode-addr", c.internodeAddr); err != nil {
		errs = append(errs, err)
	}
	if c.advertiseHTTPAddr == "" {
		if host, port, err := net.SplitHostPort(c.httpAddr); err == nil && port != "0" && (host == "" || net.ParseIP(host).IsUnspecified()) {
			// Listening everywhere, it is still reached on loopback by
			// the only member, itself (and the members list shows that).
			c.advertiseHTTPAddr = net.JoinHostPort("127.0.0.1", port)
		}
	}
	if c.nodeID == "" {
		// Not the host name: a container's is new with every container,
		// and a data directory opens only under the id it was made with.
		c.nodeID = singleNodeID
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &singleNotice{httpAddr: c.httpAddr, nodeID: c.nodeID, n: c.n, r: c.r, w: c.w}, nil
}

// onLoopback is addr's port on 127.0.0.1: where a single node keeps what
// only peers would use.
func onLoopback(flagName, addr string) (string, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("%s %q: want host:port", flagName, addr)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return "", fmt.Errorf("%s %q: want a port number", flagName, addr)
	}
	return net.JoinHostPort("127.0.0.1", port), nil
}
