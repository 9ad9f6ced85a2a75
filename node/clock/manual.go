package clock

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// Manual is a Clock that moves only when told: for tests. Safe for
// concurrent use. Create it with NewManual; the zero value is also usable
// and starts at the zero time.
//
// Timing rules:
//   - A timer created or reset with d <= 0 fires at creation (its value is
//     in the channel before NewTimer/Reset returns) and is never armed, as
//     time.NewTimer(0) fires at once.
//   - NewTicker and Ticker.Reset panic if d <= 0, as time.NewTicker does,
//     because a zero period would make Advance loop forever.
//   - The value sent is the deadline at which the timer or tick fell due.
//   - Values are sent with a non-blocking send while the lock is held. There
//     are no callbacks, so a receiver that wakes and calls NewTimer, Stop or
//     Reset on the same Manual merely waits for the lock; it cannot deadlock.
type Manual struct {
	// advMu serialises Advance and Set, so two concurrent Advance(d) calls
	// move time by 2d in total and each fires its events in order.
	advMu sync.Mutex

	mu      sync.Mutex
	now     time.Time
	armed   waiterHeap
	seq     uint64        // breaks deadline ties in arming order
	changed chan struct{} // closed and replaced whenever a waiter is armed
}

// waiter is one timer or ticker. All fields are guarded by Manual.mu.
type waiter struct {
	m        *Manual
	ch       chan time.Time
	deadline time.Time
	period   time.Duration // 0 for a timer
	seq      uint64
	index    int // position in Manual.armed, -1 when not armed
}

// NewManual returns a Manual clock whose Now is start.
func NewManual(start time.Time) *Manual {
	return &Manual{now: start, changed: make(chan struct{})}
}

// Now returns the clock's current time.
func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// NewTimer returns a timer that fires once Now reaches Now()+d.
func (m *Manual) NewTimer(d time.Duration) Timer {
	w := &waiter{m: m, ch: make(chan time.Time, 1), index: -1}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.startLocked(w, d, 0)
	return (*manualTimer)(w)
}

// NewTicker returns a ticker that fires every d. It panics if d <= 0.
func (m *Manual) NewTicker(d time.Duration) Ticker {
	if d <= 0 {
		panic("clock: non-positive interval for NewTicker")
	}
	w := &waiter{m: m, ch: make(chan time.Time, 1), index: -1}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.startLocked(w, d, d)
	return (*manualTicker)(w)
}

// After is NewTimer(d).C().
func (m *Manual) After(d time.Duration) <-chan time.Time {
	return m.NewTimer(d).C()
}

// Advance moves time forward by d and fires, in deadline order, every timer
// and ticker due by then. A negative d is treated as 0: time never goes
// backwards.
//
// Time steps to each deadline as it fires, so a receiver that wakes and arms
// a new timer due within the remaining span sees it fire in this same call.
// A ticker delivers a tick for each period while its channel has room; once
// a tick finds the channel full, the rest of its ticks up to the target are
// dropped and its next deadline moves to the first period boundary after
// the target, as time.Ticker skips ticks for a slow receiver. That keeps
// Advance(time.Hour) on a 1ns ticker from looping 3.6e12 times.
func (m *Manual) Advance(d time.Duration) {
	if d < 0 {
		d = 0
	}
	m.advMu.Lock()
	defer m.advMu.Unlock()
	m.mu.Lock()
	target := m.now.Add(d)
	m.mu.Unlock()
	m.advanceTo(target)
}

// Set moves time to t if t is later (never backwards), firing as Advance
// does.
func (m *Manual) Set(t time.Time) {
	m.advMu.Lock()
	defer m.advMu.Unlock()
	m.advanceTo(t)
}

// advanceTo fires due waiters one at a time, taking the lock per event so
// that goroutines woken by one event can arm, stop or reset timers before
// the next event is chosen. The caller holds advMu.
func (m *Manual) advanceTo(target time.Time) {
	for m.fireNext(target) {
	}
}

// fireNext fires the earliest waiter due by target and reports whether it
// did; when none is due it moves Now to target (if later) and reports false.
func (m *Manual) fireNext(target time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.armed) == 0 || m.armed[0].deadline.After(target) {
		if target.After(m.now) {
			m.now = target
		}
		return false
	}
	w := m.armed[0]
	if w.deadline.After(m.now) {
		m.now = w.deadline
	}
	delivered := trySend(w.ch, w.deadline)
	if w.period == 0 {
		heap.Remove(&m.armed, w.index)
		return true
	}
	next := w.deadline.Add(w.period)
	if !delivered && !next.After(target) {
		// Skip every tick the full channel could not take anyway.
		skip := target.Sub(w.deadline)/w.period + 1
		next = w.deadline.Add(skip * w.period)
	}
	w.deadline = next
	heap.Fix(&m.armed, w.index)
	return true
}

