package clock

import (
	"context"
	"sync"
	"testing"
	"time"
)

var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// received reports the value on ch if one is ready now. Manual sends before
// Advance returns, so no waiting is needed.
func received(ch <-chan time.Time) (time.Time, bool) {
	select {
	case v := <-ch:
		return v, true
	default:
		return time.Time{}, false
	}
}

func TestTimerFiresAtDeadlineNotBefore(t *testing.T) {
	m := NewManual(epoch)
	tm := m.NewTimer(10 * time.Second)
	m.Advance(10*time.Second - time.Nanosecond)
	if _, ok := received(tm.C()); ok {
		t.Fatal("timer fired before its deadline")
	}
	m.Advance(time.Nanosecond)
	v, ok := received(tm.C())
	if !ok {
		t.Fatal("timer did not fire at its deadline")
	}
	if want := epoch.Add(10 * time.Second); !v.Equal(want) {
		t.Fatalf("value = %v, want deadline %v", v, want)
	}
	if got := m.Now(); !got.Equal(epoch.Add(10 * time.Second)) {
		t.Fatalf("Now = %v", got)
	}
	m.Advance(time.Hour)
	if _, ok := received(tm.C()); ok {
		t.Fatal("timer fired twice")
	}
}

func TestTimerZeroDurationFiresAtCreation(t *testing.T) {
	m := NewManual(epoch)
	for _, d := range []time.Duration{0, -time.Second} {
		tm := m.NewTimer(d)
		if v, ok := received(tm.C()); !ok || !v.Equal(epoch) {
			t.Fatalf("NewTimer(%v): got %v %v, want immediate fire at %v", d, v, ok, epoch)
		}
	}
	if n := m.Waiters(); n != 0 {
		t.Fatalf("Waiters = %d, want 0", n)
	}
}

func TestTimerStop(t *testing.T) {
	m := NewManual(epoch)
	tm := m.NewTimer(time.Second)
	if !tm.Stop() {
		t.Fatal("Stop of an armed timer = false, want true")
	}
	if tm.Stop() {
		t.Fatal("second Stop = true, want false")
	}
	m.Advance(time.Minute)
	if _, ok := received(tm.C()); ok {
		t.Fatal("stopped timer fired")
	}

	// Go 1.23+ semantics: a fired but unreceived value is discarded by
	// Stop, which then reports true.
	tm2 := m.NewTimer(time.Second)
	m.Advance(time.Second)
	if !tm2.Stop() {
		t.Fatal("Stop with a pending value = false, want true")
	}
	if _, ok := received(tm2.C()); ok {
		t.Fatal("stale value received after Stop")
	}

	tm3 := m.NewTimer(time.Second)
	m.Advance(time.Second)
	<-tm3.C()
	if tm3.Stop() {
		t.Fatal("Stop after receive = true, want false")
	}
}

func TestTimerReset(t *testing.T) {
	m := NewManual(epoch)
	tm := m.NewTimer(time.Second)
	if !tm.Reset(5 * time.Second) {
		t.Fatal("Reset of an armed timer = false, want true")
	}
	m.Advance(4 * time.Second)
	if _, ok := received(tm.C()); ok {
		t.Fatal("reset timer fired at its old deadline")
	}
	m.Advance(time.Second)
	if _, ok := received(tm.C()); !ok {
		t.Fatal("reset timer did not fire at its new deadline")
	}
	if tm.Reset(time.Second) {
		t.Fatal("Reset of a fired, received timer = true, want false")
	}
	m.Advance(time.Second)
	if _, ok := received(tm.C()); !ok {
		t.Fatal("timer re-armed by Reset did not fire")
	}

	// A pending value must not survive a Reset.
	tm.Reset(time.Second)
	m.Advance(time.Second)
	tm.Reset(time.Second)
	if _, ok := received(tm.C()); ok {
		t.Fatal("stale value received after Reset")
	}
	if tm.Reset(0); m.Waiters() != 0 {
		t.Fatal("Reset(0) left the timer armed")
	}
	if _, ok := received(tm.C()); !ok {
		t.Fatal("Reset(0) did not fire at once")
	}
}

