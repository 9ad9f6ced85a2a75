package ring

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/buraksezer/consistent"
	"github.com/cespare/xxhash/v2"
)

// referenceWalk is the walk rule written the slow, obvious way: scan the
// owners from p clockwise, keep first appearances, then append members that
// own nothing in name order. walkOrders must agree with it.
func referenceWalk(owners []string, members []string, p int) []string {
	var w []string
	for i := range owners {
		if o := owners[(p+i)%len(owners)]; !slices.Contains(w, o) {
			w = append(w, o)
		}
	}
	for _, m := range members { // sorted
		if !slices.Contains(w, m) {
			w = append(w, m)
		}
	}
	return w
}

// checkInvariants checks everything the package doc promises about r.
func checkInvariants(t *testing.T, r *Ring) {
	t.Helper()
	cfg, ms := r.Config(), r.Members()
	if !slices.IsSorted(ms) || len(slices.Compact(slices.Clone(ms))) != len(ms) {
		t.Fatalf("Members() = %v, want sorted and distinct", ms)
	}
	n := min(cfg.N, len(ms))
	c, err := newConsistent(ms, cfg)
	if err != nil {
		t.Fatal(err)
	}
	owners := make([]string, cfg.Partitions)
	for p := range owners {
		owners[p] = c.GetPartitionOwner(p).(circleMember).name()
	}
	replicaOf := map[string][]int{}
	for p := range cfg.Partitions {
		w, pl, fb := r.Walk(p), r.PreferenceList(p), r.Fallbacks(p)
		if want := referenceWalk(owners, ms, p); !slices.Equal(w, want) {
			t.Fatalf("Walk(%d) = %v, reference %v", p, w, want)
		}
		if got := slices.Sorted(slices.Values(w)); !slices.Equal(got, ms) {
			t.Fatalf("Walk(%d) = %v is not a permutation of %v", p, w, ms)
		}
		if r.Owner(p) != owners[p] || w[0] != owners[p] {
			t.Fatalf("Owner(%d) = %q, Walk[0] = %q, consistent says %q", p, r.Owner(p), w[0], owners[p])
		}
		if len(pl) != n || !slices.Equal(pl, w[:n]) || !slices.Equal(fb, w[n:]) {
			t.Fatalf("partition %d: PreferenceList %v, Fallbacks %v, Walk %v, N %d", p, pl, fb, w, n)
		}
		for _, m := range pl {
			replicaOf[m] = append(replicaOf[m], p)
			if !r.IsReplica(p, m) {
				t.Fatalf("IsReplica(%d, %q) = false for preference list %v", p, m, pl)
			}
		}
		for _, m := range fb {
			if r.IsReplica(p, m) {
				t.Fatalf("IsReplica(%d, %q) = true for fallback", p, m)
			}
		}
	}
	capacity := int(math.Ceil(float64(cfg.Partitions/len(ms)) * cfg.Load))
	for _, m := range ms {
		if got := r.PartitionsOf(m); !slices.Equal(got, replicaOf[m]) {
			t.Fatalf("PartitionsOf(%q) = %v, want %v", m, got, replicaOf[m])
		}
		owned := 0
		for _, o := range owners {
			if o == m {
				owned++
			}
		}
		if owned > capacity {
			t.Fatalf("%q owns %d partitions, cap %d", m, owned, capacity)
		}
	}
}

func TestInvariants(t *testing.T) {
	for _, k := range []int{1, 2, 3, 4, 5, 6, 10, 12, 31} {
		for _, cfg := range []Config{
			DefaultConfig(),
			{Partitions: 64, N: 3, VirtualNodes: 100, Load: 1.25},
			{Partitions: 1000, N: 5, VirtualNodes: 128, Load: 1.1},
			{Partitions: 37, N: 1, VirtualNodes: 20, Load: 2},
		} {
			if k > cfg.Partitions {
				continue
			}
			t.Run(fmt.Sprintf("%dmembers/P%d/N%d", k, cfg.Partitions, cfg.N), func(t *testing.T) {
				checkInvariants(t, mustNew(t, names(k), cfg))
			})
		}
	}
}

// TestInsertionOrderIndependence: shuffled and duplicated member lists
// give identical rings. The names include n1/n11 pairs, whose virtual nodes
// would collide in consistent without circleMember.
func TestInsertionOrderIndependence(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, k := range []int{3, 5, 12, 40} {
		ms := names(k)
		want := mustNew(t, ms, DefaultConfig())
		for trial := range 10 {
			shuffled := append(slices.Clone(ms), ms[:trial%k+1]...) // with duplicates
			rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			got := mustNew(t, shuffled, DefaultConfig())
			if !slices.Equal(got.Members(), want.Members()) {
				t.Fatalf("Members() = %v, want %v", got.Members(), want.Members())
			}
			for p := range DefaultConfig().Partitions {
				if !slices.Equal(got.Walk(p), want.Walk(p)) {
					t.Fatalf("%d members, order %v: Walk(%d) = %v, want %v", k, shuffled, p, got.Walk(p), want.Walk(p))
				}
			}
		}
	}
}

