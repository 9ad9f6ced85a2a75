package node

import (
	"net"
	"net/http"
	"testing"

	"github.com/dynkv/dynkv/node/membership"
)

// Nodes serving HTTP talk to each other on internode listeners of their
// own (the framed protocol), announced with the member, and only there: a
// peer reached at its client port instead (one that announces no internode
// address) is unreachable, and nothing is written there.
func TestInternodeOnItsOwnListener(t *testing.T) {
	c := startCluster(t, LocalClusterOptions{Nodes: 3, HTTP: true})
	for i := range 3 {
		n := c.Node(i)
		if n.InternodeAddr() == "" || n.InternodeAddr() == n.HTTPAddr() {
			t.Fatalf("%s: internode address %q beside HTTP %q", n.ID(), n.InternodeAddr(), n.HTTPAddr())
		}
	}
	put := func(key string) {
		t.Helper()
		if res := do(t, "PUT", c.Addr(0), kvPath(key)+"?w=3", []byte("v")); res.status != http.StatusNoContent {
			t.Fatalf("PUT %s with w=3: %d %s", key, res.status, res.body)
		}
	}
	put("framed")

	old := c.Node(2)
	if s, err := old.readLocal([]byte("framed")); err != nil || len(s.Live(0)) != 1 {
		t.Fatalf("n3 holds framed: %v %v", s, err)
	}

	// n3 announced with no internode address is called at its client port,
	// which does not serve peers.
	c.Membership.Set(membership.Member{ID: old.ID(), HTTPAddr: old.HTTPAddr(), Status: membership.StatusAlive})
	old.closeInternode()
	if _, err := net.Dial("tcp", old.InternodeAddr()); err == nil {
		t.Fatal("n3's internode listener still accepts")
	}
	if res := do(t, "PUT", c.Addr(0), kvPath("over-http")+"?w=3", []byte("v")); res.status != http.StatusServiceUnavailable {
		t.Fatalf("PUT with w=3 and n3 reachable only at its client port: %d %s; want 503", res.status, res.body)
	}
	if s, err := old.readLocal([]byte("over-http")); err == nil && len(s.Live(0)) != 0 {
		t.Fatalf("n3 took a write through its client port: %v", s)
	}
}

func TestAdvertisedInternodeAddr(t *testing.T) {
	every := &net.TCPAddr{IP: net.IPv4zero, Port: 7001}
	one := &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 7001}
	for _, tc := range []struct {
		configured string
		bound      net.Addr
		http, want string
	}{
		{"n1:9000", every, "n1:8080", "n1:9000"},
		{"", one, "n1:8080", "10.0.0.1:7001"},
		{"", every, "n1:8080", "n1:7001"},
	} {
		got, err := advertisedInternode(tc.configured, tc.bound, tc.http)
		if err != nil || got != tc.want {
			t.Errorf("advertisedInternode(%q, %v, %q) = %q, %v; want %q", tc.configured, tc.bound, tc.http, got, err, tc.want)
		}
	}
}
