package store

import (
	"bufio"
	"bytes"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"sync"
	"testing"
	"time"
)

// BenchmarkMemory3DBs measures the process memory of three stores in one
// process, as in `dynkv dev` or a multi-node test (and of one store with a
// million keys, one node's share of a 1M-key cluster): each gets 100k × 1 KiB
// random values through Update (8 writers per store, stores in parallel),
// then a full scan of its 256 partitions and 60k Gets. Run it alone, so no
// other benchmark's memory is counted:
//
//	go test -run '^$' -bench Memory3DBs -benchtime 1x ./store/
//
// RSS includes memory-mapped table and value-log pages (RssFile), which the
// kernel can drop; RssAnon is the Go heap plus badger's off-heap buffers.
func BenchmarkMemory3DBs(b *testing.B) {
	for _, c := range []struct {
		name         string
		opts         Options
		stores, keys int
	}{
		{"defaults", Options{}, 3, 100_000},
		// For comparison: values kept in the LSM tree, as with badger's
		// default threshold (the rest of the tuning unchanged).
		{"values-in-LSM", Options{ValueThreshold: 1 << 20}, 3, 100_000},
		// One node's store holding a million keys (a replica of every key
		// of a 1M-key cluster with N=3 on three nodes).
		{"one-store-1M", Options{}, 1, 1_000_000},
	} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				memoryWorkload(b, c.opts, c.stores, c.keys)
			}
		})
	}
}

// The shape of memoryWorkload on each store: writers Updating in parallel,
// Gets after the scan, and the partitions the keys spread over.
const (
	memoryWriters, memoryGets = 8, 60_000
	memoryPartitions          = 256
)

func memoryWorkload(b *testing.B, opts Options, stores, keys int) {
	runtime.GC()
	debug.FreeOSMemory()
	resetPeakRSS()
	mem := startMemSampler(10 * time.Millisecond)
	start := time.Now()

	var f memoryFigures
	ss := openMemoryStores(b, opts, stores)
	f.afterOpen = readProcStatus()["VmRSS"]
	writeMemoryStores(b, ss, keys)
	f.writeTime = time.Since(start)
	readMemoryStores(b, ss, keys)
	f.total = time.Since(start)

	for _, s := range ss {
		l, v := s.Size()
		f.lsm, f.vlog = f.lsm+l, f.vlog+v
	}
	f.beforeClose = readProcStatus()
	for _, s := range ss {
		if err := s.Close(); err != nil {
			b.Error(err)
		}
	}
	runtime.GC()
	debug.FreeOSMemory()
	f.afterClose = readProcStatus()["VmRSS"]
	f.peak = mem.stop()
	hwm := readProcStatus()["VmHWM"]
	if hwm > f.peak.rss {
		f.peak.rss = hwm // the kernel's high-water mark catches spikes between samples
	}
	f.report(b, stores*keys)
}

// openMemoryStores opens n stores with opts, each in a directory of its own.
func openMemoryStores(b *testing.B, opts Options, n int) []*Store {
	ss := make([]*Store, n)
	for i := range ss {
		o := opts
		o.Dir = b.TempDir()
		s, err := Open(o)
		if err != nil {
			b.Fatal(err)
		}
		ss[i] = s
	}
	return ss
}

