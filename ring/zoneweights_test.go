package ring

import (
	"math"
	"testing"
)

// negLog2 agrees with math.Log2 to within its precision over the range of
// hashes, from the smallest to the largest.
func TestNegLog2(t *testing.T) {
	for _, h := range []uint64{0, 1, 2, 3, 1 << 20, 1<<63 - 1, 1 << 63, 0xdeadbeefcafebabe, math.MaxUint64 - 1<<20, math.MaxUint64} {
		odd := h | 1
		want := -math.Log2(float64(odd) / math.Exp2(64))
		got := float64(negLog2(h)) / math.Exp2(negLog2Frac)
		if got <= 0 || math.Abs(got-want) > 1e-9+1e-12*want {
			t.Errorf("negLog2(%#x) = %.15g, want %.15g", h, got, want)
		}
	}
}

// The fixed-point results are part of the placement function: these are
// what every machine must compute.
func TestNegLog2Fixed(t *testing.T) {
	for h, want := range map[uint64]uint64{
		1:                  0x40000000000000,
		1 << 63:            0x1000000000000,
		0xdeadbeefcafebabe: 0x33808cfd352c,
		math.MaxUint64:     0x1, // never 0: a draw always has a finite score
	} {
		if got := negLog2(h); got != want {
			t.Errorf("negLog2(%#x) = %#x, want %#x", h, got, want)
		}
	}
}

// Weighted draws give each member a share of wins proportional to its
// weight.
func TestWeightedWinsShares(t *testing.T) {
	weights := []uint64{1, 2, 3, 4}
	wins := make([]int, len(weights))
	const draws = 40000
	for p := range draws {
		best, bestLog := -1, uint64(0)
		for x, w := range weights {
			l := negLog2(splitmix(uint64(p)*16 + uint64(x)))
			if best < 0 || weightedWins(w, l, weights[best], bestLog) {
				best, bestLog = x, l
			}
		}
		wins[best]++
	}
	for x, w := range weights {
		want := float64(draws) * float64(w) / 10
		if math.Abs(float64(wins[x])-want) > 0.05*want {
			t.Errorf("weight %d won %d of %d draws, want about %.0f", w, wins[x], draws, want)
		}
	}
}

// splitmix is a stand-in for xxhash: well-mixed 64-bit values from a counter.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
