package node

import (
	"net"
	"net/http"
	"testing"

	"github.com/dynkv/dynkv/node/membership"
)

// Nodes serving HTTP talk to each other on internode listeners of their
// own (the framed protocol), announced with the member; a peer that
// announces none (a node of an older version) is still reached over HTTP,
// so a rolling upgrade keeps every write acknowledged.
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

	// n3 as an older version would announce itself: no internode address.
	// With its internode listener closed, only HTTP can reach it.
	old := c.Node(2)
	c.Membership.Set(membership.Member{ID: old.ID(), HTTPAddr: old.HTTPAddr(), Status: membership.StatusAlive})
	old.closeInternode()
	if _, err := net.Dial("tcp", old.InternodeAddr()); err == nil {
		t.Fatal("n3's internode listener still accepts")
	}
	put("over-http")
	for _, key := range []string{"framed", "over-http"} {
		if s, err := old.readLocal([]byte(key)); err != nil || len(s.Live()) != 1 {
			t.Fatalf("n3 holds %s: %v %v", key, s, err)
		}
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