// writeMemoryStores Updates keys random values into every store, with
// memoryWriters writers per store and the stores in parallel.
func writeMemoryStores(b *testing.B, ss []*Store, keys int) {
	var wg sync.WaitGroup
	for si, s := range ss {
		for w := range memoryWriters {
			wg.Go(func() {
				r := rand.NewChaCha8([32]byte{byte(si), byte(w)})
				v := make([]byte, benchValueSize)
				fn := func([]byte, bool) ([]byte, error) { return v, nil }
				for i := w; i < keys; i += memoryWriters {
					r.Read(v) // Update does not retain v
					if err := s.Update(uint16(i%memoryPartitions), benchKey(i), fn); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
}

// readMemoryStores scans every partition of every store, checking it finds
// all keys, then does memoryGets random Gets on it; the stores in parallel.
func readMemoryStores(b *testing.B, ss []*Store, keys int) {
	var wg sync.WaitGroup
	for _, s := range ss {
		wg.Go(func() {
			n := 0
			for p := range uint16(memoryPartitions) {
				if err := s.Scan(p, func(k, v []byte) error { n++; return nil }); err != nil {
					b.Error(err)
				}
			}
			if n != keys {
				b.Errorf("scanned %d keys; want %d", n, keys)
			}
			r := rand.New(rand.NewPCG(1, 2))
			for range memoryGets {
				i := r.IntN(keys)
				if _, err := s.Get(uint16(i%memoryPartitions), benchKey(i)); err != nil {
					b.Error(err)
				}
			}
		})
	}
	wg.Wait()
}

// memoryFigures is what one memoryWorkload measured; memory is in bytes.
type memoryFigures struct {
	writeTime, total      time.Duration // since the stores were opened
	afterOpen, afterClose int64         // RSS
	beforeClose           map[string]int64
	peak                  memPeaks
	lsm, vlog             int64 // on disk
}

// report reports the peaks as metrics and logs every figure; updates is
// the number of Updates written.
func (f memoryFigures) report(b *testing.B, updates int) {
	mib := func(n int64) float64 { return float64(n) / (1 << 20) }
	b.ReportMetric(mib(f.peak.rss), "peakRSS-MiB")
	b.ReportMetric(mib(f.peak.anon), "peakAnon-MiB")
	b.ReportMetric(mib(f.peak.heap), "peakHeap-MiB")
	b.Logf("writes %v (%.0f Updates/s), total %v; RSS after open %.0f MiB, peak %.0f MiB "+
		"(anon %.0f, heap %.0f), before Close %.0f MiB (anon %.0f), after Close %.0f MiB; "+
		"on disk: LSM %.1f MiB, value log %.1f MiB",
		f.writeTime.Round(time.Millisecond), float64(updates)/f.writeTime.Seconds(), f.total.Round(time.Millisecond),
		mib(f.afterOpen), mib(f.peak.rss), mib(f.peak.anon), mib(f.peak.heap),
		mib(f.beforeClose["VmRSS"]), mib(f.beforeClose["RssAnon"]), mib(f.afterClose), mib(f.lsm), mib(f.vlog))
}

// memPeaks holds the largest values seen by a memSampler, in bytes.
type memPeaks struct{ rss, anon, heap int64 }

type memSampler struct {
	stopc chan struct{}
	done  chan memPeaks
}

// startMemSampler polls RSS, anonymous RSS and the Go heap every interval.
func startMemSampler(interval time.Duration) *memSampler {
	m := &memSampler{stopc: make(chan struct{}), done: make(chan memPeaks, 1)}
	go func() {
		var p memPeaks
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			st := readProcStatus()
			metrics.Read(sample)
			p.rss = max(p.rss, st["VmRSS"])
			p.anon = max(p.anon, st["RssAnon"])
			p.heap = max(p.heap, int64(sample[0].Value.Uint64()))
			select {
			case <-m.stopc:
				m.done <- p
				return
			case <-t.C:
			}
		}
	}()
	return m
}

func (m *memSampler) stop() memPeaks {
	close(m.stopc)
	return <-m.done
}

// resetPeakRSS resets VmHWM (Linux ≥ 4.0); elsewhere it does nothing.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// readProcStatus returns the kB fields of /proc/self/status, in bytes. It is
// empty where /proc does not exist.
func readProcStatus() map[string]int64 {
	out := map[string]int64{}
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return out
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var name string
		var kb int64
		f := bytes.Fields(sc.Bytes())
		if len(f) != 3 || string(f[2]) != "kB" {
			continue
		}
		name = string(bytes.TrimSuffix(f[0], []byte(":")))
		kb, err = strconv.ParseInt(string(f[1]), 10, 64)
		if err == nil {
			out[name] = kb << 10
		}
	}
	return out
}
