package node

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dynkv/dynkv/node/membership"
	"github.com/dynkv/dynkv/vclock"
)

// faultSchedule is one seed's run: its cluster and simulated time, what
// it acknowledged, and the log of its steps, printed if the run fails.
type faultSchedule struct {
	t         *testing.T
	seed      uint64
	rng       *rand.Rand
	clock     *simClock
	c         *LocalCluster
	nodes     int
	down      map[int]bool
	acked     map[string][]string // key → acknowledged elements
	ttls      ttlWrites
	writes    int
	simulated time.Duration
	step      int
	log       []string
}

// newFaultSchedule starts the seed's 5-node cluster on simulated time with
// the fault buckets set.
func newFaultSchedule(t *testing.T, seed uint64) *faultSchedule {
	s := &faultSchedule{
		t:     t,
		seed:  seed,
		rng:   rand.New(rand.NewPCG(seed, 0xfa17)),
		nodes: 5,
		down:  map[int]bool{},
		acked: map[string][]string{},
		ttls:  ttlWrites{},
	}
	s.clock = newSimClock(s.nodes + 1) // room for one join
	s.c = startCluster(t, LocalClusterOptions{Nodes: s.nodes, Configure: func(i int, cfg *Config) {
		manualLoops(i, cfg)
		cfg.Clock = s.clock.of(i)
		cfg.Time = s.clock
		cfg.SuspectCooldown = 2 * time.Second // simulated
		cfg.HintWindow = 20 * time.Second     // simulated: outages outlast it
		cfg.RequestTimeout = 2 * time.Second  // real: in-memory calls are fast
	}})
	setFaultBuckets(t, s.c)
	return s
}

func (s *faultSchedule) event(format string, args ...any) {
	s.log = append(s.log, fmt.Sprintf("%4d %6.1fs ", s.step, s.simulated.Seconds())+fmt.Sprintf(format, args...))
}

func (s *faultSchedule) printLogIfFailed() {
	if s.t.Failed() {
		s.t.Logf("schedule (seed %d):\n%s", s.seed, strings.Join(s.log, "\n"))
	}
}

func (s *faultSchedule) running() []int {
	var r []int
	for i := range s.nodes {
		if !s.down[i] {
			r = append(r, i)
		}
	}
	return r
}

// runStep advances simulated time and takes one random step. The order of
// the rng draws is the schedule: a seed replays only while it stays.
func (s *faultSchedule) runStep() {
	d := time.Duration(50+s.rng.IntN(400)) * time.Millisecond
	s.clock.advance(d)
	s.simulated += d
	up := s.running()
	switch op := s.rng.IntN(100); {
	case op < 11:
		s.ttlWrite(up)
	case op < 55:
		s.readMergeWrite(up)
	case op < 63:
		s.partition()
	case op < 70:
		s.c.Net.Heal()
		s.event("heal")
	case op < 75:
		s.kill(up)
	case op < 82:
		s.restartOne()
	case op < 84 && s.nodes == 5:
		s.join()
	case op < 86:
		s.clockJump()
	default:
		s.backgroundRound(up)
	}
}

// ttlWrite is a blind write with a TTL: short (expires) or long (must
// survive).
func (s *faultSchedule) ttlWrite(up []int) {
	coord := up[s.rng.IntN(len(up))]
	s.event("%s", s.ttls.write(s.t, s.c.Node(coord), s.rng, fmt.Sprintf("s%d-%d", s.seed, s.step)))
}

// readMergeWrite adds an element to a random key through a random running
// node.
func (s *faultSchedule) readMergeWrite(up []int) {
	t := s.t
	coord := up[s.rng.IntN(len(up))]
	key := string(faultKey(s.rng.IntN(faultScheduleKeys)))
	elem := fmt.Sprintf("s%d-%d", s.seed, s.step)
	var ctx vclock.Context
	elems := []string{elem}
	if s.rng.IntN(10) > 0 { // mostly with a read; sometimes blind
		res, err := s.c.Node(coord).Get(t.Context(), []byte(key), 1+s.rng.IntN(2))
		if err == nil {
			ctx = res.Set.Context
			elems = append(union(liveValues(res.Set)), elem)
		}
	}
	slices.Sort(elems)
	w := 1 + s.rng.IntN(3)
	res, err := s.c.Node(coord).Put(t.Context(), WriteRequest{Key: []byte(key), Context: ctx, Value: []byte(strings.Join(elems, "\n")), W: w})
	if err == nil {
		s.acked[key] = append(s.acked[key], elem)
		s.writes++
	}
	s.event("write %q via n%d w=%d: %v read=%s new=%s", key, coord+1, w, err, ctx, res.Context)
}

// partition splits the nodes into two random groups.
func (s *faultSchedule) partition() {
	var a, b []string
	for i := range s.nodes {
		if s.rng.IntN(2) == 0 {
			a = append(a, NodeID(i))
		} else {
			b = append(b, NodeID(i))
		}
	}
	if s.rng.IntN(2) == 0 {
		s.c.Net.Heal() // replace the old partition; else cuts accumulate
	}
	s.c.Net.Partition(a, b)
	s.event("partition %v | %v", a, b)
}

// kill kills a running node, keeping at most two down.
func (s *faultSchedule) kill(up []int) {
	if len(up) <= 3 {
		return
	}
	i := up[s.rng.IntN(len(up))]
	s.c.Kill(i)
	s.down[i] = true
	if s.rng.IntN(2) == 0 { // gossip noticed
		s.c.Membership.SetStatus(NodeID(i), membership.StatusFailed)
	}
	s.event("kill n%d", i+1)
}

// restartOne restarts the first dead node, if any.
func (s *faultSchedule) restartOne() {
	for i := range s.nodes {
		if s.down[i] {
			if err := s.c.Restart(i); err != nil {
				s.t.Fatalf("seed %d: restart n%d: %v", s.seed, i+1, err)
			}
			s.c.Membership.SetStatus(NodeID(i), membership.StatusAlive)
			delete(s.down, i)
			s.event("restart n%d", i+1)
			return
		}
	}
}

func (s *faultSchedule) join() {
	i, err := s.c.AddNode()
	if err != nil {
		s.t.Fatalf("seed %d: join: %v", s.seed, err)
	}
	s.nodes++
	s.event("n%d joins", i+1)
}

// clockJump moves one node's clock, sometimes past the hint window.
func (s *faultSchedule) clockJump() {
	i := s.rng.IntN(s.nodes)
	jump := time.Duration(s.rng.IntN(90)-30) * time.Minute
	s.clock.skew[i].Add(int64(jump))
	s.event("clock of n%d jumps %v", i+1, jump)
}

// backgroundRound runs one hint and anti-entropy round on a running node.
func (s *faultSchedule) backgroundRound(up []int) {
	i := up[s.rng.IntN(len(up))]
	_ = s.c.Node(i).DeliverHintsOnce(s.t.Context())
	_, _ = s.c.Node(i).AntiEntropyOnce(s.t.Context())
	s.event("hints+anti-entropy on n%d", i+1)
}