// TestConsistentRawNamesDependOnOrder documents the pitfall circleMember
// exists for: consistent names virtual nodes name+index, so "n1"+"10" and
// "n11"+"0" collide, the later Add wins the point, and owners depend on the
// order of members. If this starts failing, consistent changed how it
// names virtual nodes; recheck circleMember.
func TestConsistentRawNamesDependOnOrder(t *testing.T) {
	cfg := consistent.Config{Hasher: xxHasher{}, PartitionCount: 256, ReplicationFactor: 128, Load: 1.25}
	var fwd, rev []consistent.Member
	ms := names(12)
	for i := range ms {
		fwd = append(fwd, rawMember(ms[i]))
		rev = append(rev, rawMember(ms[len(ms)-1-i]))
	}
	a, b := consistent.New(fwd, cfg), consistent.New(rev, cfg)
	diff := 0
	for p := range 256 {
		if a.GetPartitionOwner(p).String() != b.GetPartitionOwner(p).String() {
			diff++
		}
	}
	t.Logf("raw names n1..n12, forward vs reverse Add order: %d of 256 owners differ", diff)
	if diff == 0 {
		t.Error("raw member names no longer make consistent order-dependent")
	}
}

type rawMember string

func (m rawMember) String() string { return string(m) }

// TestCircleMemberPointsDistinct: with circleMember, distinct members never
// produce the same virtual-node name, even for adversarial names.
func TestCircleMemberPointsDistinct(t *testing.T) {
	ms := []string{"n", "n1", "n11", "n110", "1", "11", "#", "n#", "n#1", "n1#", "n1#1", "n#11", "a b", "10.0.0.1:7946"}
	seen := map[string]string{}
	for _, m := range ms {
		for i := range 200 {
			point := fmt.Sprintf("%s%d", circleMember(m), i) // consistent's format
			if other, ok := seen[point]; ok {
				t.Fatalf("members %q and %q share virtual node %q", other, m, point)
			}
			seen[point] = m
		}
	}
}

func TestPreferenceLists(t *testing.T) {
	for k := 1; k <= 7; k++ {
		r := mustNew(t, names(k), DefaultConfig())
		for p := range DefaultConfig().Partitions {
			pl := r.PreferenceList(p)
			if len(pl) != min(3, k) {
				t.Fatalf("%d members: PreferenceList(%d) = %v, want %d members", k, p, pl, min(3, k))
			}
			if pl[0] != r.Owner(p) {
				t.Fatalf("PreferenceList(%d) = %v does not start with owner %q", p, pl, r.Owner(p))
			}
			if len(slices.Compact(slices.Sorted(slices.Values(pl)))) != len(pl) {
				t.Fatalf("PreferenceList(%d) = %v repeats a member", p, pl)
			}
			if len(r.Walk(p)) != k || len(pl)+len(r.Fallbacks(p)) != k {
				t.Fatalf("Walk(%d) = %v, want all %d members", p, r.Walk(p), k)
			}
			if k < 3 && len(r.Fallbacks(p)) != 0 {
				t.Fatalf("%d members: Fallbacks(%d) = %v, want none", k, p, r.Fallbacks(p))
			}
		}
	}
}

func TestNoMembers(t *testing.T) {
	for _, ms := range [][]string{nil, {}} {
		r := mustNew(t, ms, DefaultConfig())
		if got := r.Members(); got == nil || len(got) != 0 {
			t.Fatalf("Members() = %#v, want empty", got)
		}
		for p := range DefaultConfig().Partitions {
			if r.Owner(p) != "" || len(r.Walk(p)) != 0 || len(r.PreferenceList(p)) != 0 ||
				len(r.Fallbacks(p)) != 0 || r.IsReplica(p, "n1") {
				t.Fatalf("partition %d not empty", p)
			}
		}
		if r.PartitionsOf("n1") != nil {
			t.Fatal("PartitionsOf on an empty ring")
		}
		if p := r.PartitionOf([]byte("k")); p < 0 || p >= 256 {
			t.Fatalf("PartitionOf = %d", p)
		}
	}
}

