package hinted

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

// Concurrent callers on a clock that stands still: each is let through at
// now + the sleep it was given, so the schedule is exact whatever the
// interleaving. Any second of it holds at most rate + burst - 1 slots, and
// slot k is at max(0, k - (burst-1)) intervals.
func TestLimiterSchedule(t *testing.T) {
	for _, tc := range []struct {
		rate  float64
		burst int
	}{{1, 1}, {50, 1}, {500, 5}, {1e4, 100}} {
		t0 := time.Unix(1000, 0)
		var mu sync.Mutex
		var slots []time.Duration
		l := newLimiter(tc.rate, func() time.Time { return t0 }, func(_ context.Context, d time.Duration) error {
			mu.Lock()
			slots = append(slots, d)
			mu.Unlock()
			return nil
		})
		n := 3*int(tc.rate) + 11
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range n / 8 {
					if err := l.wait(context.Background()); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		n = n / 8 * 8
		// Callers let through without sleeping were at t0.
		for len(slots) < n {
			slots = append(slots, 0)
		}
		slices.Sort(slots)
		interval := time.Duration(float64(time.Second) / tc.rate)
		for k, s := range slots {
			if want := time.Duration(max(0, k-(tc.burst-1))) * interval; s != want {
				t.Fatalf("rate %v: slot %d at %v; want %v", tc.rate, k, s, want)
			}
		}
		for i, j := 0, 0; i < len(slots); i++ {
			for j < len(slots) && slots[j]-slots[i] < time.Second {
				j++
			}
			if j-i > int(tc.rate)+tc.burst-1 {
				t.Fatalf("rate %v: %d slots in the second from %v", tc.rate, j-i, slots[i])
			}
		}
	}
}

func TestLimiterUnlimited(t *testing.T) {
	for _, rate := range []float64{inf, 2e9} {
		l := newLimiter(rate, time.Now, func(context.Context, time.Duration) error {
			t.Fatal("unlimited limiter slept")
			return nil
		})
		for range 1000 {
			if err := l.wait(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := newLimiter(inf, time.Now, nil).wait(ctx); err != context.Canceled {
		t.Fatalf("wait on a cancelled context = %v", err)
	}
}
