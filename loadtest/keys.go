package loadtest

import (
	"math"
	"math/rand/v2"
	"strconv"
)

// A keyChooser picks the next key index in [0, keys). Each worker has its
// own: choosers are not safe for concurrent use.
type keyChooser interface {
	next() uint64
}

type uniformKeys struct {
	rng  *rand.Rand
	keys uint64
}

func (u *uniformKeys) next() uint64 { return u.rng.Uint64N(u.keys) }

// zipfian is Gray et al.'s generator ("Quickly generating billion-record
// synthetic databases", SIGMOD 1994) as YCSB's ZipfianGenerator implements
// it: rank 0 is the most popular item. The constants are shared by all
// workers; each draws with its own source.
type zipfian struct {
	items               float64
	theta, alpha, zetan float64
	eta, half           float64 // half is 1 + 0.5^θ
}

// ycsbItemCount and ycsbZetan are YCSB's ScrambledZipfianGenerator
// constants: with the default θ it draws ranks from 10^10 items, whose ζ
// it has precomputed, and hashes them onto the key space.
const (
	ycsbItemCount = 10_000_000_000
	ycsbZetan     = 26.46902820178302
)

// newZipfian prepares a zipfian over items with constant theta. zetan is
// ζ(items, θ) when already known, else 0 to compute it (O(items)).
func newZipfian(items uint64, theta, zetan float64) *zipfian {
	if zetan == 0 {
		zetan = zeta(items, theta)
	}
	n := float64(items)
	zeta2 := zeta(2, theta)
	return &zipfian{
		items: n, theta: theta, alpha: 1 / (1 - theta), zetan: zetan,
		eta:  (1 - math.Pow(2/n, 1-theta)) / (1 - zeta2/zetan),
		half: 1 + math.Pow(0.5, theta),
	}
}

// zeta is Σ_{i=1..n} 1/i^θ.
func zeta(n uint64, theta float64) float64 {
	sum := 0.0
	for i := uint64(1); i <= n; i++ {
		sum += 1 / math.Pow(float64(i), theta)
	}
	return sum
}

// rank draws a rank in [0, items) for the uniform draw u in [0, 1).
func (z *zipfian) rank(u float64) uint64 {
	uz := u * z.zetan
	switch {
	case uz < 1:
		return 0
	case uz < z.half:
		return 1
	}
	r := uint64(z.items * math.Pow(z.eta*u-z.eta+1, z.alpha))
	return min(r, uint64(z.items)-1)
}

// newScrambledZipfian is YCSB's ScrambledZipfianGenerator: zipfian ranks
// scattered over the key space by FNV-1a, so the popular keys are not
// neighbours. With the default θ it uses YCSB's 10^10-item rank space and
// precomputed ζ; with another θ the rank space is the key space itself.
func newScrambledZipfian(keys uint64, theta float64) *zipfian {
	if theta == DefaultZipfianConstant {
		return newZipfian(ycsbItemCount, theta, ycsbZetan)
	}
	return newZipfian(keys, theta, 0)
}

type scrambledZipfianKeys struct {
	z    *zipfian
	rng  *rand.Rand
	keys uint64
}

func (s *scrambledZipfianKeys) next() uint64 {
	return fnv64(s.z.rank(s.rng.Float64())) % s.keys
}

// fnv64 is YCSB's Utils.fnvhash64: FNV-1a over the 8 little-endian bytes
// of v, made non-negative as Java's Math.abs of a long would.
func fnv64(v uint64) uint64 {
	h := uint64(0xCBF29CE484222325)
	for range 8 {
		h ^= v & 0xff
		h *= 1099511628211
		v >>= 8
	}
	if int64(h) < 0 {
		h = -h // Math.abs; MinInt64 stays itself, as in Java, and is still < 2^64
	}
	return h
}

// appendKey appends the key of index i: the prefix and i in decimal.
func appendKey(dst []byte, prefix string, i uint64) []byte {
	dst = append(dst, prefix...)
	return strconv.AppendUint(dst, i, 10)
}
