package node

import (
	"slices"
	"testing"
	"time"

	"github.com/dynkv/dynkv/bucket"
	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/node/membership"
	"github.com/dynkv/dynkv/vclock"
)

// bucketProps sets props on every node of c, each call at a newer version,
// as the registry's gossip would leave them.
type bucketProps struct {
	c   *LocalCluster
	reg bucket.Registry
}

func (b *bucketProps) set(t *testing.T, name string, p bucket.Props) {
	t.Helper()
	var err error
	if b.reg, _, err = b.reg.Set(name, p, "test"); err != nil {
		t.Fatal(err)
	}
	for i := range b.c.Size() {
		b.c.Node(i).applyBucketRegistry(b.reg)
	}
}

// holders lists which of walk's members store key.
func holders(t *testing.T, c *LocalCluster, walk []string, key []byte) []bool {
	t.Helper()
	out := make([]bool, len(walk))
	for j, id := range walk {
		s, err := c.Node(indexOf(id)).readLocal(key)
		if err != nil {
			t.Fatal(err)
		}
		out[j] = !s.IsZero()
	}
	return out
}

// converge runs anti-entropy on every node until a round on every node
// has no error (peers' trees not yet rebuilt for a new placement answer
// not_ready) and every tree is built.
func converge(t *testing.T, c *LocalCluster) {
	t.Helper()
	eventually(t, 20*time.Second, "anti-entropy passes without errors on built trees", func() bool {
		ok := true
		for i := range c.Size() {
			if _, err := c.Node(i).AntiEntropyOnce(t.Context()); err != nil {
				ok = false
			}
		}
		for i := range c.Size() {
			r := c.Node(i).replica
			if r.TreesTracked() == 0 || r.TreesReady() != r.TreesTracked() {
				ok = false
			}
		}
		return ok
	})
}

// checkRootsAgree fails unless every member of PreferenceListN(p, n) has
// tree (p, n) built with one root.
func checkRootsAgree(t *testing.T, v *membership.View, c *LocalCluster, p, n int) {
	t.Helper()
	var root uint64
	for j, id := range v.Ring.PreferenceListN(p, n) {
		tr := c.Node(indexOf(id)).replica.Tree(p, n)
		if tr == nil {
			t.Fatalf("%s has no tree (%d, %d)", id, p, n)
		}
		if j == 0 {
			root = tr.Root()
		} else if tr.Root() != root {
			t.Fatalf("%s's tree (%d, %d) differs from %s's", id, p, n, v.Ring.PreferenceListN(p, n)[0])
		}
	}
}

// A key is replicated on the first N of its partition's walk, N its
// bucket's: anti-entropy copies an N=2 bucket's key to the rank-1 node but
// not the rank-2 one, and an N=3 bucket's to both; raising N from 2 to 3
// adds the third replica by anti-entropy, lowering it from 3 to 2 trims it
// by handoff; across each placement change the trees are rebuilt and
// in-sync replicas agree at every root.
func TestBucketNPlacesReplicas(t *testing.T) {
	clock := newSimClock(3)
	c := startSimCluster(t, 3, false, clock, nil)
	props := &bucketProps{c: c}
	props.set(t, "two", bucket.Props{N: 2})
	props.set(t, "three", bucket.Props{N: 3})
	converge(t, c)
	v := c.Node(0).cluster.View()
	two, three := bucket.Key("two", []byte("k")), bucket.Key("three", []byte("k"))
	p := v.Ring.PartitionOf(two)
	for i := 0; v.Ring.PartitionOf(three) != p; i++ { // one partition: one walk
		three = bucket.Key("three", []byte{'k', byte(i)})
	}
	walk := v.Ring.Walk(p)
	owner := c.Node(indexOf(walk[0]))
	for _, key := range [][]byte{two, three} {
		if _, err := owner.replica.Mint(wire.WriteRequest{Key: key, Value: []byte("v")}); err != nil {
			t.Fatal(err)
		}
	}
	converge(t, c)
	if got := holders(t, c, walk, two); !got[0] || !got[1] || got[2] {
		t.Fatalf("N=2 key held by %v of walk %v, want the first 2", got, walk)
	}
	if got := holders(t, c, walk, three); !got[0] || !got[1] || !got[2] {
		t.Fatalf("N=3 key held by %v of walk %v, want all 3", got, walk)
	}
	checkRootsAgree(t, v, c, p, 2)
	checkRootsAgree(t, v, c, p, 3)

	props.set(t, "two", bucket.Props{N: 3}) // 2 -> 3: anti-entropy fills
	converge(t, c)
	if got := holders(t, c, walk, two); !got[2] {
		t.Fatalf("raised to N=3, the key is held by %v of walk %v", got, walk)
	}
	checkRootsAgree(t, v, c, p, 3)

	props.set(t, "three", bucket.Props{N: 2}) // 3 -> 2: handoff trims
	third := c.Node(indexOf(walk[2]))
	if moved, err := third.HandoffOnce(t.Context()); err != nil || moved != 1 {
		t.Fatalf("handoff of the rank-2 node: moved %d, %v", moved, err)
	}
	converge(t, c)
	if got := holders(t, c, walk, three); !got[0] || !got[1] || got[2] {
		t.Fatalf("lowered to N=2, the key is held by %v of walk %v", got, walk)
	}
	if got := holders(t, c, walk, two); !got[2] {
		t.Fatal("the trim took a key of another bucket")
	}
	if moved, err := third.HandoffOnce(t.Context()); err != nil || moved != 0 || len(third.repair.Handoffs()) != 0 {
		t.Fatalf("a second handoff pass: moved %d, %v, status %v", moved, err, third.repair.Handoffs())
	}
	checkRootsAgree(t, v, c, p, 2)
	checkRootsAgree(t, v, c, p, 3)
}

