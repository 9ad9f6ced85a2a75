package ring

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

// names returns n1..nk. They include n1/n11-style pairs on purpose: raw,
// those collide in consistent's virtual-node names (see circleMember).
func names(k int) []string {
	out := make([]string, k)
	for i := range out {
		out[i] = fmt.Sprintf("n%d", i+1)
	}
	return out
}

func without(ms []string, x string) []string {
	return slices.DeleteFunc(slices.Clone(ms), func(m string) bool { return m == x })
}

func mustNew(t testing.TB, members []string, cfg Config) *Ring {
	t.Helper()
	r, err := New(members, cfg)
	if err != nil {
		t.Fatalf("New(%d members, %+v): %v", len(members), cfg, err)
	}
	return r
}

// lists is one list of members per partition: preference lists or walks.
type lists [][]string

// strategy computes every partition's walk (all members, preference list
// first) for a member set; ours and GetClosestN's are compared with it.
type strategy struct {
	name  string
	walks func(t testing.TB, members []string, cfg Config) lists
}

var (
	ours = strategy{"walk", func(t testing.TB, members []string, cfg Config) lists {
		r := mustNew(t, members, cfg)
		out := make(lists, cfg.Partitions)
		for p := range out {
			out[p] = r.Walk(p)
		}
		return out
	}}
	closestN = strategy{"GetClosestN", func(t testing.TB, members []string, cfg Config) lists {
		ms := slices.Sorted(slices.Values(members))
		c, err := newConsistent(ms, cfg)
		if err != nil {
			t.Fatal(err)
		}
		out := make(lists, cfg.Partitions)
		for p := range out {
			got, err := c.GetClosestNForPartition(p, len(ms))
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range got {
				out[p] = append(out[p], m.(circleMember).name())
			}
		}
		return out
	}}
)

// prefix cuts every walk to its first n entries (the preference lists).
func (ls lists) prefix(n int) lists {
	out := make(lists, len(ls))
	for p, l := range ls {
		out[p] = l[:min(n, len(l))]
	}
	return out
}

// moved is the share of after's (partition, member) replica slots that
// were not slots before: the data that must be copied to new places.
func moved(before, after lists) float64 {
	var fresh, total int
	for p := range after {
		for _, m := range after[p] {
			total++
			if !slices.Contains(before[p], m) {
				fresh++
			}
		}
	}
	return float64(fresh) / float64(total)
}

// ownersMoved is the share of partitions whose owner changed.
func ownersMoved(before, after lists) float64 {
	var n int
	for p := range after {
		if before[p][0] != after[p][0] {
			n++
		}
	}
	return float64(n) / float64(len(after))
}

// churn is the movement between a (k+1)-member cluster and the same
// cluster without one member, as the mean and max over every choice of
// that member. A join (k→k+1) and a leave (k+1→k) between the same two
// member sets move the same number of slots: both sets hold P·N slots, so
// slots gained equal slots lost; one figure serves for both.
type churn struct {
	slotsMean, slotsMax float64 // share of replica slots newly filled
	setsMean            float64 // share of partitions whose replica set changed
	idealSlots          float64 // 1/(k+1): the share the odd member holds on average
	idealSets           float64 // min(1, N/(k+1)): each of its slots in a different partition
}

func measureChurn(t testing.TB, s strategy, k int, cfg Config) churn {
	full := names(k + 1)
	fullLists := s.walks(t, full, cfg).prefix(cfg.N)
	c := churn{
		idealSlots: 1 / float64(k+1),
		idealSets:  min(1, float64(min(cfg.N, k+1))/float64(k+1)),
	}
	for _, x := range full {
		small := s.walks(t, without(full, x), cfg).prefix(cfg.N)
		m := moved(small, fullLists)
		if l := moved(fullLists, small); k >= cfg.N && l != m {
			t.Fatalf("join moved %v, leave %v: the symmetry argument is wrong", m, l)
		}
		c.slotsMean += m / float64(len(full))
		c.slotsMax = max(c.slotsMax, m)
		c.setsMean += setsChanged(small, fullLists) / float64(len(full))
	}
	return c
}

// balance counts partitions owned and replica slots held per member.
type balance struct{ ownMin, ownMax, slotMin, slotMax, ownCap int }

func measureBalance(r *Ring) balance {
	cfg, ms := r.Config(), r.Members()
	own := map[string]int{}
	for p := range cfg.Partitions {
		own[r.Owner(p)]++
	}
	b := balance{ownMin: math.MaxInt, slotMin: math.MaxInt,
		ownCap: int(math.Ceil(float64(cfg.Partitions/len(ms)) * cfg.Load))}
	for _, m := range ms {
		b.ownMin, b.ownMax = min(b.ownMin, own[m]), max(b.ownMax, own[m])
		s := len(r.PartitionsOf(m))
		b.slotMin, b.slotMax = min(b.slotMin, s), max(b.slotMax, s)
	}
	return b
}

// spread is where a failed member's sloppy-quorum load goes: for each
// partition it replicates, the first fallback (the first member of the walk
// after the preference list) stands in for it, assuming no other failures.
type spread struct {
	survivors int     // distinct survivors that stand in for it
	maxShare  float64 // largest share of its partitions on one survivor
	parts     int     // partitions counted
}

// measureSpread counts partitions where failed is among the first depth
// members of the walk: depth n for every partition it replicates, 1 for the
// partitions it owns.
func measureSpread(walks lists, n, depth int, failed string) spread {
	count := map[string]int{}
	var s spread
	for _, w := range walks {
		if len(w) <= n || !slices.Contains(w[:depth], failed) {
			continue
		}
		s.parts++
		count[w[n]]++
	}
	s.survivors = len(count)
	for _, c := range count {
		s.maxShare = max(s.maxShare, float64(c)/float64(s.parts))
	}
	return s
}

// worstSpread is measureSpread for the failed member whose stand-in load is
// most concentrated.
func worstSpread(walks lists, members []string, n, depth int) spread {
	var worst spread
	for i, f := range members {
		s := measureSpread(walks, n, depth, f)
		if i == 0 || s.maxShare > worst.maxShare {
			worst = s
		}
	}
	return worst
}

// partners is the fewest distinct other members any member shares a
// preference list with: how many nodes its replica traffic (writes,
// anti-entropy, re-replication after it is removed) is spread over.
func partners(prefs lists, members []string) int {
	fewest := len(members)
	for _, m := range members {
		seen := map[string]bool{}
		for _, pl := range prefs {
			if slices.Contains(pl, m) {
				for _, o := range pl {
					seen[o] = o != m
				}
			}
		}
		k := 0
		for _, v := range seen {
			if v {
				k++
			}
		}
		fewest = min(fewest, k)
	}
	return fewest
}

// setsChanged is the share of partitions whose replica set changed at all.
func setsChanged(before, after lists) float64 {
	var n int
	for p := range after {
		a, b := slices.Sorted(slices.Values(after[p])), slices.Sorted(slices.Values(before[p]))
		if !slices.Equal(a, b) {
			n++
		}
	}
	return float64(n) / float64(len(after))
}
