package main

import (
	"log/slog"
	"math"
	"os"
	"runtime/debug"

	"github.com/dynkv/dynkv/node"
)

// limitsFlags bound what a node holds for requests (docs/DESIGN.md,
// "Memory bounds").
type limitsFlags struct {
	maxInflightBytes int
}

func (l *limitsFlags) register(f *flags) {
	d := node.DefaultConfig()
	f.bytes(&l.maxInflightBytes, "max-inflight-bytes", d.MaxInflightBytes,
		"most bytes of request bodies (a `size`) held at once; past it a client gets 503 overloaded, which the SDK retries elsewhere. "+
			"At least the internode limit (64 MiB), which is kept for peers, plus --max-value-bytes + 64 KiB")
}

// apply sets the cap. Left at its default, it grows with --max-value-bytes
// to the least the node accepts, as the internode limit does; given
// explicitly, Validate reports it if too small.
func (l *limitsFlags) apply(c *node.Config, f *flags) {
	c.MaxInflightBytes = l.maxInflightBytes
	if !f.isSet("max-inflight-bytes") {
		c.MaxInflightBytes = max(l.maxInflightBytes, c.MinInflightBytes())
	}
}

// memoryHeadroom is the Go heap a node needs beside request bodies: the
// store's memtables and caches, connection buffers, the runtime; measured
// at under 200 MiB with 500 connections (docs/DESIGN.md, "Memory bounds").
const memoryHeadroom = 256 << 20

// applyMemoryLimit gives the Go runtime a soft memory limit of the node's
// in-flight cap plus memoryHeadroom, unless GOMEMLIMIT set one. Without it
// the collector lets the heap grow to twice what is live, and a node busy
// with 1 MiB writes, all garbage within milliseconds, held twice the
// memory it used. The limit is soft: past it the collector works harder
// (at most half the CPU), it never fails an allocation.
func applyMemoryLimit(c node.Config, log *slog.Logger) {
	if current := debug.SetMemoryLimit(-1); current != math.MaxInt64 {
		log.Info("memory limit from GOMEMLIMIT", "bytes", current)
		return
	}
	limit := int64(c.MaxInflightBytes) + memoryHeadroom
	debug.SetMemoryLimit(limit)
	log.Info("memory limit set from --max-inflight-bytes (GOMEMLIMIT overrides it)", "bytes", limit)
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(limitedGCPercent)
	}
}

// limitedGCPercent is the collector's target while the memory limit bounds
// the heap. At the default 100 a node with ~22 MB live data aimed at a 44 MB
// heap under a 512 MiB limit and collected about once a second, four to six
// times a second during compactions, with mark assists of up to 35 ms per
// goroutine (docs/BENCHMARKS.md, "Tail stalls"). The limit, not GOGC, is
// what keeps memory bounded; GOGC in the environment overrides this.
const limitedGCPercent = 400