// TestPartitionOfIsStable pins PartitionOf: it is an on-disk format. If this
// test fails, do not update the expectations; restore the function.
func TestPartitionOfIsStable(t *testing.T) {
	r := mustNew(t, names(3), DefaultConfig())
	r1000 := mustNew(t, names(3), Config{Partitions: 1000, N: 3, VirtualNodes: 128, Load: 1.25})
	for _, tc := range []struct {
		key         string
		hash        uint64 // XXH64, seed 0 ("" and "hello" are published test vectors)
		p256, p1000 int
	}{
		{"", 0xef46db3751d8e999, 153, 921},
		{"hello", 0x26c7827d889f6da3, 163, 659},
		{"user/42", 0xe89f2a24fc2bb767, 103, 135},
		{"\x00\xff", 0xe0d97d9a03131d7d, 125, 981},
	} {
		if h := xxhash.Sum64String(tc.key); h != tc.hash {
			t.Errorf("xxhash(%q) = %#x, want %#x", tc.key, h, tc.hash)
		}
		if got := r.PartitionOf([]byte(tc.key)); got != tc.p256 {
			t.Errorf("PartitionOf(%q) = %d with 256 partitions, want %d", tc.key, got, tc.p256)
		}
		if got := r1000.PartitionOf([]byte(tc.key)); got != tc.p1000 {
			t.Errorf("PartitionOf(%q) = %d with 1000 partitions, want %d", tc.key, got, tc.p1000)
		}
	}
	// Independent of members and of every Config field but Partitions.
	other := mustNew(t, names(7), Config{Partitions: 256, N: 5, VirtualNodes: 300, Load: 3})
	for i := range 1000 {
		k := fmt.Appendf(nil, "key-%d", i)
		if r.PartitionOf(k) != other.PartitionOf(k) {
			t.Fatalf("PartitionOf(%q) depends on members or config", k)
		}
	}
}

// TestReturnedSlicesAreClipped: appending to a returned slice must not
// write into a neighbouring list (the slices share one backing array).
func TestReturnedSlicesAreClipped(t *testing.T) {
	r := mustNew(t, names(5), DefaultConfig())
	walk1 := slices.Clone(r.Walk(1))
	fb0 := slices.Clone(r.Fallbacks(0))
	parts := slices.Clone(r.PartitionsOf("n1"))
	_ = append(r.PreferenceList(0), "x", "x", "x")
	_ = append(r.Walk(0), "x", "x")
	_ = append(r.PartitionsOf("n1"), -1)
	if !slices.Equal(r.Fallbacks(0), fb0) || !slices.Equal(r.Walk(1), walk1) || !slices.Equal(r.PartitionsOf("n1"), parts) {
		t.Fatal("append to a returned slice changed the ring")
	}
	ms := r.Members()
	ms[0] = "x"
	if r.Members()[0] != "n1" {
		t.Fatal("Members() is not a copy")
	}
}

func TestOutOfRangePartitionPanics(t *testing.T) {
	for _, k := range []int{0, 3} {
		r := mustNew(t, names(k), DefaultConfig())
		for _, p := range []int{-1, 256} {
			for name, f := range map[string]func(){
				"Owner": func() { r.Owner(p) }, "Walk": func() { r.Walk(p) },
				"PreferenceList": func() { r.PreferenceList(p) }, "Fallbacks": func() { r.Fallbacks(p) },
				"IsReplica": func() { r.IsReplica(p, "n1") },
			} {
				func() {
					defer func() {
						if recover() == nil {
							t.Errorf("%d members: %s(%d) did not panic", k, name, p)
						}
					}()
					f()
				}()
			}
		}
	}
}

func TestUnknownMember(t *testing.T) {
	r := mustNew(t, names(5), DefaultConfig())
	if r.PartitionsOf("n9") != nil || r.IsReplica(0, "n9") {
		t.Fatal("unknown member found in ring")
	}
}

func TestConfigRoundTrip(t *testing.T) {
	cfg := Config{Partitions: 100, N: 2, VirtualNodes: 64, Load: 1.5}
	if got := mustNew(t, names(4), cfg).Config(); got != cfg {
		t.Fatalf("Config() = %+v, want %+v", got, cfg)
	}
}

// TestConcurrentReads gives -race something to check: a Ring is read by
// many goroutines at once without locks.
func TestConcurrentReads(t *testing.T) {
	r := mustNew(t, names(6), DefaultConfig())
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 2000 {
				p := r.PartitionOf(fmt.Appendf(nil, "k%d-%d", g, i))
				if !r.IsReplica(p, r.Owner(p)) || len(r.Walk(p)) != 6 || len(r.PartitionsOf(r.Fallbacks(p)[0])) == 0 {
					t.Error("inconsistent read")
					return
				}
			}
		})
	}
	wg.Wait()
}
