package node

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dynkv/dynkv/bucket"
	"github.com/dynkv/dynkv/node/clock"
	"github.com/dynkv/dynkv/node/membership"
	"github.com/dynkv/dynkv/vclock"
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

func runFaultSchedule(t *testing.T, seed uint64) {
	const keys = 12
	nodes := 5
	rng := rand.New(rand.NewPCG(seed, 0xfa17))
	clock := newSimClock(nodes + 1) // room for one join
	c := startCluster(t, LocalClusterOptions{Nodes: nodes, Configure: func(i int, cfg *Config) {
		manualLoops(i, cfg)
		cfg.Clock = clock.of(i)
		cfg.Time = clock
		cfg.SuspectCooldown = 2 * time.Second // simulated
		cfg.HintWindow = 20 * time.Second     // simulated: outages outlast it
		cfg.RequestTimeout = 2 * time.Second  // real: in-memory calls are fast
	}})
	setFaultBuckets(t, c)
	acked := map[string][]string{}
	ttls := ttlWrites{}
	down := map[int]bool{}
	simulated := time.Duration(0)
	var log []string
	step := 0
	event := func(format string, args ...any) {
		log = append(log, fmt.Sprintf("%4d %6.1fs ", step, simulated.Seconds())+fmt.Sprintf(format, args...))
	}
	defer func() {
		if t.Failed() {
			t.Logf("schedule (seed %d):\n%s", seed, strings.Join(log, "\n"))
		}
	}()
	running := func() []int {
		var r []int
		for i := range nodes {
			if !down[i] {
				r = append(r, i)
			}
		}
		return r
	}
	writes := 0
	for ; simulated < 30*time.Second || step < 200; step++ {
		d := time.Duration(50+rng.IntN(400)) * time.Millisecond
		clock.advance(d)
		simulated += d
		up := running()
		switch op := rng.IntN(100); {
		case op < 11: // a blind write with a TTL: short (expires) or long (must survive)
			coord := up[rng.IntN(len(up))]
			event("%s", ttls.write(t, c.Node(coord), rng, fmt.Sprintf("s%d-%d", seed, step)))
		case op < 55: // read-merge-write through a random running node
			coord := up[rng.IntN(len(up))]
			key := string(faultKey(rng.IntN(keys)))
			elem := fmt.Sprintf("s%d-%d", seed, step)
			var ctx vclock.Context
			elems := []string{elem}
			if rng.IntN(10) > 0 { // mostly with a read; sometimes blind
				res, err := c.Node(coord).Get(t.Context(), []byte(key), 1+rng.IntN(2))
				if err == nil {
					ctx = res.Set.Context
					elems = append(union(liveValues(res.Set)), elem)
				}
			}
			slices.Sort(elems)
			w := 1 + rng.IntN(3)
			res, err := c.Node(coord).Put(t.Context(), WriteRequest{Key: []byte(key), Context: ctx, Value: []byte(strings.Join(elems, "\n")), W: w})
			if err == nil {
				acked[key] = append(acked[key], elem)
				writes++
			}
			event("write %q via n%d w=%d: %v read=%s new=%s", key, coord+1, w, err, ctx, res.Context)
		case op < 63: // partition into two random groups
			var a, b []string
			for i := range nodes {
				if rng.IntN(2) == 0 {
					a = append(a, NodeID(i))
				} else {
					b = append(b, NodeID(i))
				}
			}
			if rng.IntN(2) == 0 {
				c.Net.Heal() // replace the old partition; else cuts accumulate
			}
			c.Net.Partition(a, b)
			event("partition %v | %v", a, b)
		case op < 70:
			c.Net.Heal()
			event("heal")
		case op < 75: // kill a node (at most two down)
			if len(up) > 3 {
				i := up[rng.IntN(len(up))]
				c.Kill(i)
				down[i] = true
				if rng.IntN(2) == 0 { // gossip noticed
					c.Membership.SetStatus(NodeID(i), membership.StatusFailed)
				}
				event("kill n%d", i+1)
			}
		case op < 82: // restart a dead node
			for i := range nodes {
				if down[i] {
					if err := c.Restart(i); err != nil {
						t.Fatalf("seed %d: restart n%d: %v", seed, i+1, err)
					}
					c.Membership.SetStatus(NodeID(i), membership.StatusAlive)
					delete(down, i)
					event("restart n%d", i+1)
					break
				}
			}
		case op < 84 && nodes == 5: // a node joins
			i, err := c.AddNode()
			if err != nil {
				t.Fatalf("seed %d: join: %v", seed, err)
			}
			nodes++
			event("n%d joins", i+1)
		case op < 86: // one node's clock jumps, sometimes past the hint window
			i := rng.IntN(nodes)
			jump := time.Duration(rng.IntN(90)-30) * time.Minute
			clock.skew[i].Add(int64(jump))
			event("clock of n%d jumps %v", i+1, jump)
		default: // a background round on one node
			i := up[rng.IntN(len(up))]
			_ = c.Node(i).DeliverHintsOnce(t.Context())
			_, _ = c.Node(i).AntiEntropyOnce(t.Context())
			event("hints+anti-entropy on n%d", i+1)
		}
	}

	// Heal everything and let hints and anti-entropy converge.
	c.Net.Heal()
	for i := range nodes {
		if down[i] {
			if err := c.Restart(i); err != nil {
				t.Fatal(err)
			}
		}
		c.Membership.SetStatus(NodeID(i), membership.StatusAlive)
	}
	clock.advance(time.Minute) // past every cool-down
	converged := func() bool {
		for i := range nodes {
			for _, st := range c.Node(i).HintStats() {
				if st.Pending > 0 {
					return false
				}
			}
		}
		for k := range keys {
			if !replicasAgreeExactly(c, faultKey(k)) {
				return false
			}
		}
		for k := range ttlKeys {
			if !replicasAgree(c, []byte(fmt.Sprintf("t%d", k))) {
				return false
			}
		}
		return true
	}
	rounds := 0
	eventually(t, 30*time.Second, fmt.Sprintf("seed %d: hints drain and replicas converge", seed), func() bool {
		if converged() {
			return true
		}
		rounds++
		for i := range nodes {
			_, _ = c.Node(i).buckets.SyncOnce(t.Context()) // a joiner learns the buckets
		}
		st := tick(t, c)
		if os.Getenv("DYNKV_DEBUG") != "" && rounds%200 == 1 {
			for i := range nodes {
				for tg, hs := range c.Node(i).HintStats() {
					if hs.Pending > 0 {
						t.Logf("round %d: n%d holds %d hints for %s (%+v)", rounds, i+1, hs.Pending, tg, hs)
					}
				}
			}
			t.Logf("round %d: anti-entropy %+v", rounds, st)
		}
		clock.advance(time.Second)
		return false
	})
	lost := 0
	for k := range keys {
		key := string(faultKey(k))
		res, err := c.Node(k%nodes).Get(t.Context(), []byte(key), 2)
		if err != nil {
			t.Fatalf("seed %d: final read of %s: %v", seed, key, err)
		}
		have := map[string]bool{}
		for _, e := range union(liveValues(res.Set)) {
			have[e] = true
		}
		for _, e := range acked[key] {
			if !have[e] {
				lost++
				t.Errorf("seed %d: key %q lost acknowledged element %s", seed, key, e)
			}
		}
		if lost > 0 && os.Getenv("DYNKV_SEED") != "" {
			for i := range nodes {
				s, _ := c.Node(i).readLocal([]byte(key))
				t.Logf("n%d holds %q: %s %v; hints %+v", i+1, key, s.Context, liveValues(s), c.Node(i).HintStats())
			}
		}
	}
	if lost > 0 {
		t.FailNow()
	}
	// Past every short TTL and (by far) the clock jumps the schedule makes:
	// what expired stays expired.
	clock.advance(12 * time.Hour)
	lasting, expired := ttls.check(t, c, nodes)
	var delivered, redirected int
	for i := range nodes {
		for _, st := range c.Node(i).HintStats() {
			delivered += int(st.Delivered)
			redirected += int(st.Redirected)
		}
	}
	t.Logf("seed %d: %d nodes at the end, %d acknowledged writes over %v simulated, converged in %d rounds; hints delivered %d, redirected %d; TTL writes kept %d, expired %d",
		seed, nodes, writes, simulated, rounds, delivered, redirected, lasting, expired)
}
