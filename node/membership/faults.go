package membership

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/hashicorp/memberlist"
)

// GossipFaults is a test network's cut table as gossip sees it (the
// transport package's MemNetwork implements it), so that a test partitions a
// cluster once and both the failure detector and the requests see it.
type GossipFaults interface {
	// RegisterGossip records that the node called name gossips from addr.
	RegisterGossip(addr, name string)
	// GossipBlocked reports whether packets from the node called from to
	// the gossip address addr are lost.
	GossipBlocked(from, addr string) bool
}

// faultyGossip wraps memberlist's network transport so that GossipFaults'
// cuts apply to gossip as well as to data traffic: a test partitions a
// cluster once and both the failure detector and the requests see it.
// (memberlist's own MockNetwork uses unbuffered sends and can wedge.)
//
// Cuts are enforced by the sender: packets to a cut peer are dropped and
// connections refused. Every node of a test cluster uses the wrapper, so a
// two-way cut blocks both directions.
type faultyGossip struct {
	*memberlist.NetTransport
	net  GossipFaults
	self string // this node's name in net
}

// errGossipCut refuses a gossip connection across a cut.
var errGossipCut = errors.New("gossip link cut")

var _ memberlist.NodeAwareTransport = (*faultyGossip)(nil)

func newFaultyGossip(bindAddr string, port int, faults GossipFaults, self string, logger *memberlist.Config) (*faultyGossip, error) {
	nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{
		BindAddrs: []string{bindAddr},
		BindPort:  port,
		Logger:    logger.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("gossip transport: %w", err)
	}
	return &faultyGossip{NetTransport: nt, net: faults, self: self}, nil
}

func (f *faultyGossip) blocked(addr string) bool {
	return f.net.GossipBlocked(f.self, addr)
}

func (f *faultyGossip) WriteTo(b []byte, addr string) (time.Time, error) {
	if f.blocked(addr) {
		return time.Now(), nil // lost on the wire
	}
	return f.NetTransport.WriteTo(b, addr)
}

func (f *faultyGossip) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	return f.WriteTo(b, a.Addr)
}

func (f *faultyGossip) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	if f.blocked(addr) {
		return nil, fmt.Errorf("dial %s: %w", addr, errGossipCut)
	}
	return f.NetTransport.DialTimeout(addr, timeout)
}

func (f *faultyGossip) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	return f.DialTimeout(a.Addr, timeout)
}
