package node

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dynkv/dynkv/node/membership"
	"github.com/dynkv/dynkv/ring"
	"github.com/dynkv/dynkv/vclock"
)

// Done-when 6: a node joins a 3-node cluster holding 10k keys under write
// load, a node leaves, another joins, and a dead node is removed. After
// each change every key reads back with R=N and every node holds exactly
// the keys of its partitions.
func TestMembershipChangesUnderLoad(t *testing.T) {
	keys := 10000
	if testing.Short() {
		keys = 2000
	}
	c := startCluster(t, LocalClusterOptions{Nodes: 3, Configure: manualLoops})
	m := &membershipLoad{t: t, c: c, keys: keys, latest: make([]atomic.Value, keys)}
	inParallel(t, keys, func(k int) error { return m.put(k%3, k, fmt.Sprintf("v0-%d", k)) })

	// A 4th node joins under write load.
	stop := m.load([]int{0, 1, 2})
	n4, err := c.AddNode()
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		tick(t, c)
	}
	t.Logf("join: %d writes acknowledged during the change", stop())
	m.check("join n4", []int{0, 1, 2, n4})

	// n2 leaves under write load (through the others).
	stop = m.load([]int{0, 2, n4})
	if err := c.Node(1).Leave(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "n2 finishes leaving", func() bool {
		tick(t, c)
		return c.Node(1).Left()
	})
	t.Logf("leave: %d writes acknowledged during the change", stop())
	m.check("leave n2", []int{0, 2, n4})

	// A 5th node joins, then the dead n3 is removed.
	n5, err := c.AddNode()
	if err != nil {
		t.Fatal(err)
	}
	m.check("join n5", []int{0, 2, n4, n5})
	c.Kill(2)
	c.Membership.SetStatus(NodeID(2), membership.StatusFailed)
	stop = m.load([]int{0, n4, n5})
	if err := c.Node(0).Remove(NodeID(2)); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		tick(t, c)
	}
	t.Logf("remove: %d writes acknowledged during the change", stop())
	m.check("remove n3", []int{0, n4, n5})
}

// membershipLoad is a cluster whose keys only the test writes, with the
// last acknowledged value of each key.
type membershipLoad struct {
	t      *testing.T
	c      *LocalCluster
	keys   int
	latest []atomic.Value
}

func membershipKey(k int) []byte { return []byte(fmt.Sprintf("key-%05d", k)) }

func (m *membershipLoad) put(coord, k int, v string) error {
	_, err := m.c.Node(coord).Put(m.t.Context(), WriteRequest{Key: membershipKey(k), Value: []byte(v), W: 2})
	if err == nil {
		m.latest[k].Store(v)
	}
	return err
}

// load writes random keys through the listed nodes until stopped.
func (m *membershipLoad) load(coords []int) (stop func() int) {
	var wg sync.WaitGroup
	var done atomic.Bool
	var n atomic.Int64
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 3))
			// Bounded, so that the load's share of the machine does not
			// decide how long the change takes: the change runs while it
			// writes, and check needs only that it did.
			for i := 0; !done.Load() && i < loadWritesPerWriter; i++ {
				k := rng.IntN(m.keys)
				if m.put(coords[rng.IntN(len(coords))], k, fmt.Sprintf("w%d-%d-%d", w, i, k)) == nil {
					n.Add(1)
				}
			}
		}()
	}
	return func() int { done.Store(true); wg.Wait(); return int(n.Load()) }
}

// check waits until every live node holds exactly its partitions' keys,
// then reads every key back with R=N through the live nodes.
func (m *membershipLoad) check(step string, live []int) {
	t := m.t
	t.Helper()
	r := m.c.Node(live[0]).cluster.View().Ring
	start := time.Now()
	// The test writes no key but its own, so a node holds exactly the
	// keys of its partitions when each partition it replicates holds
	// all of that partition's keys and every other partition none.
	perPartition := map[int]int{}
	for k := range m.keys {
		perPartition[r.PartitionOf(membershipKey(k))]++
	}
	eventually(t, 60*time.Second, step+": every node holds exactly its partitions", func() bool {
		if m.misplaced(r, perPartition, live) == 0 {
			return true
		}
		tick(t, m.c)
		return false
	})
	inParallel(t, m.keys, func(k int) error {
		key := membershipKey(k)
		res, err := m.c.Node(live[k%len(live)]).Get(t.Context(), key, 3)
		if err != nil {
			return fmt.Errorf("%s: read %s with R=N: %w", step, key, err)
		}
		if want := m.latest[k].Load().(string); !holdsValue(res.Set.Live(0), want) {
			return fmt.Errorf("%s: %s reads %v, want %s among them", step, key, liveValues(res.Set), want)
		}
		return nil
	})
	t.Logf("%s: placement exact and all %d keys read back with R=N (%v)", step, m.keys, time.Since(start))
}

