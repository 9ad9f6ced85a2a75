package transport

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/dynkv/dynkv/node/internal/wire"
)

// BenchmarkTransportCall measures the framed protocol: 64 concurrent
// callers, 1 KiB bodies echoed by a peer in the same process over loopback
// (it replaced pipelined HTTP, which took twice the CPU per call:
// docs/BENCHMARKS.md, "The framed internode protocol"). cpu-µs/op is the process's CPU time
// (both sides) per call, from getrusage.
func BenchmarkTransportCall(b *testing.B) {
	body := make([]byte, 1024)
	b.Run("framed", func(b *testing.B) {
		p := startFramedPeer(b, "", echoHandler, testServerConfig())
		tr := newTestFramed(nil)
		defer tr.Close()
		benchCalls(b, tr, p.addr, body)
	})
}

func benchCalls(b *testing.B, tr Transport, addr string, body []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := tr.Call(ctx, "", addr, wire.OpRead, body); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetParallelism(32)
	before := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := tr.Call(ctx, "", addr, wire.OpRead, body); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-before).Microseconds())/float64(b.N), "cpu-µs/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
