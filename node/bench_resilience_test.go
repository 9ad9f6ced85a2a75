package node

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dynkv/dynkv/bucket"
)

// BenchmarkAntiEntropyRepair measures repairing k divergent keys out of M
// on one replica of a 3-node cluster (N=3, in-process network), and the
// cost of a pass between replicas already in sync. With classes=2, every
// other key is in a bucket with N=2, so each node keeps two trees per
// partition (one per N) and exchanges both. Run with -benchtime 1x.
func BenchmarkAntiEntropyRepair(b *testing.B) {
	const total = 100_000
	for _, classes := range []int{1, 2} {
		for _, k := range []int{10, 1000} {
			b.Run(fmt.Sprintf("classes=%d/M=%d/k=%d", classes, total, k), func(b *testing.B) {
				benchAntiEntropy(b, classes, total, k)
			})
		}
	}
}

// benchKey is key i of the benchmark: with two classes, odd keys are in
// the bucket "pairs" (N=2).
func benchKey(classes, i int) []byte {
	key := []byte(fmt.Sprintf("k%06d", i))
	if classes == 2 && i%2 == 1 {
		return bucket.Key("pairs", key)
	}
	return key
}

func benchAntiEntropy(b *testing.B, classes, total, k int) {
	c := startCluster(b, LocalClusterOptions{Nodes: 3, Configure: manualLoops})
	if classes == 2 {
		if _, _, _, err := c.Node(0).buckets.Set(context.Background(), "pairs", bucket.Props{N: 2}); err != nil {
			b.Fatal(err)
		}
		for i := range 3 {
			if c.Node(i).bucketTable().Props("pairs").N != 2 {
				b.Fatalf("%s did not apply the bucket", NodeID(i))
			}
		}
	}
	loadKeys(b, c, total, func(i int) []byte { return benchKey(classes, i) })
	for range b.N {
		c.Net.Isolate("n3")
		for i := range k {
			key := benchKey(classes, i*(total/k)) // even: the default bucket
			if _, err := c.Node(0).Put(context.Background(), WriteRequest{Key: key, Value: []byte("diverged"), W: 2}); err != nil {
				b.Fatal(err)
			}
		}
		// A write's attempt at n3 still in flight would deliver it once
		// healed, before the pass: wait until the coordinator gave up.
		for deadline := time.Now().Add(30 * time.Second); c.Node(0).coord.Background() > 0; {
			if time.Now().After(deadline) {
				b.Fatal("the writes' background attempts did not end")
			}
			time.Sleep(time.Millisecond)
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
		b.ReportMetric(float64(st.Exchanges), "in-sync-exchanges")
	}
}

// loadKeys writes keys key(0..total-1) of 100 bytes on all their
// replicas (W is the bucket's N), through the nodes in turn.
func loadKeys(b *testing.B, c *LocalCluster, total int, key func(i int) []byte) {
	b.Helper()
	var wg sync.WaitGroup
	var failed atomic.Int64
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < total; i += 8 {
				k := key(i)
				req := WriteRequest{Key: k, Value: make([]byte, 100), W: c.Node(0).bucketTable().PropsOf(k).N}
				if _, err := c.Node(i%c.Size()).Put(context.Background(), req); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if failed.Load() > 0 {
		b.Fatalf("%d loads failed", failed.Load())
	}
}
