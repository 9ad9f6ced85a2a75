package store

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BenchmarkUpdateConcurrent is many replicas' merges and mints arriving at
// once: every op is an Update that reads the key's 1 KiB value and writes a
// new one. Goroutines = parallelism × GOMAXPROCS (run with -cpu 2).
//
//   - distinct: each goroutine cycles through 100 keys of its own;
//   - overlap: all goroutines pick from 256 shared keys, so writers of one
//     key (and of one stripe) queue behind each other.
//
// Every key is written once before timing starts, so each op overwrites.
//
// Besides ns/op it reports cpu-ns/op, the process's user+system CPU per
// op (badger's flushes and compactions included), and, where the store
// exposes them, the commits badger saw per op.
//
//	go test -run '^$' -bench UpdateConcurrent -cpu 2 -benchtime 20000x ./store/
func BenchmarkUpdateConcurrent(b *testing.B) {
	for _, synced := range []bool{false, true} {
		for _, par := range []int{32, 128} {
			for _, shared := range []bool{false, true} {
				name := fmt.Sprintf("sync=%v/g=%d×P/keys=%s", synced, par, map[bool]string{false: "distinct", true: "overlap"}[shared])
				b.Run(name, func(b *testing.B) { benchUpdateConcurrent(b, Options{SyncWrites: synced}, par, shared) })
			}
		}
	}
}

func benchUpdateConcurrent(b *testing.B, opts Options, parallelism int, shared bool) {
	s := openTest(b, opts)
	v := randomValue(4, benchValueSize)
	// Rewrite the value each time so every op really writes 1 KiB, and
	// look at old so the read is not optimised away by the reader.
	fn := func(old []byte, exists bool) ([]byte, error) {
		nv := make([]byte, len(v))
		copy(nv, v)
		if exists && len(old) > 0 {
			nv[0] = old[0] + 1
		}
		return nv, nil
	}
	key := func(g, i int) (uint16, []byte) {
		if shared {
			n := (g*7919 + i) % 256
			return uint16(n % 16), benchKey(n)
		}
		return uint16(g % 256), benchKey(g*1_000_000 + i%100)
	}
	goroutines := parallelism * runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for g := 1; g <= goroutines; g++ {
		n := 100 // the goroutine's own keys
		if shared {
			if g > 1 {
				break
			}
			n = 256 // the shared keys, once
		}
		wg.Go(func() {
			for i := range n {
				p, k := key(g, i)
				if err := s.Update(p, k, fn); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()

	var next atomic.Int64
	b.SetBytes(benchValueSize)
	b.SetParallelism(parallelism)
	cpu0 := cpuTime()
	start := commitCount(s)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		g := int(next.Add(1))
		for i := 0; pb.Next(); i++ {
			p, k := key(g, i)
			if err := s.Update(p, k, fn); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	if start >= 0 { // the store counts its commits
		b.ReportMetric(float64(b.N)/float64(max(commitCount(s)-start, 1)), "ops/commit")
	}
}

// cpuTime is the process's user plus system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