func TestTickerFiresEachPeriodAndDropsExtra(t *testing.T) {
	m := NewManual(epoch)
	tk := m.NewTicker(time.Second)
	defer tk.Stop()
	for i := 1; i <= 3; i++ {
		m.Advance(time.Second)
		v, ok := received(tk.C())
		if !ok || !v.Equal(epoch.Add(time.Duration(i)*time.Second)) {
			t.Fatalf("tick %d: got %v %v", i, v, ok)
		}
	}
	// Ten periods with nobody receiving: one tick is buffered, the rest
	// are dropped, and Advance does not block.
	m.Advance(10 * time.Second)
	if v, ok := received(tk.C()); !ok || !v.Equal(epoch.Add(4*time.Second)) {
		t.Fatalf("buffered tick: got %v %v, want first due tick", v, ok)
	}
	if _, ok := received(tk.C()); ok {
		t.Fatal("more than one tick buffered")
	}
	// Ticks continue on the period grid after the drops.
	m.Advance(time.Second)
	if v, ok := received(tk.C()); !ok || !v.Equal(epoch.Add(14*time.Second)) {
		t.Fatalf("tick after drops: got %v %v", v, ok)
	}
}

func TestTickerStopAndReset(t *testing.T) {
	m := NewManual(epoch)
	tk := m.NewTicker(time.Second)
	m.Advance(time.Second)
	tk.Reset(3 * time.Second)
	if _, ok := received(tk.C()); ok {
		t.Fatal("stale tick received after Reset")
	}
	m.Advance(2 * time.Second)
	if _, ok := received(tk.C()); ok {
		t.Fatal("ticker fired on its old period")
	}
	m.Advance(time.Second)
	if _, ok := received(tk.C()); !ok {
		t.Fatal("ticker did not fire on its new period")
	}
	tk.Stop()
	m.Advance(time.Minute)
	if _, ok := received(tk.C()); ok || m.Waiters() != 0 {
		t.Fatal("stopped ticker fired or is still armed")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("NewTicker(0) did not panic")
		}
	}()
	m.NewTicker(0)
}

// TestAdvanceFiresInDeadlineOrder steps the loop Advance runs (advanceTo
// is "for fireNext(target) {}") one event at a time, because the order of
// sends to separate channels cannot be observed from outside without races.
func TestAdvanceFiresInDeadlineOrder(t *testing.T) {
	m := NewManual(epoch)
	delays := []time.Duration{3, 1, 4, 2, 5}
	chans := map[<-chan time.Time]time.Duration{}
	for _, d := range delays {
		chans[m.NewTimer(d*time.Second).C()] = d * time.Second
	}
	tieA := m.NewTimer(2 * time.Second).C() // ties fire in arming order
	tieB := m.NewTimer(2 * time.Second).C()
	chans[tieA], chans[tieB] = 2*time.Second, 2*time.Second
	target := epoch.Add(10 * time.Second)

	var fired []time.Duration
	var firedChans []<-chan time.Time
	for m.fireNext(target) {
		var hit []<-chan time.Time
		for ch := range chans {
			if len(ch) > 0 {
				hit = append(hit, ch)
			}
		}
		if len(hit) != 1 {
			t.Fatalf("one step fired %d timers, want 1", len(hit))
		}
		<-hit[0]
		d := chans[hit[0]]
		if got := m.Now(); !got.Equal(epoch.Add(d)) {
			t.Fatalf("Now during fire = %v, want its deadline %v", got, epoch.Add(d))
		}
		fired = append(fired, d)
		firedChans = append(firedChans, hit[0])
	}
	want := []time.Duration{1, 2, 2, 2, 3, 4, 5}
	for i := range want {
		if i >= len(fired) || fired[i] != want[i]*time.Second {
			t.Fatalf("fire order = %v, want %v (seconds)", fired, want)
		}
	}
	// The 2s timer from delays was armed before tieA and tieB.
	if firedChans[2] != tieA || firedChans[3] != tieB {
		t.Fatal("deadline ties did not fire in arming order")
	}
	if !m.Now().Equal(target) {
		t.Fatalf("Now after loop = %v, want %v", m.Now(), target)
	}
}