// misplaced counts the (partition, live node) pairs whose stored key count
// is not the partition's if the node replicates it, else zero.
func (m *membershipLoad) misplaced(r *ring.Ring, perPartition map[int]int, live []int) int {
	bad := 0
	for p := range r.Config().Partitions {
		for _, i := range live {
			want := 0
			if r.IsReplica(p, NodeID(i)) {
				want = perPartition[p]
			}
			if got, err := m.c.Node(i).replica.Count(p, nil); err != nil || got != want {
				bad++
			}
		}
	}
	return bad
}

// loadWritesPerWriter bounds each load writer of one membership change.
const loadWritesPerWriter = 4000

func holdsValue(sibs []vclock.Sibling, want string) bool {
	for _, s := range sibs {
		if string(s.Value) == want {
			return true
		}
	}
	return false
}

// A node that crashes while leaving resumes the leave when it restarts,
// and loses nothing: keys are deleted only after the new replicas took them.
func TestLeaveResumesAfterCrash(t *testing.T) {
	c := startCluster(t, LocalClusterOptions{Nodes: 4, Configure: manualLoops})
	const keys = 2000
	for k := range keys {
		key := []byte(fmt.Sprintf("r%05d", k))
		if _, err := c.Node(k%4).Put(t.Context(), WriteRequest{Key: key, Value: key, W: 3}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Node(3).Leave(); err != nil {
		t.Fatal(err)
	}
	c.Kill(3) // before (or while) handing off
	if err := c.Restart(3); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "n4 finishes leaving after its restart", func() bool {
		tick(t, c)
		return c.Node(3).Left()
	})
	for k := range keys {
		key := []byte(fmt.Sprintf("r%05d", k))
		res, err := c.Node(k%3).Get(t.Context(), key, 3)
		if err != nil || !holdsValue(res.Set.Live(0), string(key)) {
			t.Fatalf("%s after the leave: %v %v", key, err, liveValues(res.Set))
		}
		if s, _ := c.Node(3).readLocal(key); !s.IsZero() {
			t.Fatalf("the node that left still holds %s", key)
		}
	}
}

// A record that does not decode used to stop its partition's handoff for
// good: it was sent as stored, every new owner refused it, and the leave
// retried the same key forever. Now handoff sets it aside (as a read
// would) and hands off the rest; the key lives on in the other replicas.
func TestHandoffGoesPastACorruptRecord(t *testing.T) {
	c := startCluster(t, LocalClusterOptions{Nodes: 4, Configure: manualLoops})
	const leaver, keys = 3, 200
	for k := range keys {
		key := []byte(fmt.Sprintf("h%04d", k))
		if _, err := c.Node(k%4).Put(t.Context(), WriteRequest{Key: key, Value: key, W: 3}); err != nil {
			t.Fatal(err)
		}
	}
	var bad []byte
	for k := range keys {
		key := []byte(fmt.Sprintf("h%04d", k))
		if s, _ := c.Node(leaver).readLocal(key); !s.IsZero() {
			bad = key
			break
		}
	}
	if err := c.Stop(leaver); err != nil {
		t.Fatal(err)
	}
	aeCorrupt(t, c.DataDir(leaver), ring.PartitionOf(bad, c.Node(0).cfg.Ring.Partitions), bad)
	if err := c.Restart(leaver); err != nil {
		t.Fatal(err)
	}
	n := c.Node(leaver)
	if err := n.Leave(); err != nil {
		t.Fatal(err)
	}
	// Handoff only: anti-entropy would also find and set aside the record.
	eventually(t, 30*time.Second, "the leave finishes past the corrupt record", func() bool {
		_, _ = n.HandoffOnce(t.Context())
		return n.Left()
	})
	if n.replica.Quarantined() != 1 {
		t.Fatalf("quarantined %d records, want 1", n.replica.Quarantined())
	}
	for k := range keys {
		key := []byte(fmt.Sprintf("h%04d", k))
		res, err := c.Node(k%3).Get(t.Context(), key, 3)
		if err != nil || !holdsValue(res.Set.Live(0), string(key)) {
			t.Fatalf("%s after the leave: %v %v", key, err, liveValues(res.Set))
		}
	}
}
