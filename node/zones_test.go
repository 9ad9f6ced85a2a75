package node

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dynkv/dynkv/node/membership"
	"github.com/dynkv/dynkv/ring"
)

// A six-node cluster in three zones (two nodes each, zones gossiped as serf
// tags) loses a whole zone: both of its nodes are killed. Every key written
// before stays readable at R=1 and at the default R=2, and new writes
// succeed at W=1 and W=2, because every preference list has one replica in
// each zone, so two of each key's three replicas are still up.
func TestZoneLossKeepsServing(t *testing.T) {
	c := startZonedCluster(t)
	r := c.Node(0).cluster.View().Ring
	checkZonedPlacement(t, c, r)
	const before = 200
	writeToEveryReplica(t, c, r, before)
	c.Kill(0)
	c.Kill(1)
	eventually(t, 20*time.Second, "the survivors' gossip sees zone a fail", func() bool {
		for i := 2; i < 6; i++ {
			if statusOf(c.Node(i), "n1") != membership.StatusFailed || statusOf(c.Node(i), "n2") != membership.StatusFailed {
				return false
			}
		}
		return true
	})

	for k := range before {
		key := fmt.Appendf(nil, "zk%d", k)
		for _, rq := range []int{1, 2} {
			readBack(t, c.Node(2+k%4), key, rq)
		}
	}
	checkWritesWithZoneADown(t, c)
}

// startZonedCluster starts six gossiping nodes, two in each of zones a, b
// and c, and waits until every node's ring has them all.
func startZonedCluster(t *testing.T) *LocalCluster {
	t.Helper()
	zones := []string{"a", "a", "b", "b", "c", "c"}
	c := startCluster(t, LocalClusterOptions{Nodes: 6, Gossip: true, Configure: func(i int, cfg *Config) {
		manualLoops(i, cfg)
		cfg.Zone = zones[i]
	}})
	eventually(t, 20*time.Second, "every node's ring has the six members in three zones", func() bool {
		for i := range 6 {
			r := c.Node(i).cluster.View().Ring
			if len(r.Members()) != 6 || r.Zones() != 3 {
				return false
			}
		}
		return true
	})
	return c
}

// checkZonedPlacement fails unless every node places each partition as r
// (n1's ring) does, with a preference list spanning the three zones.
func checkZonedPlacement(t *testing.T, c *LocalCluster, r *ring.Ring) {
	t.Helper()
	for i := 1; i < 6; i++ {
		other := c.Node(i).cluster.View().Ring
		for p := range r.Config().Partitions {
			if !slices.Equal(r.Walk(p), other.Walk(p)) {
				t.Fatalf("n1 and %s place partition %d differently: %v, %v", NodeID(i), p, r.Walk(p), other.Walk(p))
			}
		}
	}
	for p := range r.Config().Partitions {
		seen := map[string]bool{}
		for _, id := range r.PreferenceList(p) {
			seen[r.Zone(id)] = true
		}
		if len(seen) != 3 {
			t.Fatalf("partition %d: preference list %v spans %d zones", p, r.PreferenceList(p), len(seen))
		}
	}
}

// writeToEveryReplica writes keys zk0 to zk<keys-1>, each with its own name
// as the value, and waits until each is on its three replicas.
func writeToEveryReplica(t *testing.T, c *LocalCluster, r *ring.Ring, keys int) {
	t.Helper()
	for k := range keys {
		key := fmt.Appendf(nil, "zk%d", k)
		if _, err := c.Node(k%6).Put(t.Context(), WriteRequest{Key: key, Value: key}); err != nil {
			t.Fatalf("write %s: %v", key, err)
		}
	}
	// Steady state before the loss: a W=2 write may have reached only two
	// replicas when it was acknowledged, and one of them may be in zone a.
	settle(t, c, 20*time.Second, "every key on its three replicas", func() bool {
		for k := range keys {
			key := fmt.Appendf(nil, "zk%d", k)
			for _, id := range r.PreferenceList(r.PartitionOf(key)) {
				if !holds(c.Node(indexOf(id)), key, string(key)) {
					return false
				}
			}
		}
		return true
	})
}

// checkWritesWithZoneADown writes new keys at W=1 and W=2 through the
// survivors, wants them kept as hints for zone a, and readable at R=2.
func checkWritesWithZoneADown(t *testing.T, c *LocalCluster) {
	t.Helper()
	for k := range 100 {
		key := fmt.Appendf(nil, "after%d", k)
		w := 1 + k%2
		if _, err := c.Node(2+k%4).Put(t.Context(), WriteRequest{Key: key, Value: key, W: w}); err != nil {
			t.Fatalf("write %s at W=%d with zone a down: %v", key, w, err)
		}
		if w == 2 {
			// Two acknowledgements among two live replicas and one
			// stand-in: at least one live replica holds it.
			readBack(t, c.Node(2+(k+1)%4), key, 2)
		}
	}
	hints := 0
	for i := 2; i < 6; i++ {
		st := c.Node(i).HintStats()
		hints += st["n1"].Pending + st["n2"].Pending
	}
	if hints == 0 {
		t.Error("no stand-in keeps a hint for zone a: the writes did not go through sloppy quorum")
	}
	eventually(t, 10*time.Second, "the W=1 writes readable at R=2", func() bool {
		for k := 0; k < 100; k += 2 {
			key := fmt.Appendf(nil, "after%d", k)
			res, err := c.Node(2+(k+1)%4).Get(t.Context(), key, 2)
			if err != nil || len(res.Set.Live(0)) != 1 {
				return false
			}
		}
		return true
	})
}

// readBack reads key through n at quorum r and wants its own name as the
// value.
func readBack(t *testing.T, n *Node, key []byte, r int) {
	t.Helper()
	res, err := n.Get(t.Context(), key, r)
	if err != nil {
		t.Fatalf("read %s at R=%d via %s: %v", key, r, n.ID(), err)
	}
	live := res.Set.Live(0)
	if len(live) != 1 || string(live[0].Value) != string(key) {
		t.Fatalf("read %s at R=%d via %s: %d live siblings %v", key, r, n.ID(), len(live), live)
	}
}
