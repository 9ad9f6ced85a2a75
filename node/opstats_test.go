package node

import (
	"testing"
	"time"
)

// TestOpStats: counts are since start; the rate and p99 cover the recent
// slots only, so a slow burst shows while it is recent and is gone once
// it has aged out of the window.
func TestOpStats(t *testing.T) {
	now := time.Unix(1_000_000, 0) // on a slot boundary
	s := newOpStats(func() time.Time { return now })
	if r := s.report(); r.Total != 0 || r.P99Millis != 0 || r.PerSecond != 0 {
		t.Fatalf("empty: %+v", r)
	}
	now = now.Add(10 * time.Second)
	for range 99 {
		s.observe("get", 300*time.Microsecond) // bucket 0.4 ms
	}
	s.observe("put", 50*time.Millisecond) // bucket 51.2 ms
	r := s.report()
	if r.Counts["get"] != 99 || r.Counts["put"] != 1 || r.Total != 100 || r.WindowSeconds != 10 || r.PerSecond != 10 {
		t.Errorf("after 100 ops in 10 s: %+v", r)
	}
	if r.P99Millis != 0.4 {
		t.Errorf("p99 of 99 fast and 1 slow op = %v ms, want 0.4 (the 99th is fast)", r.P99Millis)
	}
	for range 10 {
		s.observe("put", 50*time.Millisecond)
	}
	if r := s.report(); r.P99Millis != 51.2 {
		t.Errorf("p99 with 11 slow of 110 = %v ms, want 51.2", r.P99Millis)
	}
	now = now.Add(time.Minute)
	if r := s.report(); r.Total != 110 || r.PerSecond != 0 || r.P99Millis != 0 || r.WindowSeconds != 30 {
		t.Errorf("a minute later: %+v; want the counts kept and an empty window", r)
	}
	if got := bucketOf(time.Hour); got != opBuckets || bucketBound(got) != bucketBound(opBuckets-1) {
		t.Errorf("an hour falls in bucket %d", got)
	}
}
