package node

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// BenchmarkHintDrain measures how fast hints drain to a returning node
// while the cluster serves half of its peak write load, and what the drain
// does to that load's tail: n4 is cut off while keys are written with W=3
// (the three others keep hints for it), then healed. The foreground's peak
// is measured first (8 unpaced writers); its p99 is taken for 2 s before
// the heal and again during the drain. The delivery runs at the default
// rate limit and unlimited. Run with -benchtime 1x.
func BenchmarkHintDrain(b *testing.B) {
	const keys = 30_000
	for _, limit := range []float64{DefaultConfig().HintRate, 1e9} {
		b.Run(fmt.Sprintf("rate=%g", limit), func(b *testing.B) {
			c := startCluster(b, LocalClusterOptions{Nodes: 4, Configure: func(i int, cfg *Config) {
				manualLoops(i, cfg)
				cfg.HintRate = limit
			}})
			for range b.N {
				c.Net.Isolate("n4")
				queued := writeHints(b, c, keys)
				peak := foreground(c, nil, 2*time.Second)
				lim := rate.NewLimiter(rate.Limit(peak.rate/2), 8)
				base := foreground(c, lim, 2*time.Second)
				c.Net.Heal()
				var during loadStats
				done := make(chan struct{})
				ctx, stop := context.WithCancel(context.Background())
				go func() { defer close(done); during = foregroundUntil(ctx, c, lim) }()
				start := time.Now()
				for hintsPending(c) > 0 {
					var dw sync.WaitGroup
					for i := range 3 {
						dw.Go(func() { _ = c.Node(i).DeliverHintsOnce(context.Background()) })
					}
					dw.Wait()
				}
				elapsed := time.Since(start)
				stop()
				<-done
				b.ReportMetric(float64(queued), "hints")
				b.ReportMetric(float64(queued)/elapsed.Seconds(), "hints/s")
				b.ReportMetric(peak.rate, "peak-writes/s")
				b.ReportMetric(during.rate, "load-writes/s")
				b.ReportMetric(base.p99.Seconds()*1000, "p99-before-ms")
				b.ReportMetric(during.p99.Seconds()*1000, "p99-drain-ms")
			}
		})
	}
}

// writeHints writes keys with W=3 through the first three nodes while n4
// is cut off, and returns the hints they hold for it.
func writeHints(b *testing.B, c *LocalCluster, keys int) int {
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < keys; i += 8 {
				key := []byte(fmt.Sprintf("h%06d", i))
				if _, err := c.Node(i%3).Put(context.Background(), WriteRequest{Key: key, Value: make([]byte, 100), W: 3}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return hintsPending(c)
}

func hintsPending(c *LocalCluster) int {
	p := 0
	for i := range 3 {
		p += int(c.Node(i).HintStats()["n4"].Pending)
	}
	return p
}

type loadStats struct {
	rate float64
	p99  time.Duration
}

// foreground runs 8 writers (paced by lim when set) for d.
func foreground(c *LocalCluster, lim *rate.Limiter, d time.Duration) loadStats {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return foregroundUntil(ctx, c, lim)
}

func foregroundUntil(ctx context.Context, c *LocalCluster, lim *rate.Limiter) loadStats {
	var mu sync.Mutex
	var lat []time.Duration
	start := time.Now()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			var mine []time.Duration
			for i := 0; ; i++ {
				if lim != nil && lim.Wait(ctx) != nil || ctx.Err() != nil {
					break
				}
				key := []byte(fmt.Sprintf("load%d-%d", w, i))
				t0 := time.Now()
				if _, err := c.Node(w%3).Put(ctx, WriteRequest{Key: key, Value: make([]byte, 100)}); err == nil {
					mine = append(mine, time.Since(t0))
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if len(lat) == 0 {
		return loadStats{}
	}
	slices.Sort(lat)
	return loadStats{rate: float64(len(lat)) / elapsed.Seconds(), p99: lat[len(lat)*99/100]}
}
