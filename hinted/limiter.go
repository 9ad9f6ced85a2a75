package hinted

import (
	"context"
	"math"
	"sync"
	"time"
)

// limiter spaces sends Rate per second apart across every caller, using the
// generic cell rate algorithm: tat is the theoretical arrival time of the
// next send, and a send may go at tat - tolerance, where tolerance lets a
// few sends through back to back to absorb timer jitter. In any interval t
// at most burst + t×rate sends start.
//
// A waiter reserves its slot before sleeping and never re-reads the clock
// afterwards, so an injected clock that a real sleep does not advance slows
// a test down but cannot make it spin.
type limiter struct {
	interval  time.Duration // between sends; 0 means unlimited
	tolerance time.Duration // (burst-1) × interval
	now       func() time.Time
	sleep     func(context.Context, time.Duration) error

	mu  sync.Mutex
	tat time.Time
}

// burstWindow is how much sending time the limiter lets through at once:
// burst = max(1, rate × burstWindow).
const burstWindow = 10 * time.Millisecond

func newLimiter(rate float64, now func() time.Time, sleep func(context.Context, time.Duration) error) *limiter {
	l := &limiter{now: now, sleep: sleep}
	if math.IsInf(rate, 1) {
		return l
	}
	l.interval = time.Duration(float64(time.Second) / rate)
	if l.interval <= 0 {
		return l // faster than one per nanosecond: unlimited
	}
	burst := max(1, int64(rate*burstWindow.Seconds()))
	l.tolerance = time.Duration(burst-1) * l.interval
	return l
}

// wait returns when the caller may send, or ctx's error if ctx ends first.
// A cancelled wait still uses up its slot, which only slows later sends.
func (l *limiter) wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if l.interval == 0 {
		return nil
	}
	l.mu.Lock()
	now := l.now()
	tat := l.tat
	if tat.Before(now) {
		tat = now
	}
	l.tat = tat.Add(l.interval)
	l.mu.Unlock()
	if d := tat.Add(-l.tolerance).Sub(now); d > 0 {
		return l.sleep(ctx, d)
	}
	return nil
}

// sleepCtx waits for d on a real timer, or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
