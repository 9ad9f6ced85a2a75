package membership

import (
	"fmt"
	"net"
	"testing"
	"time"
)

// A node that comes back from another address under its name — a
// Kubernetes pod rescheduled with a new IP, a container recreated on
// another — is taken back once it has been failed for a moment
// (deadNodeReclaim), instead of being refused for ever as a conflict.
func TestFailedNodeRejoinsFromNewAddress(t *testing.T) {
	a := startGossip(t, "a", "")
	b := startGossip(t, "b", "", a.GossipAddr())
	waitUntil(t, joinWithin, "a to see b alive", func() bool { return len(aliveIDs(a)) == 2 })
	oldAddr := b.GossipAddr()
	if err := b.Close(); err != nil { // a stop, not a leave
		t.Fatal(err)
	}
	waitUntil(t, joinWithin, "a to see b failed", func() bool { return status(a, "b") == StatusFailed })

	b2 := startGossip(t, "b", "", a.GossipAddr())
	for tries := 1; b2.GossipAddr() == oldAddr; tries++ {
		// The kernel handed out the old port again: the test needs another.
		if tries == 5 {
			t.Fatalf("b keeps coming back on its old address %s", oldAddr)
		}
		b2.Close()
		b2 = startGossip(t, "b", "", a.GossipAddr())
	}
	// Without the reclaim, b is refused until memberlist forgets the dead
	// (GossipToTheDeadTime: 15 s with the local profile) and serf's
	// reconnect or a push-pull brings it back, about 30 s; with it, the
	// join itself takes b back. The bound sits between the two.
	waitUntil(t, 12*time.Second, "a to see b alive at "+b2.GossipAddr()+" before it forgets the dead b", func() bool {
		for _, m := range a.Members() {
			if m.ID == "b" {
				return m.Status == StatusAlive && m.GossipAddr == b2.GossipAddr()
			}
		}
		return false
	})
}

func status(m *SerfMembership, id string) MemberStatus {
	for _, mem := range m.Members() {
		if mem.ID == id {
			return mem.Status
		}
	}
	return ""
}

// Every pod of a StatefulSet has the same --join list, itself included. A
// node that reached only itself must keep trying the others, or two nodes
// started together could each stay a cluster of one.
func TestJoiningOnlyItselfKeepsTrying(t *testing.T) {
	ports := freeGossipPorts(t, 2)
	addrA, addrB := fmt.Sprintf("127.0.0.1:%d", ports[0]), fmt.Sprintf("127.0.0.1:%d", ports[1])
	a := startGossipAt(t, "a", addrA, "", addrA, addrB) // b is not up: a reaches only itself
	b := startGossipAt(t, "b", addrB, "", addrB)        // b reaches only itself, and never tries a
	waitUntil(t, joinWithin, "a's retries to find b", func() bool { return len(aliveIDs(a)) == 2 && len(aliveIDs(b)) == 2 })
}

// freeGossipPorts returns n loopback ports free for TCP and UDP alike.
func freeGossipPorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for len(ports) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		port := l.Addr().(*net.TCPAddr).Port
		if u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			defer u.Close()
			ports = append(ports, port)
		}
	}
	return ports
}
