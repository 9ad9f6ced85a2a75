package ring

import "math/bits"

// Zone weights: the owner of a partition is consistent's, which balances
// ownership only to within its Load factor (±25 % at the default 1.25),
// and with N ≥ zones a member's replica slots are the partitions it owns
// plus those its zone's rendezvous hash gives it. Drawn with equal odds,
// an owner with a quarter more partitions than the mean also ends a
// tenth or so above the mean in slots (docs/BENCHMARKS.md, "Ring: zones").
// So each member's rendezvous weight is what its zone's mean share of
// slots leaves it once its own partitions are counted: over the zone the
// weights add up to exactly the slots rendezvous hands out there, and each
// member's expected slots are its zone's mean, whatever it owns.
//
// The weights are integers and the weighted draw uses integer arithmetic
// only (negLog2), because every node must compute the same winner: the Go
// spec lets a compiler fuse floating-point operations, and math.Log has
// assembly versions on some architectures, so a float formula could place
// a partition differently on an arm64 node than on an amd64 one.

// zoneWeights sets s.weight for every member from the walks in order (as
// walkOrders lays them out, before any reordering): one pass counts, for
// every zone, the partitions its members own and the replicas it is asked
// for beyond them (forReplicaZones).
func (s *zoneSpreader) zoneWeights(order []int) {
	m := len(s.zoneOf)
	owned := make([]uint64, m)
	drawn := make([]uint64, len(s.byZone)) // zone → replicas chosen by rendezvous
	for lo := 0; lo < len(order); lo += m {
		walk := order[lo : lo+m]
		owned[walk[0]]++
		s.forReplicaZones(walk, func(z int) { drawn[z]++ })
	}
	s.weight = make([]uint64, m)
	for z, members := range s.byZone {
		var ownedInZone uint64
		for _, x := range members {
			ownedInZone += owned[x]
		}
		// Scaled by the zone's size to stay an integer: member x's share
		// of the zone's slots is (ownedInZone+drawn[z])/len(members), of
		// which it owns owned[x]. A member that owns more than its share
		// keeps weight 1 rather than none, so it can still be drawn and
		// every member stays a candidate.
		total, size := ownedInZone+drawn[z], uint64(len(members))
		for _, x := range members {
			s.weight[x] = 1
			if total > size*owned[x] {
				s.weight[x] = total - size*owned[x]
			}
		}
	}
}

// weightedWins reports whether a draw of weight wa whose hash has
// negLog2 la beats one of weight wb with lb: weighted rendezvous hashing,
// which picks the member with the largest w / -ln(u) for u = h / 2^64, so
// that each member wins a share of partitions proportional to its
// weight. The log's base cancels out, so it compares wa·lb with wb·la in
// 128 bits.
func weightedWins(wa, la, wb, lb uint64) bool {
	aHi, aLo := bits.Mul64(wa, lb)
	bHi, bLo := bits.Mul64(wb, la)
	return aHi > bHi || aHi == bHi && aLo > bLo
}

// negLog2Frac is the number of fractional bits of negLog2's result.
const negLog2Frac = 48

// negLog2 returns −log2(h / 2^64) in fixed point with negLog2Frac
// fractional bits, for h made odd (so never 0): between 2^-48 or so and
// 64, always positive. The fraction comes from squaring the mantissa, one
// bit per step (the binary logarithm by repeated squaring), truncating
// each square: exact integer steps, the same on every machine.
func negLog2(h uint64) uint64 {
	h |= 1
	k := uint64(bits.Len64(h) - 1) // log2's integer part
	mant := h << (63 - k)          // h / 2^k in [1, 2), 63 fractional bits
	var frac uint64
	for range negLog2Frac {
		hi, lo := bits.Mul64(mant, mant) // mant² in [1, 4), 126 fractional bits
		frac <<= 1
		if hi >= 1<<63 { // mant² ≥ 2: this bit is 1, and halve it
			frac |= 1
			mant = hi
		} else {
			mant = hi<<1 | lo>>63
		}
	}
	// log2(h / 2^64) = k + frac - 64, negated.
	return (64-k)<<negLog2Frac - frac
}
