package node

import (
	"sync"
	"testing"
	"time"
)

// TestReadAsksROfN: a read asks R targets, not all N — on a coordinator
// that is a replica, itself and R-1 peers.
func TestReadAsksROfN(t *testing.T) {
	c := startCluster(t, LocalClusterOptions{Nodes: 3, Configure: func(_ int, c *Config) {
		manualLoops(0, c)
		c.ReadSpeculateAfter = time.Hour // no speculation: count exactly
	}})
	key := []byte("fan-out")
	if _, err := c.Node(0).Put(t.Context(), WriteRequest{Key: key, Value: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "every replica holds the write", func() bool { return replicasAgree(c, key) })
	var mu sync.Mutex
	sent := map[string]int{}
	c.Net.SetDropper(func(from, to string) bool {
		mu.Lock()
		defer mu.Unlock()
		sent[from+"->"+to]++
		return false
	})
	res, err := c.Node(0).Get(t.Context(), key, 2)
	if err != nil || res.Acks != 2 {
		t.Fatalf("read: %v, %d acks", err, res.Acks)
	}
	c.Net.SetDropper(nil)
	mu.Lock()
	defer mu.Unlock()
	total := 0
	for _, n := range sent {
		total += n
	}
	if total != 1 {
		t.Errorf("internode messages for one R=2 read: %v; want exactly 1 (the coordinator reads itself)", sent)
	}
}

// TestReadSpeculatesPastStalledReplica: a replica that takes requests and
// never answers (stopped, not dead: no error, and gossip still says alive)
// must not hold reads up: after ReadSpeculateAfter the coordinator asks
// the next one. Without speculation these reads end in 504.
func TestReadSpeculatesPastStalledReplica(t *testing.T) {
	c := startCluster(t, LocalClusterOptions{Nodes: 3, Configure: func(_ int, c *Config) {
		manualLoops(0, c)
		c.ReadSpeculateAfter = 10 * time.Millisecond
		c.RequestTimeout = 2 * time.Second
	}})
	keys := [][]byte{[]byte("a"), []byte("b"), []byte("c"), []byte("d"), []byte("e"), []byte("f")}
	for _, k := range keys {
		if _, err := c.Node(0).Put(t.Context(), WriteRequest{Key: k, Value: k}); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range keys {
		eventually(t, 5*time.Second, "every replica holds the writes", func() bool { return replicasAgree(c, k) })
	}
	c.Net.Stall(NodeID(1))
	defer c.Net.Heal()
	for _, k := range keys {
		res, err := c.Node(0).Get(t.Context(), k, 2)
		if err != nil {
			t.Fatalf("read %s with a stalled replica: %v", k, err)
		}
		if got := liveValues(res.Set); len(got) != 1 || got[0] != string(k) {
			t.Errorf("read %s: %v", k, got)
		}
	}
}
