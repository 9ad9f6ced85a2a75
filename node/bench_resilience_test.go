package node

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkAntiEntropyRepair measures repairing k divergent keys out of M
// on one replica of a 3-node cluster (N=3, in-process network), and the
// cost of a pass between replicas already in sync. Run with -benchtime 1x.
func BenchmarkAntiEntropyRepair(b *testing.B) {
	const total = 100_000
	for _, k := range []int{10, 1000} {
		b.Run(fmt.Sprintf("M=%d/k=%d", total, k), func(b *testing.B) {
			c := startCluster(b, LocalClusterOptions{Nodes: 3, Configure: manualLoops})
			loadKeys(b, c, total)
			for range b.N {
				c.Net.Isolate("n3")
				for i := range k {
					key := []byte(fmt.Sprintf("k%06d", i*(total/k)))
					if _, err := c.Node(0).Put(context.Background(), WriteRequest{Key: key, Value: []byte("diverged"), W: 2}); err != nil {
						b.Fatal(err)
					}
				}
				c.Net.Heal()
				b.ResetTimer()
				start := time.Now()
				st, err := c.Node(2).AntiEntropyOnce(context.Background())
				elapsed := time.Since(start)
				b.StopTimer()
				if err != nil || st.KeysRepaired < k {
					b.Fatalf("repaired %d of %d: %v", st.KeysRepaired, k, err)
				}
				b.ReportMetric(elapsed.Seconds()*1000, "ms/repair-pass")
				b.ReportMetric(float64(st.BytesSent+st.BytesReceived), "bytes/repair-pass")
				b.ReportMetric(float64(st.KeysRepaired), "keys-repaired")
				b.ReportMetric(float64(st.Exchanges), "exchanges")

				start = time.Now()
				st, err = c.Node(2).AntiEntropyOnce(context.Background())
				elapsed = time.Since(start)
				if err != nil || st.KeysRepaired != 0 {
					b.Fatalf("in-sync pass repaired %d: %v", st.KeysRepaired, err)
				}
				b.ReportMetric(elapsed.Seconds()*1000, "ms/in-sync-pass")
				b.ReportMetric(float64(st.BytesSent+st.BytesReceived), "bytes/in-sync-pass")
			}
		})
	}
}

func loadKeys(b *testing.B, c *LocalCluster, total int) {
	b.Helper()
	var wg sync.WaitGroup
	var failed atomic.Int64
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < total; i += 8 {
				key := []byte(fmt.Sprintf("k%06d", i))
				if _, err := c.Node(i%3).Put(context.Background(), WriteRequest{Key: key, Value: make([]byte, 100), W: 3}); err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		b.Fatalf("%d loads failed", failed.Load())
	}
}
