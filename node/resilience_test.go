package node

import (
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/dynkv/dynkv/node/membership"
	"github.com/dynkv/dynkv/vclock"
)

// manualLoops turns off the background timers: the test moves time by
// calling DeliverHintsOnce and AntiEntropyOnce itself.
func manualLoops(i int, c *Config) {
	c.HintInterval = -1
	c.AntiEntropyInterval = -1
	// No cool-down: a peer cut off is simply tried (and replaced by a
	// stand-in) each time, so nothing in these tests waits on real time.
	c.SuspectCooldown = time.Nanosecond
	c.AntiEntropyRate = 1e6
	c.HintRate = 1e6
}

// tick runs one round of hint delivery and anti-entropy on every running
// node, and returns what anti-entropy did.
func tick(t testing.TB, c *LocalCluster) ExchangeStats {
	t.Helper()
	var total ExchangeStats
	for i := range c.Size() {
		n := c.Node(i)
		if n == nil {
			continue
		}
		_ = n.DeliverHintsOnce(t.Context())
		_, _ = n.HandoffOnce(t.Context())
		st, _ := n.AntiEntropyOnce(t.Context())
		total.Add(st)
	}
	return total
}

// settle ticks until cond holds, failing after the deadline; it returns how
// many rounds it took.
func settle(t testing.TB, c *LocalCluster, within time.Duration, what string, cond func() bool) int {
	t.Helper()
	rounds := 0
	eventually(t, within, what, func() bool {
		if cond() {
			return true
		}
		rounds++
		tick(t, c)
		return false
	})
	return rounds
}

func indexOf(id string) int {
	var i int
	fmt.Sscanf(id, "n%d", &i)
	return i - 1
}

// keyWithPreference finds a key whose preference list is led by node 0.
func keyOwnedBy(t testing.TB, n *Node, owner string) ([]byte, []string) {
	r := n.cluster.View().Ring
	for i := 0; ; i++ {
		k := []byte(fmt.Sprintf("key-%d", i))
		pref := r.PreferenceList(r.PartitionOf(k))
		if pref[0] == owner {
			return k, slices.Clone(pref)
		}
	}
}

func holds(n *Node, key []byte, value string) bool {
	s, err := n.readLocal(key)
	if err != nil {
		return false
	}
	for _, sib := range s.Live(0) {
		if string(sib.Value) == value {
			return true
		}
	}
	return false
}

// docs/GUARANTEES.md, G1: with two of a key's three replicas cut off, a W=2 write
// succeeds through a fallback; once they return, both replicas hold it
// without any read.
func TestSloppyQuorumWriteAndHandoff(t *testing.T) {
	c := startCluster(t, LocalClusterOptions{Nodes: 5, Configure: manualLoops})
	key, pref := keyOwnedBy(t, c.Node(0), "n1")
	for _, id := range pref[1:] {
		c.Net.Isolate(id)
	}
	res, err := c.Node(0).Put(t.Context(), WriteRequest{Key: key, Value: []byte("v1"), W: 2})
	if err != nil {
		t.Fatalf("PUT with two replicas cut off: %v", err)
	}
	if res.Acks < 2 {
		t.Fatalf("acks %d", res.Acks)
	}
	for _, id := range pref[1:] {
		if holds(c.Node(indexOf(id)), key, "v1") {
			t.Fatalf("%s was cut off but holds the write", id)
		}
	}
	c.Net.Heal()
	start := time.Now()
	rounds := settle(t, c, 10*time.Second, "both cut-off replicas hold the write", func() bool {
		return holds(c.Node(indexOf(pref[1])), key, "v1") && holds(c.Node(indexOf(pref[2])), key, "v1")
	})
	t.Logf("replicas caught up after %d rounds (%v)", rounds, time.Since(start))
}

