package ring

import (
	"slices"
	"testing"
)

// A bucket with its own N takes a prefix of the walk: below the cluster's
// N a prefix of the preference list, above it the preference list and the
// first fallbacks, and in either case as many zones as the prefix can hold.
func TestPreferenceListN(t *testing.T) {
	r := mustNewZoned(t, inZones(3, 2, 4, 1), DefaultConfig())
	for p := range r.Config().Partitions {
		walk := r.Walk(p)
		if !slices.Equal(r.PreferenceListN(p, r.Config().N), r.PreferenceList(p)) {
			t.Fatalf("partition %d: PreferenceListN(N) differs from PreferenceList", p)
		}
		for n := 1; n <= len(walk)+1; n++ {
			list := r.PreferenceListN(p, n)
			if len(list) != min(n, len(walk)) || !slices.Equal(list, walk[:len(list)]) {
				t.Fatalf("partition %d: PreferenceListN(%d) = %v, not a prefix of %v", p, n, list, walk)
			}
			zones := map[string]bool{}
			for _, m := range list {
				zones[r.Zone(m)] = true
			}
			if want := min(len(list), r.Zones()); len(zones) != want {
				t.Fatalf("partition %d: PreferenceListN(%d) spans %d zones, want %d", p, n, len(zones), want)
			}
		}
		for i, m := range walk {
			if r.Rank(p, m) != i {
				t.Fatalf("Rank(%d, %s) = %d, want %d", p, m, r.Rank(p, m), i)
			}
		}
	}
	if r.Rank(0, "nobody") != -1 || len(r.PreferenceListN(0, 0)) != 0 {
		t.Error("Rank of a stranger or a zero-length list")
	}
}
