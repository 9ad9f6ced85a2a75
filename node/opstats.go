package node

import (
	"math"
	"sync"
	"time"

	"github.com/dynkv/dynkv/clusterstatus"
)

// OpsStatus is a node's client operations as its status report shows
// them (package clusterstatus).
type OpsStatus = clusterstatus.OpsStatus

// opStats is what the status report says of client operations: counts
// since start by operation, and the rate and latency of the last half minute. The
// Prometheus histograms (metrics.go) are cumulative since start, which
// hides a slow minute behind hours of fast ones; a dashboard asks about
// now. Latencies fall into the same exponential buckets as
// dynkv_request_duration_seconds, one histogram per time slot; the slots of
// the window are merged on demand.
type opStats struct {
	now func() time.Time

	mu     sync.Mutex
	start  time.Time
	counts map[string]int64
	slots  [opSlots]opSlot
}

const (
	opSlotSpan  = 5 * time.Second
	opSlots     = 7 // the window and the slot being filled
	opBuckets   = 16
	opBucketMin = 100 * time.Microsecond
)

type opSlot struct {
	epoch   int64 // which opSlotSpan since the Unix epoch this one holds
	n       int64
	buckets [opBuckets + 1]int64 // the last one: slower than every bound
}

func newOpStats(now func() time.Time) *opStats {
	return &opStats{now: now, start: now(), counts: map[string]int64{}}
}

// bucketOf is the first bucket whose upper bound d does not exceed.
func bucketOf(d time.Duration) int {
	bound := opBucketMin
	for i := range opBuckets {
		if d <= bound {
			return i
		}
		bound *= 2
	}
	return opBuckets
}

// bucketBound is bucket i's upper bound (the last one's is its lower).
func bucketBound(i int) time.Duration {
	return opBucketMin << min(i, opBuckets-1)
}

// observe counts one operation that took d.
func (s *opStats) observe(op string, d time.Duration) {
	epoch := s.now().UnixNano() / int64(opSlotSpan)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[op]++
	sl := &s.slots[epoch%opSlots]
	if sl.epoch != epoch {
		*sl = opSlot{epoch: epoch}
	}
	sl.n++
	sl.buckets[bucketOf(d)]++
}

// report sums the counts and the window's slots.
func (s *opStats) report() OpsStatus {
	now := s.now()
	epoch := now.UnixNano() / int64(opSlotSpan)
	s.mu.Lock()
	defer s.mu.Unlock()
	out := OpsStatus{Counts: make(map[string]int64, len(s.counts))}
	for op, c := range s.counts {
		out.Counts[op] = c
		out.Total += c
	}
	var merged [opBuckets + 1]int64
	var n int64
	for _, sl := range s.slots {
		// The slot being filled and the opSlots-1 before it.
		if sl.n == 0 || sl.epoch > epoch || sl.epoch <= epoch-opSlots {
			continue
		}
		n += sl.n
		for i, c := range sl.buckets {
			merged[i] += c
		}
	}
	since := time.Unix(0, (epoch-opSlots+1)*int64(opSlotSpan))
	if s.start.After(since) {
		since = s.start
	}
	if window := now.Sub(since).Seconds(); window > 0 {
		out.WindowSeconds = math.Round(window*10) / 10
		out.PerSecond = math.Round(float64(n)/window*10) / 10
	}
	out.P99Millis = percentile(merged, n, 0.99)
	return out
}

// percentile is the upper bound, in milliseconds, of the bucket holding
// quantile q of n observations.
func percentile(buckets [opBuckets + 1]int64, n int64, q float64) float64 {
	if n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(n)))
	var seen int64
	for i, c := range buckets {
		seen += c
		if seen >= rank {
			return float64(bucketBound(i)) / float64(time.Millisecond)
		}
	}
	return float64(bucketBound(opBuckets)) / float64(time.Millisecond)
}