// A write succeeds even when every replica of the key is unreachable, as
// long as W nodes are: fallbacks mint the dot and keep it as hints.
func TestSloppyQuorumWithEveryReplicaDown(t *testing.T) {
	c := startCluster(t, LocalClusterOptions{Nodes: 5, Configure: manualLoops})
	key, pref := keyOwnedBy(t, c.Node(0), "n1")
	var coord int
	for i := range 5 {
		if !slices.Contains(pref, NodeID(i)) {
			coord = i
			break
		}
	}
	for _, id := range pref {
		c.Net.Isolate(id)
	}
	if _, err := c.Node(coord).Put(t.Context(), WriteRequest{Key: key, Value: []byte("stood-in"), W: 2}); err != nil {
		t.Fatalf("PUT with all replicas cut off, before anyone noticed: %v", err)
	}
	// Gossip's verdict, once it comes, makes the fallbacks first choice.
	for _, id := range pref {
		c.Membership.SetStatus(id, membership.StatusFailed)
	}
	if _, err := c.Node(coord).Put(t.Context(), WriteRequest{Key: key, Value: []byte("stood-in"), W: 2, Context: vclock.Context{}}); err != nil {
		t.Fatalf("PUT with all replicas cut off: %v", err)
	}
	// Sloppy read from the fallbacks sees it.
	res, err := c.Node(coord).Get(t.Context(), key, 2)
	if err != nil || len(res.Set.Live(0)) == 0 {
		t.Fatalf("sloppy read: %v %v", err, liveValues(res.Set))
	}
	c.Net.Heal()
	for _, id := range pref {
		c.Membership.SetStatus(id, membership.StatusAlive)
	}
	settle(t, c, 10*time.Second, "every replica holds the write", func() bool {
		for _, id := range pref {
			if !holds(c.Node(indexOf(id)), key, "stood-in") {
				return false
			}
		}
		return true
	})
}

// Done-when 2: hints survive a restart (clean or crash) of the node holding
// them and are delivered exactly once.
func TestHintsSurviveRestartAndDeliverOnce(t *testing.T) {
	for _, crash := range []bool{false, true} {
		t.Run(fmt.Sprintf("crash=%v", crash), func(t *testing.T) {
			c := startCluster(t, LocalClusterOptions{Nodes: 4, Configure: func(i int, cfg *Config) {
				manualLoops(i, cfg)
				cfg.AntiEntropyInterval = -1
			}})
			key, pref := keyOwnedBy(t, c.Node(0), "n1")
			down := pref[2]
			c.Net.Isolate(down)
			if _, err := c.Node(0).Put(t.Context(), WriteRequest{Key: key, Value: []byte("hinted"), W: 3}); err != nil {
				t.Fatal(err)
			}
			holder := -1
			for i := range 4 {
				if st, ok := c.Node(i).HintStats()[down]; ok && st.Pending == 1 {
					holder = i
				}
			}
			if holder < 0 {
				t.Fatal("no node holds a hint")
			}
			if crash {
				c.Kill(holder)
			} else if err := c.Stop(holder); err != nil {
				t.Fatal(err)
			}
			if err := c.Restart(holder); err != nil {
				t.Fatal(err)
			}
			if st := c.Node(holder).HintStats()[down]; st.Pending != 1 {
				t.Fatalf("after restart: %+v", st)
			}
			c.Net.Heal()
			h := c.Node(holder)
			eventually(t, 5*time.Second, "hint delivered", func() bool {
				_ = h.DeliverHintsOnce(t.Context())
				return holds(c.Node(indexOf(down)), key, "hinted")
			})
			for range 3 {
				_ = h.DeliverHintsOnce(t.Context())
			}
			if st := h.HintStats()[down]; st.Pending != 0 || st.Delivered != 1 {
				t.Fatalf("want one delivery and nothing pending: %+v", st)
			}
		})
	}
}

