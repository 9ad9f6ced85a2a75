package node

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dynkv/dynkv/bucket"
	"github.com/dynkv/dynkv/node/clock"
	"github.com/dynkv/dynkv/node/membership"
)

// ttlKeys are the fault schedules' keys written with TTLs; each write is
// blind, so each is a sibling of its own that only its expiry can end.
const ttlKeys = 4

// ttlWrites are the acknowledged TTL writes, by key: element → short.
type ttlWrites map[string]map[string]bool

func (w ttlWrites) write(t *testing.T, n *Node, rng *rand.Rand, elem string) string {
	key := fmt.Sprintf("t%d", rng.IntN(ttlKeys))
	short := rng.IntN(2) == 0
	ttl := 1000 * time.Hour // beyond any clock jump of the schedule
	if short {
		ttl = time.Duration(1+rng.IntN(5)) * time.Second
	}
	_, err := n.Put(t.Context(), WriteRequest{Key: []byte(key), Value: []byte(elem), TTL: ttl, W: 1 + rng.IntN(3)})
	if err == nil {
		if w[key] == nil {
			w[key] = map[string]bool{}
		}
		w[key][elem] = short
	}
	return fmt.Sprintf("write %s=%s ttl=%v via %s: %v", key, elem, ttl, n.ID(), err)
}

// check reads every TTL key: each acknowledged long-lived element is
// there, no short-lived one is (docs/GUARANTEES.md, "Expiry").
func (w ttlWrites) check(t *testing.T, c *LocalCluster, nodes int) (lasting, expired int) {
	t.Helper()
	for k := range ttlKeys {
		key := fmt.Sprintf("t%d", k)
		coord := c.Node(k % nodes)
		res, err := coord.Get(t.Context(), []byte(key), 3)
		if err != nil {
			t.Fatalf("final read of %s: %v", key, err)
		}
		have := map[string]bool{}
		for _, sib := range res.Set.Live(coord.cfg.Clock().UnixMilli()) {
			have[string(sib.Value)] = true
		}
		for elem, short := range w[key] {
			if have[elem] == short {
				t.Errorf("key %s: element %s (short TTL: %v) readable: %v", key, elem, short, have[elem])
			}
			if short {
				expired++
			} else {
				lasting++
			}
		}
	}
	return lasting, expired
}

// simClock is simulated time shared by a test's nodes: a manual clock for
// durations and timers, and per node a wall clock with its own skew so
// that clock jumps hit one node at a time.
type simClock struct {
	*clock.Manual
	skew []atomic.Int64
}

func newSimClock(nodes int) *simClock {
	return &simClock{Manual: clock.NewManual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), skew: make([]atomic.Int64, nodes)}
}

func (c *simClock) advance(d time.Duration) { c.Advance(d) }

func (c *simClock) of(i int) func() time.Time {
	return func() time.Time { return c.Now().Add(time.Duration(c.skew[i].Load())) }
}

// TestRandomFaultSchedules drives a 5-node cluster (keys in three buckets,
// with N=3, 2 and 4) through a random, seeded schedule of
// read-merge-writes, blind writes, partitions, kills,
// restarts, clock jumps and hint/anti-entropy rounds over at least 30 s of
// simulated time, then heals everything and checks docs/GUARANTEES.md's G3 (every replica of
// every key converges, hints drained, and only its bucket's N nodes hold
// it) and G2 (every acknowledged element is
// in its key's final value), and that TTL writes made among the faults
// expire, and only they ("Expiry").
//
// DYNKV_SEEDS sets how many seeds run (default 20); DYNKV_SEED replays one.
func TestRandomFaultSchedules(t *testing.T) {
	seeds := 20
	if s, err := strconv.Atoi(os.Getenv("DYNKV_SEEDS")); err == nil {
		seeds = s
	}
	first := uint64(1)
	if s, err := strconv.ParseUint(os.Getenv("DYNKV_SEED"), 10, 64); err == nil {
		first, seeds = s, 1
	}
	for seed := first; seed < first+uint64(seeds); seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			// Seeds are independent clusters; run side by side, they
			// overlap one's disk waits (opening stores) with another's CPU.
			t.Parallel()
			t.Logf("replay with: DYNKV_SEED=%d go test -run TestRandomFaultSchedules ./node/", seed)
			runFaultSchedule(t, seed)
		})
	}
}

// faultBuckets are the buckets the schedules' keys spread over: the
// default one (N=3), and two with their own N.
var faultBuckets = []struct {
	name string
	n    int
}{{bucket.Default, 3}, {"pairs", 2}, {"quads", 4}}

// faultKey is key k of a schedule: internal, in bucket k mod 3.
func faultKey(k int) []byte {
	return bucket.Key(faultBuckets[k%len(faultBuckets)].name, []byte(fmt.Sprintf("k%d", k)))
}

// setFaultBuckets sets the schedules' buckets through n1's registry and
// waits until every node applies them (each saves them: a restart keeps
// them).
func setFaultBuckets(t *testing.T, c *LocalCluster) {
	t.Helper()
	for _, b := range faultBuckets[1:] {
		if _, _, _, err := c.Node(0).buckets.Set(t.Context(), b.name, bucket.Props{N: b.n}); err != nil {
			t.Fatalf("set bucket %s: %v", b.name, err)
		}
	}
	eventually(t, 10*time.Second, "every node applies the buckets", func() bool {
		for i := range c.Size() {
			for _, b := range faultBuckets {
				if c.Node(i).bucketTable().Props(b.name).N != b.n {
					_, _ = c.Node(i).buckets.SyncOnce(t.Context())
					return false
				}
			}
		}
		return true
	})
}

