package node

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// BenchmarkClusterHTTP measures client PUT and GET through a 3-node cluster
// (N=3, R=2, W=2) with real HTTP for the client API and between nodes, 64
// concurrent clients, 1 KiB values. It reports throughput and latency
// percentiles; run with -benchtime=10s for stable figures.
//
// Each PUT carries the context the key's previous PUT returned, as a client
// updating its own data would: blind writes are concurrent with everything
// and would (correctly) pile up siblings.
func BenchmarkClusterHTTP(b *testing.B) {
	// Production-sized stores on the ordinary temporary directory: the
	// figures compare with serve's.
	c, err := StartLocalCluster(LocalClusterOptions{Nodes: 3, HTTP: true, Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	clients := make([]*fasthttp.HostClient, 3)
	for i := range clients {
		clients[i] = &fasthttp.HostClient{Addr: c.Addr(i), MaxConns: 256}
	}
	value := make([]byte, 1024)
	const keys = 10000
	var contexts sync.Map // key -> last context
	for _, op := range []string{"PUT", "GET"} {
		b.Run(op, func(b *testing.B) {
			var mu sync.Mutex
			var lat []time.Duration
			errs, siblingReads := 0, 0
			b.SetParallelism(32) // 2 CPUs x 32 = 64 clients
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				rng := rand.New(rand.NewPCG(rand.Uint64(), 0))
				req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
				defer fasthttp.ReleaseRequest(req)
				defer fasthttp.ReleaseResponse(resp)
				var mine []time.Duration
				bad, multi := 0, 0
				for pb.Next() {
					node, key := rng.IntN(3), rng.IntN(keys)
					req.Reset()
					req.SetRequestURI(fmt.Sprintf("http://%s/kv/bench-%d", c.Addr(node), key))
					req.Header.SetMethod(op)
					if op == "PUT" {
						req.SetBodyRaw(value)
						if ctx, ok := contexts.Load(key); ok {
							req.Header.Set(HeaderContext, ctx.(string))
						}
					}
					t0 := time.Now()
					err := clients[node].Do(req, resp)
					mine = append(mine, time.Since(t0))
					if op == "PUT" && err == nil && resp.StatusCode() == 204 {
						contexts.Store(key, string(resp.Header.Peek(HeaderContext)))
					}
					switch {
					case err != nil || resp.StatusCode() >= 400 && resp.StatusCode() != 404:
						bad++
					case resp.StatusCode() == 300:
						multi++
					}
				}
				mu.Lock()
				lat = append(lat, mine...)
				errs += bad
				siblingReads += multi
				mu.Unlock()
			})
			elapsed := time.Since(start)
			slices.Sort(lat)
			pct := func(p float64) float64 {
				if len(lat) == 0 {
					return 0
				}
				return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
			}
			b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "ops/s")
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
			b.ReportMetric(pct(0.999), "p99.9-ms")
			b.ReportMetric(float64(errs), "errors")
			if op == "GET" {
				b.ReportMetric(100*float64(siblingReads)/float64(max(1, len(lat))), "%siblings")
			}
		})
	}
}