// docs/GUARANTEES.md, G3: a node whose data directory is wiped gets every key of
// its partitions back from anti-entropy alone, without any read.
func TestWipedNodeIsRepairedByAntiEntropy(t *testing.T) {
	c := startCluster(t, LocalClusterOptions{Nodes: 4, Configure: manualLoops})
	const keys = 2000
	for i := range keys {
		k := []byte(fmt.Sprintf("k%05d", i))
		if _, err := c.Node(i%4).Put(t.Context(), WriteRequest{Key: k, Value: k, W: 3}); err != nil {
			t.Fatal(err)
		}
	}
	victim := 2
	r := c.Node(0).cluster.View().Ring
	var mine [][]byte
	for i := range keys {
		k := []byte(fmt.Sprintf("k%05d", i))
		if r.IsReplica(r.PartitionOf(k), NodeID(victim)) {
			mine = append(mine, k)
		}
	}
	if err := c.Stop(victim); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(c.DataDir(victim)); err != nil {
		t.Fatal(err)
	}
	if err := c.Restart(victim); err != nil {
		t.Fatal(err)
	}
	n := c.Node(victim)
	var total ExchangeStats
	start := time.Now()
	eventually(t, 20*time.Second, "the wiped node holds all its keys", func() bool {
		missing := 0
		for _, k := range mine {
			if !holds(n, k, string(k)) {
				missing++
			}
		}
		if missing == 0 {
			return true
		}
		total.Add(tick(t, c))
		return false
	})
	t.Logf("wiped node held %d keys again after %v: %d exchanges, %d keys repaired, %d bytes sent",
		len(mine), time.Since(start), total.Exchanges, total.KeysRepaired, total.BytesSent)
	if total.KeysRepaired < len(mine) {
		t.Fatalf("repaired %d keys, want at least %d", total.KeysRepaired, len(mine))
	}
	// And now in sync: one more pass repairs nothing.
	if st := tick(t, c); st.KeysRepaired != 0 {
		t.Fatalf("replicas still differ: %+v", st)
	}
}

// Done-when 4: partition {A,B} | {C,D,E} with writers on both sides to the
// same keys; after healing every replica is identical and every
// acknowledged write is present as a value or a sibling.
func TestPartitionedWritersConverge(t *testing.T) {
	c := startCluster(t, LocalClusterOptions{Nodes: 5, Configure: manualLoops})
	left, right := []string{"n1", "n2"}, []string{"n3", "n4", "n5"}
	c.Net.Partition(left, right)
	const keys = 50
	acked := map[string][]string{}
	for round := range 4 {
		for k := range keys {
			key := fmt.Sprintf("shared-%d", k)
			for side, coord := range []int{round % 2, 2 + round%3} {
				v := fmt.Sprintf("%s-r%d-side%d", key, round, side)
				if _, err := c.Node(coord).Put(t.Context(), WriteRequest{Key: []byte(key), Value: []byte(v), W: 1}); err == nil {
					acked[key] = append(acked[key], v)
				}
			}
		}
	}
	c.Net.Heal()
	r := c.Node(0).cluster.View().Ring
	converged := func() bool {
		for k := range keys {
			key := []byte(fmt.Sprintf("shared-%d", k))
			if !replicasAgree(c, key) {
				return false
			}
			for _, v := range acked[string(key)] {
				if !holds(c.Node(indexOf(r.PreferenceList(r.PartitionOf(key))[0])), key, v) {
					return false
				}
			}
		}
		return true
	}
	rounds := settle(t, c, 20*time.Second, "replicas identical with every acknowledged write", converged)
	t.Logf("converged after %d rounds", rounds)
}

// replicasAgree reports whether every replica of key (on the current ring)
// holds the same state.
func replicasAgree(c *LocalCluster, key []byte) bool {
	r := c.Node(0).cluster.View().Ring
	var first vclock.Set
	for j, id := range r.PreferenceListN(r.PartitionOf(key), c.Node(0).bucketTable().PropsOf(key).N) {
		n := c.Node(indexOf(id))
		if n == nil {
			return false
		}
		s, err := n.readLocal(key)
		if err != nil {
			return false
		}
		if j == 0 {
			first = s
		} else if !s.Equal(first) {
			return false
		}
	}
	return true
}
