package ring

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cespare/xxhash/v2"
)

// inZones returns members n1..nk spread over zones by sizes: the first
// sizes[0] in z0, the next sizes[1] in z1, and so on.
func inZones(sizes ...int) []Member {
	var out []Member
	for z, size := range sizes {
		for range size {
			out = append(out, Member{Name: fmt.Sprintf("n%d", len(out)+1), Zone: fmt.Sprintf("z%d", z)})
		}
	}
	return out
}

func mustNewZoned(t testing.TB, members []Member, cfg Config) *Ring {
	t.Helper()
	r, err := NewZoned(members, cfg)
	if err != nil {
		t.Fatalf("NewZoned(%d members, %+v): %v", len(members), cfg, err)
	}
	return r
}

// walksFingerprint is xxhash64 over every partition's walk, comma-joined,
// each ended by ';'.
func walksFingerprint(r *Ring) uint64 {
	var sb strings.Builder
	for p := range r.Config().Partitions {
		sb.WriteString(strings.Join(r.Walk(p), ","))
		sb.WriteByte(';')
	}
	return xxhash.Sum64String(sb.String())
}

// TestNoZonesPlacesAsBefore: a cluster that names no zone, or only one,
// gets exactly the walks it had before zones existed, so upgrading moves
// nothing. The fingerprints were computed with the ring of the commit
// before zones (29a1372); checkInvariants compares with the old walk rule.
func TestNoZonesPlacesAsBefore(t *testing.T) {
	want := map[int]uint64{3: 0x11026d2903b0eb55, 6: 0xf9f6226d3b900d7f, 10: 0x22eb47ef6230f15a}
	for k, fp := range want {
		for _, zone := range []string{"", "eu-1"} {
			ms := make([]Member, k)
			for i, name := range names(k) {
				ms[i] = Member{Name: name, Zone: zone}
			}
			r := mustNewZoned(t, ms, DefaultConfig())
			if got := walksFingerprint(r); got != fp {
				t.Errorf("%d members all in zone %q: walks fingerprint %#x, before zones %#x", k, zone, got, fp)
			}
			checkInvariants(t, r)
			if r.Zones() != 1 || r.Zone("n1") != zone {
				t.Errorf("Zones() = %d, Zone(n1) = %q, want 1 and %q", r.Zones(), r.Zone("n1"), zone)
			}
		}
	}
}

// TestZonedPlacementIsPinned: zoned placement is a cluster-wide protocol
// (package doc), so a change to it must be deliberate: these fingerprints
// are the walks of the weighted rule (zoneWeights), and a change to the
// zone rule, the hash or the fixed-point log shows here first.
func TestZonedPlacementIsPinned(t *testing.T) {
	want := map[int]uint64{6: 0xec5180680fee93d7, 9: 0x9c0591d77b3e5fd, 10: 0xecc2759648d4379f}
	for k, fp := range want {
		ms := make([]Member, k)
		for i, name := range names(k) {
			ms[i] = Member{Name: name, Zone: fmt.Sprintf("z%d", i%3)}
		}
		r := mustNewZoned(t, ms, DefaultConfig())
		if got := walksFingerprint(r); got != fp {
			t.Errorf("%d members in 3 zones: walks fingerprint %#x, want %#x", k, got, fp)
		}
		checkZoned(t, r)
	}
}

// checkZoned checks the zone promises on top of the walk invariants that
// still hold: every walk a permutation starting with the owner, the
// preference list its first min(N, members) entries spanning min(N, zones)
// zones, fallbacks in a zone without a replica before the others.
func checkZoned(t *testing.T, r *Ring) {
	t.Helper()
	cfg, ms := r.Config(), r.Members()
	n, want := min(cfg.N, len(ms)), min(cfg.N, r.Zones())
	for p := range cfg.Partitions {
		w, pl, fb := r.Walk(p), r.PreferenceList(p), r.Fallbacks(p)
		if got := slices.Sorted(slices.Values(w)); !slices.Equal(got, ms) {
			t.Fatalf("Walk(%d) = %v is not a permutation of the members", p, w)
		}
		if len(pl) != n || !slices.Equal(pl, w[:n]) || !slices.Equal(fb, w[n:]) || pl[0] != r.Owner(p) {
			t.Fatalf("partition %d: PreferenceList %v, Fallbacks %v, Walk %v", p, pl, fb, w)
		}
		zones := map[string]bool{}
		for _, m := range pl {
			zones[r.Zone(m)] = true
		}
		if len(zones) != want {
			t.Fatalf("PreferenceList(%d) = %v spans %d zones, want %d", p, pl, len(zones), want)
		}
		seenCovered := false
		for _, m := range fb {
			covered := zones[r.Zone(m)]
			if seenCovered && !covered {
				t.Fatalf("Fallbacks(%d) = %v: %s, in a zone without a replica, after one in a zone with one", p, fb, m)
			}
			seenCovered = seenCovered || covered
		}
	}
}