// A tombstone of an N=2 bucket is reaped once its 2 replicas agree: the
// rank-2 node, which must not hold the key, is not asked.
func TestReaperAsksTheBucketsReplicas(t *testing.T) {
	clock := newSimClock(3)
	c := startSimCluster(t, 3, false, clock, func(cfg *Config) { cfg.TombstoneGrace = time.Hour })
	props := &bucketProps{c: c}
	props.set(t, "two", bucket.Props{N: 2})
	converge(t, c)
	v := c.Node(0).cluster.View()
	key := bucket.Key("two", []byte("gone"))
	walk := v.Ring.Walk(v.Ring.PartitionOf(key))
	owner := c.Node(indexOf(walk[0]))
	if _, err := owner.replica.Mint(wire.WriteRequest{Key: key, Deleted: true}); err != nil {
		t.Fatal(err)
	}
	converge(t, c)
	if got := holders(t, c, walk, key); !got[0] || !got[1] || got[2] {
		t.Fatalf("tombstone held by %v of walk %v, want the first 2", got, walk)
	}
	clock.advance(2 * time.Hour)
	if st, err := owner.ReapTombstonesOnce(t.Context()); err != nil || st.Reaped != 1 {
		t.Fatalf("reaping an N=2 tombstone: %+v %v", st, err)
	}
	if got := holders(t, c, walk, key); got[0] || got[1] || got[2] {
		t.Fatalf("reaped tombstone still held by %v of walk %v", got, walk)
	}
}

// Concurrent writes of an lww bucket on different replicas converge by
// anti-entropy to one sibling, the same on every replica.
func TestLWWReplicasConvergeByAntiEntropy(t *testing.T) {
	clock := newSimClock(3)
	c := startSimCluster(t, 3, false, clock, nil)
	props := &bucketProps{c: c}
	props.set(t, "reg", bucket.Props{Conflict: bucket.LWW})
	converge(t, c)
	v := c.Node(0).cluster.View()
	key := bucket.Key("reg", []byte("k"))
	walk := v.Ring.Walk(v.Ring.PartitionOf(key))
	for j, id := range walk {
		clock.advance(time.Millisecond) // distinct stamps: the last wins
		if _, err := c.Node(indexOf(id)).replica.Mint(wire.WriteRequest{Key: key, Value: []byte{'a' + byte(j)}}); err != nil {
			t.Fatal(err)
		}
	}
	converge(t, c)
	first, _ := c.Node(indexOf(walk[0])).readLocal(key)
	if len(first.Siblings) != 1 || string(first.Siblings[0].Value) != "c" {
		t.Fatalf("lww key after anti-entropy: %v, want the one latest value c", first)
	}
	for _, id := range walk[1:] {
		if s, _ := c.Node(indexOf(id)).readLocal(key); !s.Equal(first) {
			t.Fatalf("%s holds %v, %s holds %v", id, s, walk[0], first)
		}
	}
}

// A hint redirected past the window goes only to a replica of its key's
// bucket: for an N=2 bucket, not to the rank-2 node holding it, which
// keeps it while the key's other replica is unreachable.
func TestHintRedirectStaysWithinTheBucketsReplicas(t *testing.T) {
	clock := newSimClock(3)
	c := startSimCluster(t, 3, false, clock, func(cfg *Config) { cfg.HintWindow = time.Minute })
	props := &bucketProps{c: c}
	props.set(t, "two", bucket.Props{N: 2})
	v := c.Node(0).cluster.View()
	key := bucket.Key("two", []byte("hinted"))
	walk := v.Ring.Walk(v.Ring.PartitionOf(key))
	fallback := c.Node(indexOf(walk[2]))
	var s vclock.Set
	s, _ = s.Write("x", vclock.Context{}, vclock.Sibling{Value: []byte("v")})
	if err := fallback.replica.Hints().Add(walk[1], key, s.Encode()); err != nil {
		t.Fatal(err)
	}
	for _, id := range walk[:2] {
		c.Membership.SetStatus(id, membership.StatusFailed)
	}
	eventually(t, 10*time.Second, "the replicas are seen down", func() bool {
		return !fallback.cluster.UsableID(walk[0]) && !fallback.cluster.UsableID(walk[1])
	})
	if got := fallback.cluster.View().Ring.Walk(v.Ring.PartitionOf(key)); !slices.Equal(got, walk) {
		t.Fatalf("the walk changed to %v", got)
	}
	_ = fallback.DeliverHintsOnce(t.Context()) // the target is found down
	clock.advance(2 * time.Minute)
	_ = fallback.DeliverHintsOnce(t.Context()) // past the window: redirect
	if own, _ := fallback.readLocal(key); !own.IsZero() {
		t.Fatalf("the rank-2 node took an N=2 key's hint as its own data: %v", own)
	}
	if st := fallback.replica.Hints().Stats()[walk[1]]; st.Pending != 1 {
		t.Fatalf("hint for %s: %+v, want it kept", walk[1], st)
	}
	for _, id := range walk[:2] {
		c.Membership.SetStatus(id, membership.StatusAlive)
	}
	eventually(t, 10*time.Second, "the hint goes to a replica of the key", func() bool {
		clock.advance(time.Second) // past any delivery backoff
		_ = fallback.DeliverHintsOnce(t.Context())
		return fallback.replica.Hints().Stats()[walk[1]].Pending == 0
	})
}