// Waiters is the number of timers and tickers currently armed (not stopped,
// not yet fired for timers).
func (m *Manual) Waiters() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.armed)
}

// BlockUntil waits until at least n timers/tickers are armed, or ctx ends;
// it returns ctx.Err() then. It parks on a channel that is closed whenever a
// waiter is armed, so it never polls. Tests use it to know a goroutine is
// parked on a timer before they Advance.
func (m *Manual) BlockUntil(ctx context.Context, n int) error {
	for {
		m.mu.Lock()
		if len(m.armed) >= n {
			m.mu.Unlock()
			return nil
		}
		changed := m.changedLocked()
		m.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// changedLocked returns the current change channel, creating it so that
// the zero Manual works.
func (m *Manual) changedLocked() chan struct{} {
	if m.changed == nil {
		m.changed = make(chan struct{})
	}
	return m.changed
}

// startLocked arms w to fire d from now, or fires it at once if d <= 0 (only
// timers reach that case). It drains the channel first so that a value from
// before a Reset is never received after it.
func (m *Manual) startLocked(w *waiter, d, period time.Duration) {
	drain(w.ch)
	w.period = period
	w.deadline = m.now.Add(d)
	if d <= 0 {
		m.disarmLocked(w)
		trySend(w.ch, m.now)
		return
	}
	m.seq++
	w.seq = m.seq
	if w.index >= 0 {
		heap.Fix(&m.armed, w.index)
	} else {
		heap.Push(&m.armed, w)
	}
	close(m.changedLocked())
	m.changed = make(chan struct{})
}

// stopLocked disarms w and discards any unreceived value. It reports whether
// w was armed or had a value pending, which is what time.Timer.Stop reports
// under Go 1.23+ semantics.
func (m *Manual) stopLocked(w *waiter) bool {
	wasArmed := m.disarmLocked(w)
	return drain(w.ch) || wasArmed
}

func (m *Manual) disarmLocked(w *waiter) bool {
	if w.index < 0 {
		return false
	}
	heap.Remove(&m.armed, w.index)
	return true
}

// trySend never blocks: a value that does not fit in the buffer is dropped,
// as the time package drops ticks for a slow receiver.
func trySend(ch chan time.Time, t time.Time) bool {
	select {
	case ch <- t:
		return true
	default:
		return false
	}
}

func drain(ch chan time.Time) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// manualTimer and manualTicker are distinct types over the same waiter so
// that a Timer cannot be asserted into a Ticker.
type manualTimer waiter

func (t *manualTimer) C() <-chan time.Time { return t.ch }

func (t *manualTimer) Stop() bool {
	t.m.mu.Lock()
	defer t.m.mu.Unlock()
	return t.m.stopLocked((*waiter)(t))
}

func (t *manualTimer) Reset(d time.Duration) bool {
	w := (*waiter)(t)
	w.m.mu.Lock()
	defer w.m.mu.Unlock()
	active := w.index >= 0 || len(w.ch) > 0
	w.m.startLocked(w, d, 0)
	return active
}

type manualTicker waiter

func (t *manualTicker) C() <-chan time.Time { return t.ch }

func (t *manualTicker) Stop() {
	t.m.mu.Lock()
	defer t.m.mu.Unlock()
	t.m.stopLocked((*waiter)(t))
}

// Reset panics if d <= 0, as time.Ticker.Reset does.
func (t *manualTicker) Reset(d time.Duration) {
	if d <= 0 {
		panic("clock: non-positive interval for Ticker.Reset")
	}
	w := (*waiter)(t)
	w.m.mu.Lock()
	defer w.m.mu.Unlock()
	w.m.startLocked(w, d, d)
}

// waiterHeap orders armed waiters by deadline, then by arming order, so
// that Advance fires ties in the order they were armed.
type waiterHeap []*waiter

func (h waiterHeap) Len() int { return len(h) }

func (h waiterHeap) Less(i, j int) bool {
	if !h[i].deadline.Equal(h[j].deadline) {
		return h[i].deadline.Before(h[j].deadline)
	}
	return h[i].seq < h[j].seq
}

func (h waiterHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (h *waiterHeap) Push(x any) {
	w := x.(*waiter)
	w.index = len(*h)
	*h = append(*h, w)
}

func (h *waiterHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	old[len(old)-1] = nil
	w.index = -1
	*h = old[:len(old)-1]
	return w
}
