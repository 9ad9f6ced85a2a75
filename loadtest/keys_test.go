package loadtest

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func draw(c keyChooser, n int, keys uint64) []int {
	counts := make([]int, keys)
	for range n {
		counts[c.next()]++
	}
	return counts
}

func TestUniformKeys(t *testing.T) {
	const keys, n = 10, 100_000
	counts := draw(&uniformKeys{rng: rand.New(rand.NewPCG(1, 2)), keys: keys}, n, keys)
	for k, c := range counts {
		if math.Abs(float64(c)-n/keys) > 0.05*n/keys {
			t.Errorf("key %d drawn %d times, want %d ± 5%%", k, c, n/keys)
		}
	}
}

// TestScrambledZipfian checks YCSB's default: the most popular key takes
// about 1/ζ(10^10, 0.99) ≈ 3.8 % of draws whatever the key count, and the
// popular keys are scattered rather than neighbours.
func TestScrambledZipfian(t *testing.T) {
	const keys, n = 10_000, 200_000
	z := newScrambledZipfian(keys, DefaultZipfianConstant)
	counts := draw(&scrambledZipfianKeys{z: z, rng: rand.New(rand.NewPCG(3, 4)), keys: keys}, n, keys)
	order := make([]int, keys)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return counts[b] - counts[a] })
	top := float64(counts[order[0]]) / n
	if top < 0.03 || top > 0.05 {
		t.Errorf("top key share %.3f, want about 0.038", top)
	}
	// Zipf: the 10th most popular key is drawn several times less often.
	if counts[order[0]] < 5*counts[order[9]] {
		t.Errorf("top key %d draws, 10th %d: not zipfian", counts[order[0]], counts[order[9]])
	}
	if order[1] == order[0]+1 && order[2] == order[0]+2 {
		t.Errorf("the most popular keys are neighbours (%v): not scrambled", order[:3])
	}
}

// TestZipfianRanks checks Gray's generator against the distribution it
// approximates: rank r (from 0) has probability 1/((r+1)^θ ζ(n, θ)). Ranks
// 0 and 1 are drawn exactly; the rest come from a continuous
// approximation, off by up to ~12 % around rank 2 (as in YCSB).
func TestZipfianRanks(t *testing.T) {
	const items, n, theta = 100, 400_000, 0.8
	z := newZipfian(items, theta, 0)
	rng := rand.New(rand.NewPCG(5, 6))
	counts := make([]int, items)
	for range n {
		r := z.rank(rng.Float64())
		if r >= items {
			t.Fatalf("rank %d out of range", r)
		}
		counts[r]++
	}
	zeta := zeta(items, theta)
	for r := range items {
		want := n / (math.Pow(float64(r+1), theta) * zeta)
		tolerance := 0.15
		if r < 2 {
			tolerance = 0.03
		}
		if math.Abs(float64(counts[r])-want) > tolerance*want {
			t.Errorf("rank %d drawn %d times, want %.0f ± %.0f%%", r, counts[r], want, 100*tolerance)
		}
	}
	if z.rank(0) != 0 || z.rank(0.999999) >= items {
		t.Errorf("rank bounds: %d %d", z.rank(0), z.rank(0.999999))
	}
}

// TestFNV64 pins YCSB's fnvhash64 on values worked out by hand from its
// definition (FNV-1a over 8 little-endian bytes, then Math.abs).
func TestFNV64(t *testing.T) {
	ref := func(v uint64) uint64 {
		h := uint64(14695981039346656037)
		for i := 0; i < 8; i++ {
			h = (h ^ (v >> (8 * i) & 0xff)) * 1099511628211
		}
		if int64(h) < 0 {
			return uint64(-int64(h))
		}
		return h
	}
	for _, v := range []uint64{0, 1, 2, 255, 256, 1 << 40, 9_999_999_999} {
		if got, want := fnv64(v), ref(v); got != want || int64(got) < 0 && got != 1<<63 {
			t.Errorf("fnv64(%d) = %d, want %d", v, got, want)
		}
	}
}

func TestAppendKeyAndEscape(t *testing.T) {
	if got := string(appendKey(nil, "user", 42)); got != "user42" {
		t.Errorf("appendKey: %q", got)
	}
	if got := string(appendEscapedKey(nil, []byte("a/b c%?~"))); got != "a%2Fb%20c%25%3F~" {
		t.Errorf("appendEscapedKey: %q", got)
	}
}
