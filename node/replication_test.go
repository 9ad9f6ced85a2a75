package node

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/dynkv/dynkv/node/internal/testutil"
	"github.com/dynkv/dynkv/vclock"
)

func liveValues(s vclock.Set) []string {
	var out []string
	for _, sib := range s.Live(0) {
		out = append(out, string(sib.Value))
	}
	return out
}

// A replica that missed a write is repaired by the next read, without the
// client doing anything.
func TestReadRepair(t *testing.T) {
	// Reads ask all N here, so the repair reaches the stale replica
	// whichever replicas the coordinator would have asked first.
	c := startCluster(t, LocalClusterOptions{Nodes: 3, Configure: func(_ int, c *Config) { c.ReadSpeculateAfter = -1 }})
	key := []byte("repair-me")
	c.Net.Isolate(NodeID(2))
	if _, err := c.Node(0).Put(t.Context(), WriteRequest{Key: key, Value: []byte("v1")}); err != nil {
		t.Fatalf("put with one replica cut off: %v", err)
	}
	stale, _ := c.Node(2).readLocal(key)
	if !stale.IsZero() {
		t.Fatalf("isolated replica got the write: %v", liveValues(stale))
	}
	c.Net.Heal()
	res, err := c.Node(1).Get(t.Context(), key, 2)
	if err != nil || strings.Join(liveValues(res.Set), ",") != "v1" {
		t.Fatalf("read: %v %v", err, liveValues(res.Set))
	}
	eventually(t, 5*time.Second, "read repair reaches the stale replica", func() bool {
		s, _ := c.Node(2).readLocal(key)
		return strings.Join(liveValues(s), ",") == "v1"
	})
}

// A write coordinated by a node outside the key's preference list has its
// dot minted by a replica, never by the coordinator.
func TestNonReplicaCoordinatorForwardsTheWrite(t *testing.T) {
	c := startCluster(t, LocalClusterOptions{Nodes: 4})
	r := c.Node(0).cluster.View().Ring
	var key []byte
	var outsider int
	for i := 0; key == nil; i++ {
		k := []byte{byte(i), byte(i >> 8)}
		for o := range 4 {
			if !r.IsReplica(r.PartitionOf(k), NodeID(o)) {
				key, outsider = k, o
				break
			}
		}
	}
	if _, err := c.Node(outsider).Put(t.Context(), WriteRequest{Key: key, Value: []byte("v"), W: 3}); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		s, _ := c.Node(i).readLocal(key)
		if i == outsider {
			if !s.IsZero() {
				t.Fatal("the coordinator stored a key it does not replicate")
			}
			continue
		}
		if len(s.Siblings) != 1 || strings.HasPrefix(s.Siblings[0].Dot.Actor, NodeID(outsider)+".") {
			t.Fatalf("replica %s holds %+v", NodeID(i), s.Siblings)
		}
	}
}

// The actor survives a clean restart and a crash within one boot (nothing
// returned was lost), and changes after a power loss without synced writes,
// so dots minted afterwards can never collide with ones lost.
func TestActorKeptUnlessWritesMayBeLost(t *testing.T) {
	c := startCluster(t, LocalClusterOptions{Nodes: 3})
	first := c.Node(0).Actor()
	restart := func(how string) string {
		t.Helper()
		if err := c.Restart(0); err != nil {
			t.Fatalf("restart after %s: %v", how, err)
		}
		return c.Node(0).Actor()
	}
	if err := c.Stop(0); err != nil {
		t.Fatal(err)
	}
	if got := restart("a clean stop"); got != first {
		t.Fatalf("clean restart changed the actor %s -> %s", first, got)
	}
	c.Kill(0)
	if got := restart("a crash"); got != first {
		t.Fatalf("a crash within one boot changed the actor %s -> %s", first, got)
	}
	c.PowerLoss(0)
	if got := restart("a power loss"); got == first {
		t.Fatal("restart after a power loss kept the actor")
	}
}

// Writes acknowledged before a kill are all readable after the restart.
func TestKillAndRestartKeepsAcknowledgedWrites(t *testing.T) {
	c := startCluster(t, LocalClusterOptions{Nodes: 3})
	var keys [][]byte
	for i := range 200 {
		k := []byte{'k', byte(i)}
		if _, err := c.Node(i%3).Put(t.Context(), WriteRequest{Key: k, Value: k, W: 3}); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	for i := range 3 {
		c.Kill(i)
	}
	for i := range 3 {
		if err := c.Restart(i); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range keys {
		res, err := c.Node(int(k[1])%3).Get(t.Context(), k, 3)
		if err != nil || len(res.Set.Live(0)) != 1 || !bytes.Equal(res.Set.Live(0)[0].Value, k) {
			t.Fatalf("key %x after restart: %v %v", k, err, liveValues(res.Set))
		}
	}
}

func TestDataDirRefusesOtherPartitionCount(t *testing.T) {
	dir := testutil.TempDir(t)
	c := startCluster(t, LocalClusterOptions{Nodes: 1, Dir: dir, Configure: func(i int, cfg *Config) {
		cfg.Ring.N, cfg.R, cfg.W = 1, 1, 1
	}})
	if err := c.Stop(0); err != nil {
		t.Fatal(err)
	}
	_, err := StartLocalCluster(LocalClusterOptions{Nodes: 1, Dir: dir, Configure: func(i int, cfg *Config) {
		cfg.Ring.N, cfg.R, cfg.W = 1, 1, 1
		cfg.Ring.Partitions = 512
	}})
	if err == nil || !strings.Contains(err.Error(), "partitions") {
		t.Fatalf("opened a 256-partition data dir with 512 partitions: %v", err)
	}
}