func TestBlockUntilThenAdvanceReleases(t *testing.T) {
	m := NewManual(epoch)
	done := make(chan time.Time)
	go func() {
		done <- <-m.After(time.Minute)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.BlockUntil(ctx, 1); err != nil {
		t.Fatalf("BlockUntil: %v", err)
	}
	if n := m.Waiters(); n != 1 {
		t.Fatalf("Waiters = %d, want 1", n)
	}
	select {
	case <-done:
		t.Fatal("goroutine released before Advance")
	default:
	}
	m.Advance(time.Minute)
	if v := <-done; !v.Equal(epoch.Add(time.Minute)) {
		t.Fatalf("released with %v", v)
	}
	if n := m.Waiters(); n != 0 {
		t.Fatalf("Waiters after fire = %d, want 0", n)
	}
}

func TestBlockUntilContextEnds(t *testing.T) {
	m := NewManual(epoch)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.BlockUntil(ctx, 1); err != context.Canceled {
		t.Fatalf("BlockUntil = %v, want context.Canceled", err)
	}
}

func TestSetNeverGoesBackwards(t *testing.T) {
	m := NewManual(epoch)
	tm := m.NewTimer(time.Hour)
	m.Set(epoch.Add(-time.Hour))
	m.Advance(-time.Hour)
	if !m.Now().Equal(epoch) {
		t.Fatalf("Now moved backwards to %v", m.Now())
	}
	m.Set(epoch.Add(2 * time.Hour))
	if _, ok := received(tm.C()); !ok {
		t.Fatal("Set past the deadline did not fire the timer")
	}
	if !m.Now().Equal(epoch.Add(2 * time.Hour)) {
		t.Fatalf("Now = %v", m.Now())
	}
}

// TestReceiverReentersManual checks that a receiver woken by Advance can
// arm and stop timers on the same Manual, possibly while Advance is still
// running, without deadlock, and that what it arms then fires normally.
func TestReceiverReentersManual(t *testing.T) {
	m := NewManual(epoch)
	first := m.NewTimer(time.Second)
	second := make(chan Timer, 1)
	go func() {
		<-first.C()
		m.NewTimer(time.Hour).Stop()
		second <- m.NewTimer(time.Second)
	}()
	m.Advance(time.Second)
	tm := <-second
	m.Advance(time.Second)
	if _, ok := received(tm.C()); !ok {
		t.Fatal("timer armed by a receiver did not fire")
	}
}

func TestConcurrentUse(t *testing.T) {
	m := NewManual(epoch)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				d := time.Duration(i%5+g) * time.Millisecond
				tm := m.NewTimer(d)
				tk := m.NewTicker(d + time.Millisecond)
				select {
				case <-tm.C():
				case <-tk.C():
				default:
				}
				tm.Reset(d)
				tm.Stop()
				tk.Reset(time.Millisecond)
				tk.Stop()
				_ = m.Waiters()
			}
		}()
	}
	for range 2000 {
		m.Advance(time.Millisecond)
		_ = m.Now()
	}
	close(stop)
	wg.Wait()
	if n := m.Waiters(); n != 0 {
		t.Fatalf("Waiters after all stopped = %d, want 0", n)
	}
}

func TestRealSanity(t *testing.T) {
	c := Real()
	start := c.Now()
	bound := time.After(5 * time.Second)

	tm := c.NewTimer(time.Millisecond)
	select {
	case <-tm.C():
	case <-bound:
		t.Fatal("real timer did not fire")
	}
	if tm.Stop() {
		t.Fatal("Stop after receive = true")
	}
	tm.Reset(time.Hour)
	if !tm.Stop() {
		t.Fatal("Stop of a re-armed timer = false")
	}

	tk := c.NewTicker(time.Millisecond)
	defer tk.Stop()
	for range 2 {
		select {
		case <-tk.C():
		case <-bound:
			t.Fatal("real ticker did not tick")
		}
	}
	tk.Reset(time.Millisecond)

	select {
	case <-c.After(time.Millisecond):
	case <-bound:
		t.Fatal("real After did not fire")
	}
	if !c.Now().After(start) {
		t.Fatal("real Now did not advance")
	}
}