func TestZonedInvariants(t *testing.T) {
	for _, tc := range []struct {
		sizes []int
		cfg   Config
	}{
		{[]int{2, 2, 2}, DefaultConfig()},
		{[]int{1, 1}, DefaultConfig()},
		{[]int{5, 1}, DefaultConfig()},
		{[]int{3, 2, 1, 1, 4}, DefaultConfig()},
		{[]int{4, 4, 4}, Config{Partitions: 64, N: 2, VirtualNodes: 100, Load: 1.25}},
		{[]int{3, 3, 3, 3, 3, 3}, Config{Partitions: 1000, N: 5, VirtualNodes: 128, Load: 1.1}},
		{[]int{7, 2}, Config{Partitions: 37, N: 1, VirtualNodes: 20, Load: 2}},
	} {
		t.Run(fmt.Sprintf("%v/P%d/N%d", tc.sizes, tc.cfg.Partitions, tc.cfg.N), func(t *testing.T) {
			checkZoned(t, mustNewZoned(t, inZones(tc.sizes...), tc.cfg))
		})
	}
}

// TestEmptyZoneIsAZone: in a mixed cluster the members without a zone
// share one zone, "".
func TestEmptyZoneIsAZone(t *testing.T) {
	ms := inZones(3, 3)
	ms = append(ms, Member{Name: "x1"}, Member{Name: "x2"})
	r := mustNewZoned(t, ms, DefaultConfig())
	if r.Zones() != 3 {
		t.Fatalf("Zones() = %d, want 3 (z0, z1 and the empty zone)", r.Zones())
	}
	checkZoned(t, r)
}

func TestZonedOrderIndependence(t *testing.T) {
	ms := inZones(4, 3, 2)
	want := walksFingerprint(mustNewZoned(t, ms, DefaultConfig()))
	shuffled := append(slices.Clone(ms), ms[2], ms[5])
	slices.Reverse(shuffled)
	if got := walksFingerprint(mustNewZoned(t, shuffled, DefaultConfig())); got != want {
		t.Fatalf("reversed, with duplicates: fingerprint %#x, want %#x", got, want)
	}
	got := mustNewZoned(t, shuffled, DefaultConfig()).ZonedMembers()
	if !slices.Equal(got, slices.SortedFunc(slices.Values(ms), func(a, b Member) int { return strings.Compare(a.Name, b.Name) })) {
		t.Fatalf("ZonedMembers() = %v", got)
	}
}

func TestZonedBadMembers(t *testing.T) {
	for name, ms := range map[string][]Member{
		"two zones": {{Name: "n1", Zone: "a"}, {Name: "n1", Zone: "b"}},
		"no name":   {{Name: "", Zone: "a"}},
	} {
		if _, err := NewZoned(ms, DefaultConfig()); !errors.Is(err, ErrInvalidMember) {
			t.Errorf("%s: err = %v, want ErrInvalidMember", name, err)
		}
	}
	if r := mustNewZoned(t, nil, DefaultConfig()); r.Zones() != 0 || r.Zone("n1") != "" {
		t.Errorf("empty ring: Zones() = %d", r.Zones())
	}
}

// TestZoneLossKeepsAReplica: with N >= 2 and at least two zones, losing
// every member of any one zone leaves each partition a live replica.
func TestZoneLossKeepsAReplica(t *testing.T) {
	for _, sizes := range [][]int{{1, 1}, {5, 1}, {2, 2, 2}, {6, 3, 1}, {3, 2, 2, 1, 1}} {
		for _, n := range []int{2, 3} {
			cfg := DefaultConfig()
			cfg.N = n
			r := mustNewZoned(t, inZones(sizes...), cfg)
			if lost := partitionsLostWithAZone(r); lost != 0 {
				t.Errorf("zones %v, N=%d: %d partitions lose every replica with a zone", sizes, n, lost)
			}
		}
	}
}

// partitionsLostWithAZone counts, over every zone, the partitions whose
// whole preference list is in that zone.
func partitionsLostWithAZone(r *Ring) int {
	lost := 0
	for p := range r.Config().Partitions {
		pl := r.PreferenceList(p)
		if !slices.ContainsFunc(pl, func(m string) bool { return r.Zone(m) != r.Zone(pl[0]) }) {
			lost++
		}
	}
	return lost
}
