package ring

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/cespare/xxhash/v2"
)

// Member is a ring member and the zone (rack, availability zone, data
// centre) it runs in. The empty Zone is a zone of its own: in a cluster
// where some members name a zone and others do not, the unnamed ones are
// placed as if they all shared one zone called "".
type Member struct {
	Name string
	Zone string
}

// sortMembers sorts members by name and drops exact duplicates, so that the
// ring does not depend on their order; the same name in two zones is an
// error, since no choice between them would be the same on every node.
func sortMembers(members []Member) ([]Member, error) {
	ms := slices.Clone(members)
	slices.SortFunc(ms, func(a, b Member) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Zone, b.Zone))
	})
	ms = slices.Compact(ms)
	for i, m := range ms {
		if m.Name == "" {
			return nil, fmt.Errorf("%w: empty name", ErrInvalidMember)
		}
		if i > 0 && ms[i-1].Name == m.Name {
			return nil, fmt.Errorf("%w: %q is in zones %q and %q", ErrInvalidMember, m.Name, ms[i-1].Zone, m.Zone)
		}
	}
	return ms, nil
}

// ZonedMembers returns the members and their zones, sorted by name, in a
// new slice: what the ring was built from.
func (r *Ring) ZonedMembers() []Member {
	out := make([]Member, len(r.members))
	for i, name := range r.members {
		out[i] = Member{Name: name, Zone: r.zones[i]}
	}
	return out
}

// Zone returns member's zone; "" when it has none or is not a member.
func (r *Ring) Zone(member string) string {
	if i, ok := slices.BinarySearch(r.members, member); ok {
		return r.zones[i]
	}
	return ""
}

// Zones returns the number of distinct zones, the empty zone counted as
// one when some member has it; 0 for an empty ring.
func (r *Ring) Zones() int { return r.nZones }

// zoneIndexes numbers the distinct zones in name order.
func zoneIndexes(zones []string) map[string]int {
	distinct := slices.Compact(slices.Sorted(slices.Values(zones)))
	index := make(map[string]int, len(distinct))
	for i, z := range distinct {
		index[z] = i
	}
	return index
}

// spreadZones reorders every partition's walk in order (as walkOrders lays
// it out: member indexes, len(zones) per partition) so that its first n
// entries, the preference list, span min(n, zones) distinct zones, and the
// fallbacks from zones that hold no replica come before the others.
//
// The owner (walk[0]) stays first. The other zones are taken in the order
// the walk first reaches them, and each one's replica is the member of
// that zone that wins the partition by weighted rendezvous hashing
// (zoneRank, weighted by zoneWeights so that what a member owns and what
// it is drawn for add up to its zone's mean). When N exceeds the zones,
// the rest of the list is the earliest members left in the walk. The fallbacks keep walk order within their two
// groups. With a single zone, the empty zone of a zoneless cluster
// included, every walk is left exactly as it was, so naming no zones
// places data as before zones existed.
func spreadZones(order []int, zones []string, names []string, n int) {
	m := len(zones)
	index := zoneIndexes(zones)
	if len(index) <= 1 {
		return
	}
	s := zoneSpreader{
		names: names, zoneOf: make([]int, m), byZone: make([][]int, len(index)),
		walk: make([]int, m), taken: make([]bool, m), used: make([]bool, len(index)), spread: make([]bool, len(index)),
		want: min(n, len(index)), n: n,
	}
	for i, z := range zones {
		s.zoneOf[i] = index[z]
		s.byZone[index[z]] = append(s.byZone[index[z]], i)
	}
	s.zoneWeights(order)
	for lo := 0; lo < len(order); lo += m {
		s.reorder(lo/m, order[lo:lo+m])
	}
}

// zoneSpreader holds spreadZones' tables and scratch space.
type zoneSpreader struct {
	names   []string
	zoneOf  []int    // member index → zone index
	byZone  [][]int  // zone index → its member indexes
	walk    []int    // the walk being reordered, as it was
	taken   []bool   // by member: placed already
	used    []bool   // by zone: holds a replica of this partition
	spread  []bool   // by zone: had no replica, has a first fallback
	weight  []uint64 // by member: its rendezvous weight (zoneWeights)
	want, n int      // zones to cover, preference list length
	digest  xxhash.Digest
}

// forReplicaZones calls fn with each zone beyond the owner's that walk's
// preference list spans, in the order the walk first reaches them, until
// it spans s.want zones; s.used then marks the owner's zone and those.
// Which zones they are follows from the walk alone, so zoneWeights counts
// them before any member is chosen, and reorder chooses one in each.
func (s *zoneSpreader) forReplicaZones(walk []int, fn func(z int)) {
	clear(s.used)
	s.used[s.zoneOf[walk[0]]] = true
	spanned := 1
	for _, x := range walk {
		if spanned == s.want {
			return
		}
		if z := s.zoneOf[x]; !s.used[z] {
			s.used[z] = true
			spanned++
			fn(z)
		}
	}
}

func (s *zoneSpreader) reorder(p int, order []int) {
	copy(s.walk, order)
	clear(s.taken)
	clear(s.spread)
	out := order[:0]
	take := func(x int) {
		s.taken[x], s.used[s.zoneOf[x]] = true, true
		out = append(out, x)
	}
	take(s.walk[0])
	s.forReplicaZones(s.walk, func(z int) { take(s.zoneRank(p, z)) })
	for _, x := range s.walk {
		if len(out) == s.n {
			break
		}
		if !s.taken[x] {
			take(x)
		}
	}
	// Fallbacks in a zone without a replica first, one per zone before a
	// second from any, so that every prefix of the walk spans as many
	// zones as it can: a bucket with more replicas than the cluster's N
	// takes a longer prefix (Ring.PreferenceListN).
	for _, x := range s.walk {
		if z := s.zoneOf[x]; !s.taken[x] && !s.used[z] {
			s.taken[x], s.used[z] = true, true
			s.spread[z] = true
			out = append(out, x)
		}
	}
	for _, x := range s.walk {
		if !s.taken[x] && s.spread[s.zoneOf[x]] {
			s.taken[x] = true
			out = append(out, x)
		}
	}
	for _, x := range s.walk {
		if !s.taken[x] {
			out = append(out, x)
		}
	}
}

// zoneRank returns the member of zone z that wins partition p by weighted
// rendezvous hashing: each member's draw is xxhash64 of p (4 bytes,
// big-endian) followed by its name, judged with its weight (zoneWeights,
// weightedWins). The draws are independent, so a member joining or leaving
// changes the partitions it wins or won, and the others only as far as
// the weights shift with the partitions consistent moves. Ties go to the
// first name. Part of the placement function (package doc): never change
// it under a running cluster.
func (s *zoneSpreader) zoneRank(p int, z int) int {
	var key [4]byte
	binary.BigEndian.PutUint32(key[:], uint32(p))
	best, bestLog := -1, uint64(0)
	for _, x := range s.byZone[z] {
		s.digest.Reset()
		_, _ = s.digest.Write(key[:])
		_, _ = s.digest.WriteString(s.names[x])
		l := negLog2(s.digest.Sum64())
		if best < 0 || weightedWins(s.weight[x], l, s.weight[best], bestLog) {
			best, bestLog = x, l
		}
	}
	return best
}
