package store

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
)

const benchValueSize = 1 << 10

// randomValue returns n incompressible bytes, the same for the same seed.
func randomValue(seed uint64, n int) []byte {
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24)})
	v := make([]byte, n)
	r.Read(v)
	return v
}

func benchKey(i int) []byte { return fmt.Appendf(nil, "key-%08d", i) }

// fill writes n keys of benchValueSize bytes into partition p.
func fill(b *testing.B, s *Store, p uint16, n int) {
	b.Helper()
	v := randomValue(1, benchValueSize)
	for i := range n {
		if err := s.Update(p, benchKey(i), func([]byte, bool) ([]byte, error) { return v, nil }); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	const keys = 10_000
	s := openTest(b, Options{})
	fill(b, s, 0, keys)
	b.SetBytes(benchValueSize)
	i := 0
	for b.Loop() {
		if _, err := s.Get(0, benchKey(i%keys)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkUpdate overwrites 10k keys round-robin with 1 KiB values: each op
// is a read, a write to the value log and a commit.
func BenchmarkUpdate(b *testing.B) {
	const keys = 10_000
	s := openTest(b, Options{})
	v := randomValue(2, benchValueSize)
	fn := func([]byte, bool) ([]byte, error) { return v, nil }
	b.SetBytes(benchValueSize)
	cpu0 := cpuTime()
	i := 0
	for b.Loop() {
		k := i % keys
		if err := s.Update(uint16(k%256), benchKey(k), fn); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkUpdateParallel is BenchmarkUpdate from GOMAXPROCS goroutines on
// distinct keys, where badger can batch commits.
func BenchmarkUpdateParallel(b *testing.B) {
	s := openTest(b, Options{})
	v := randomValue(3, benchValueSize)
	fn := func([]byte, bool) ([]byte, error) { return v, nil }
	var next atomic.Int64
	b.SetBytes(benchValueSize)
	cpu0 := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		g := int(next.Add(1))
		for i := 0; pb.Next(); i++ {
			if err := s.Update(uint16(g), benchKey(i%10_000), fn); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkScan scans one partition of 1,000 keys × 1 KiB among 8 such
// partitions; one op is a whole scan.
func BenchmarkScan(b *testing.B) {
	const keys = 1_000
	s := openTest(b, Options{})
	for p := range uint16(8) {
		fill(b, s, p, keys)
	}
	b.SetBytes(keys * benchValueSize)
	for b.Loop() {
		n := 0
		if err := s.Scan(3, func(k, v []byte) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		if n != keys {
			b.Fatalf("scanned %d keys; want %d", n, keys)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*keys), "ns/key")
}

func BenchmarkCount(b *testing.B) {
	const keys = 1_000
	s := openTest(b, Options{})
	for p := range uint16(8) {
		fill(b, s, p, keys)
	}
	for b.Loop() {
		if n, err := s.Count(3, nil); err != nil || n != keys {
			b.Fatalf("Count = %d, %v", n, err)
		}
	}
}
