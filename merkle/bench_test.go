package merkle

import (
	"fmt"
	"testing"
	"time"
)

func benchKeys(n int) [][]byte {
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "user:%08d", i)
	}
	return keys
}

// benchValue is about the size of a one-sibling encoded set.
var benchValue = make([]byte, 100)

func BenchmarkUpdate(b *testing.B) {
	keys := benchKeys(1 << 16)
	old, nv := benchValue, append([]byte{1}, benchValue[1:]...)
	b.Run("overwrite", func(b *testing.B) {
		t := newTree(b, DefaultConfig())
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			t.Update(keys[i&(len(keys)-1)], old, nv)
			i++
		}
	})
	b.Run("insert", func(b *testing.B) {
		t := newTree(b, DefaultConfig())
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			t.Update(keys[i&(len(keys)-1)], nil, nv)
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		t := newTree(b, DefaultConfig())
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				t.Update(keys[i&(len(keys)-1)], old, nv)
				i += 7
			}
		})
	})
	b.Run("parallel-with-reader", func(b *testing.B) {
		t := newTree(b, DefaultConfig())
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			for {
				select {
				case <-stop:
					return
				default:
					t.Root()
				}
			}
		}()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				t.Update(keys[i&(len(keys)-1)], old, nv)
				i += 7
			}
		})
	})
}

// BenchmarkRootAfterUpdates measures n updates followed by one Root, and
// reports the Root's share (the lazy recomputation) as root-ns/op.
func BenchmarkRootAfterUpdates(b *testing.B) {
	keys := benchKeys(1 << 16)
	for _, n := range []int{1, 100, 10_000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			t := newTree(b, DefaultConfig())
			b.ReportAllocs()
			var root time.Duration
			i := 0
			for b.Loop() {
				for range n {
					t.Update(keys[i&(len(keys)-1)], nil, benchValue)
					i++
				}
				start := time.Now()
				t.Root()
				root += time.Since(start)
			}
			b.ReportMetric(float64(root.Nanoseconds())/float64(b.N), "root-ns/op")
		})
	}
}

func BenchmarkDiffLeaves(b *testing.B) {
	keys := benchKeys(100_000)
	base := newTree(b, DefaultConfig())
	for _, k := range keys {
		base.Update(k, nil, benchValue)
	}
	for _, k := range []int{0, 1, 10, 100, 1000} {
		b.Run(fmt.Sprintf("differing=%d", k), func(b *testing.B) {
			other := newTree(b, DefaultConfig())
			for i, key := range keys {
				if i < k {
					continue // k keys missing: up to k leaves differ
				}
				other.Update(key, nil, benchValue)
			}
			leaves, compared, _ := DiffLeaves(base, other)
			b.ReportAllocs()
			for b.Loop() {
				DiffLeaves(base, other)
			}
			b.ReportMetric(float64(len(leaves)), "leaves")
			b.ReportMetric(float64(compared), "compared")
		})
	}
}

func BenchmarkBuild100k(b *testing.B) {
	keys := benchKeys(100_000)
	b.ReportAllocs()
	for b.Loop() {
		t := newTree(b, DefaultConfig())
		for _, k := range keys {
			t.Update(k, nil, benchValue)
		}
		t.Root()
	}
}

func BenchmarkDiffEntries(b *testing.B) {
	const n = 1000
	mine, theirs := make([]Entry, n), make([]Entry, n)
	for i, k := range benchKeys(n) {
		mine[i] = Entry{Key: k, Hash: uint64(i)}
		theirs[i] = Entry{Key: k, Hash: uint64(i)}
	}
	theirs[n/2].Hash++
	b.ReportAllocs()
	for b.Loop() {
		DiffEntries(mine, theirs)
	}
}

func BenchmarkDecodeEntries(b *testing.B) {
	es := make([]Entry, 1000)
	for i, k := range benchKeys(len(es)) {
		es[i] = Entry{Key: k, Hash: uint64(i)}
	}
	enc, _ := AppendEntries(nil, es)
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		DecodeEntries(enc)
	}
}