// replicasAgreeExactly is replicasAgree for a key's own bucket N, and
// also that no other node holds the key (handoff trimmed it).
func replicasAgreeExactly(c *LocalCluster, key []byte) bool {
	if !replicasAgree(c, key) {
		return false
	}
	r := c.Node(0).cluster.View().Ring
	n := c.Node(0).bucketTable().PropsOf(key).N
	for _, id := range r.Walk(r.PartitionOf(key))[n:] {
		s, err := c.Node(indexOf(id)).readLocal(key)
		if err != nil || !s.IsZero() {
			return false
		}
	}
	return true
}

// faultScheduleKeys are the schedules' read-merge-write keys (faultKey).
const faultScheduleKeys = 12

func runFaultSchedule(t *testing.T, seed uint64) {
	s := newFaultSchedule(t, seed)
	defer s.printLogIfFailed()
	for ; s.simulated < 30*time.Second || s.step < 200; s.step++ {
		s.runStep()
	}
	s.healAll()
	rounds := s.awaitConvergence()
	s.checkAcknowledgedKept()
	// Past every short TTL and (by far) the clock jumps the schedule makes:
	// what expired stays expired.
	s.clock.advance(12 * time.Hour)
	lasting, expired := s.ttls.check(t, s.c, s.nodes)
	delivered, redirected := s.hintTotals()
	t.Logf("seed %d: %d nodes at the end, %d acknowledged writes over %v simulated, converged in %d rounds; hints delivered %d, redirected %d; TTL writes kept %d, expired %d",
		seed, s.nodes, s.writes, s.simulated, rounds, delivered, redirected, lasting, expired)
}

// healAll heals the network, restarts every dead node and marks every node
// alive, then moves time past every cool-down.
func (s *faultSchedule) healAll() {
	s.c.Net.Heal()
	for i := range s.nodes {
		if s.down[i] {
			if err := s.c.Restart(i); err != nil {
				s.t.Fatal(err)
			}
		}
		s.c.Membership.SetStatus(NodeID(i), membership.StatusAlive)
	}
	s.clock.advance(time.Minute) // past every cool-down
}

// converged reports whether every hint is delivered and every key's
// replicas agree (the schedule keys' on exactly their bucket's N nodes).
func (s *faultSchedule) converged() bool {
	for i := range s.nodes {
		for _, st := range s.c.Node(i).HintStats() {
			if st.Pending > 0 {
				return false
			}
		}
	}
	for k := range faultScheduleKeys {
		if !replicasAgreeExactly(s.c, faultKey(k)) {
			return false
		}
	}
	for k := range ttlKeys {
		if !replicasAgree(s.c, []byte(fmt.Sprintf("t%d", k))) {
			return false
		}
	}
	return true
}

// awaitConvergence runs hint and anti-entropy rounds until the cluster
// converges, and returns how many it took.
func (s *faultSchedule) awaitConvergence() int {
	t, c := s.t, s.c
	rounds := 0
	eventually(t, 30*time.Second, fmt.Sprintf("seed %d: hints drain and replicas converge", s.seed), func() bool {
		if s.converged() {
			return true
		}
		rounds++
		for i := range s.nodes {
			_, _ = c.Node(i).buckets.SyncOnce(t.Context()) // a joiner learns the buckets
		}
		st := tick(t, c)
		if os.Getenv("DYNKV_DEBUG") != "" && rounds%200 == 1 {
			s.logPendingHints(rounds)
			t.Logf("round %d: anti-entropy %+v", rounds, st)
		}
		s.clock.advance(time.Second)
		return false
	})
	return rounds
}

func (s *faultSchedule) logPendingHints(round int) {
	for i := range s.nodes {
		for tg, hs := range s.c.Node(i).HintStats() {
			if hs.Pending > 0 {
				s.t.Logf("round %d: n%d holds %d hints for %s (%+v)", round, i+1, hs.Pending, tg, hs)
			}
		}
	}
}

// checkAcknowledgedKept reads every schedule key and stops the test if any
// acknowledged element is missing from its final value (G2).
func (s *faultSchedule) checkAcknowledgedKept() {
	lost := 0
	for k := range faultScheduleKeys {
		key := string(faultKey(k))
		lost += s.lostElements(k, key)
		if lost > 0 && os.Getenv("DYNKV_SEED") != "" {
			s.logHolders(key)
		}
	}
	if lost > 0 {
		s.t.FailNow()
	}
}

// lostElements reads key (schedule key k) and reports each acknowledged
// element it lacks; it returns how many.
func (s *faultSchedule) lostElements(k int, key string) int {
	t := s.t
	res, err := s.c.Node(k%s.nodes).Get(t.Context(), []byte(key), 2)
	if err != nil {
		t.Fatalf("seed %d: final read of %s: %v", s.seed, key, err)
	}
	have := map[string]bool{}
	for _, e := range union(liveValues(res.Set)) {
		have[e] = true
	}
	lost := 0
	for _, e := range s.acked[key] {
		if !have[e] {
			lost++
			t.Errorf("seed %d: key %q lost acknowledged element %s", s.seed, key, e)
		}
	}
	return lost
}

// logHolders logs what every node stores of key, for a replayed seed.
func (s *faultSchedule) logHolders(key string) {
	for i := range s.nodes {
		st, _ := s.c.Node(i).readLocal([]byte(key))
		s.t.Logf("n%d holds %q: %s %v; hints %+v", i+1, key, st.Context, liveValues(st), s.c.Node(i).HintStats())
	}
}

// hintTotals sums the hints every node delivered and redirected.
func (s *faultSchedule) hintTotals() (delivered, redirected int) {
	for i := range s.nodes {
		for _, st := range s.c.Node(i).HintStats() {
			delivered += int(st.Delivered)
			redirected += int(st.Redirected)
		}
	}
	return delivered, redirected
}
