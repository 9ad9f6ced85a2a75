package node

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dynkv/dynkv/bucket"
)

// BenchmarkHandoffInSync measures a handoff pass with nothing to move, the
// steady state that every anti-entropy interval pays, on one node of a
// 3-node cluster (N=3, in-process network) whose keys are all in named
// buckets: "carts" (N=3, props set) and, one key in ten, "pairs" (N=2).
// Every node is the third replica of a third of the partitions, where it
// must look for "pairs" keys to hand off. Run with -benchtime 1x.
func BenchmarkHandoffInSync(b *testing.B) {
	const total = 100_000
	c := startCluster(b, LocalClusterOptions{Nodes: 3, Configure: manualLoops})
	for name, n := range map[string]int{"pairs": 2, "carts": 3} {
		if _, _, _, err := c.Node(0).buckets.Set(context.Background(), name, bucket.Props{N: n}); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 3 {
		if t := c.Node(i).bucketTable(); t.Props("pairs").N != 2 || t.Registry().Len() != 2 {
			b.Fatalf("%s did not apply the buckets", NodeID(i))
		}
	}
	key := func(i int) []byte {
		name := "carts"
		if i%10 == 0 {
			name = "pairs"
		}
		return bucket.Key(name, []byte(fmt.Sprintf("k%06d", i)))
	}
	loadKeys(b, c, total, key)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		moved, err := c.Node(2).HandoffOnce(context.Background())
		elapsed := time.Since(start)
		if err != nil || moved != 0 {
			b.Fatalf("an in-sync handoff pass moved %d: %v", moved, err)
		}
		b.ReportMetric(elapsed.Seconds()*1000, "ms/pass")
	}
}
