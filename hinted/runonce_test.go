package hinted

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// RunOnce delivers only to alive targets, to at most Concurrency at once.
func TestRunOnceAliveAndConcurrency(t *testing.T) {
	c := newClock()
	cfg := testConfig(c)
	cfg.Concurrency = 2
	q := openQueue(t, openKeyspace(t), cfg, c)
	targets := []string{"A", "B", "C", "D", "E", "F"}
	for _, target := range targets {
		add(t, q, target, "k1", "v")
		add(t, q, target, "k2", "v")
	}
	dead := map[string]bool{"C": true}

	var inflight, peak atomic.Int32
	entered := make(chan string, len(targets)*2)
	release := make(chan struct{})
	r := newRecorder()
	send := func(ctx context.Context, target string, key, value []byte) error {
		n := inflight.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		entered <- target
		<-release
		inflight.Add(-1)
		return r.send(ctx, target, key, value)
	}
	var alive []string
	var aliveMu sync.Mutex
	done := make(chan error)
	go func() {
		done <- q.RunOnce(context.Background(), func(target string) bool {
			aliveMu.Lock()
			alive = append(alive, target)
			aliveMu.Unlock()
			return !dead[target]
		}, send, noRedirect(t))
	}()
	sends := 2 * (len(targets) - len(dead))
	// Two deliveries fill both slots and no third starts; then let them all
	// run, with peak watching.
	<-entered
	<-entered
	select {
	case target := <-entered:
		t.Fatalf("a third delivery (%s) started with Concurrency 2", target)
	default:
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if p := peak.Load(); p != 2 {
		t.Fatalf("peak concurrency %d; want 2", p)
	}
	if got := q.Targets(); !slices.Equal(got, []string{"C"}) {
		t.Fatalf("Targets after RunOnce = %q; want the dead C", got)
	}
	if len(r.order) != sends {
		t.Fatalf("%d sends; want %d", len(r.order), sends)
	}
	slices.Sort(alive)
	if !slices.Equal(alive, targets) {
		t.Fatalf("alive asked about %q", alive)
	}
}

// A RunOnce that meets a target down again reports it and still delivers
// to the others.
func TestRunOnceReportsFailures(t *testing.T) {
	c := newClock()
	q := openQueue(t, openKeyspace(t), testConfig(c), c)
	add(t, q, "A", "k", "v")
	add(t, q, "B", "k", "v")
	down := errors.New("refused")
	r := newRecorder()
	r.fail = func(target, _ string) error {
		if target == "A" {
			return down
		}
		return nil
	}
	err := q.RunOnce(context.Background(), func(string) bool { return true }, r.send, noRedirect(t))
	if !errors.Is(err, down) {
		t.Fatalf("RunOnce = %v", err)
	}
	if got := q.Targets(); !slices.Equal(got, []string{"A"}) {
		t.Fatalf("Targets = %q", got)
	}
	if st := stats(q, "A"); st.Failed != 1 {
		t.Fatalf("stats A = %+v", st)
	}
	if err := q.RunOnce(context.Background(), func(string) bool { return true }, r.send, nil); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("RunOnce with nil redirect = %v", err)
	}
}

// redirectQueue opens a Queue whose Window is measured on the returned fake
// monotonic clock, with hints for target B.
func redirectQueue(t *testing.T, keys ...string) (*Queue, *monoClock, *fakeClock, Config) {
	t.Helper()
	c, m := newClock(), &monoClock{}
	cfg := testConfig(c)
	cfg.Monotonic = m.Now
	q := openQueue(t, openKeyspace(t), cfg, c)
	for _, k := range keys {
		add(t, q, "B", k, "v-"+k)
	}
	return q, m, c, cfg
}

// upExcept returns an alive callback for which only the listed targets are
// down; setting down[target] flips one.
func upExcept(targets ...string) (func(string) bool, *sync.Map) {
	var down sync.Map
	for _, target := range targets {
		down.Store(target, true)
	}
	return func(target string) bool {
		d, _ := down.Load(target)
		return d != true
	}, &down
}

// runOnce runs one pass and fails the test on its error.
func runOnce(t *testing.T, q *Queue, alive func(string) bool, send, redirect SendFunc) {
	t.Helper()
	if err := q.RunOnce(context.Background(), alive, send, redirect); err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
}

// A target down for less than Window keeps its hints; at Window they go
// through redirect, are deleted only once it returned, and are counted as
// Redirected, never sent with send. The Window counts from the first pass
// that found the target down, not from when the hints were written.
func TestRunOnceRedirectsAfterWindow(t *testing.T) {
	q, m, _, cfg := redirectQueue(t, "k1", "k2")
	add(t, q, "A", "k", "a")
	alive, _ := upExcept("B")
	sent, moved := newRecorder(), newRecorder()
	moved.fail = func(target, key string) error {
		if v := get(t, q, target, key); v == "-" {
			t.Errorf("hint %s/%s gone before redirect returned", target, key)
		}
		return nil
	}

	m.Advance(2 * cfg.Window) // hints old, but B not yet seen down
	runOnce(t, q, alive, sent.send, moved.send)
	m.Advance(cfg.Window - time.Nanosecond)
	runOnce(t, q, alive, sent.send, moved.send)
	if len(moved.order) != 0 || stats(q, "B").Pending != 2 {
		t.Fatalf("before the window: redirected %q, stats %+v", moved.order, stats(q, "B"))
	}

	m.Advance(time.Nanosecond) // down for exactly Window
	runOnce(t, q, alive, sent.send, moved.send)
	if !slices.Equal(moved.order, []string{"B/k1", "B/k2"}) || moved.got["B/k1"] != "v-k1" || moved.got["B/k2"] != "v-k2" {
		t.Fatalf("redirected %q %v", moved.order, moved.got)
	}
	if !slices.Equal(sent.order, []string{"A/k"}) {
		t.Fatalf("sent %q; want only A's hint", sent.order)
	}
	if st := stats(q, "B"); st != (TargetStats{Redirected: 2}) {
		t.Fatalf("stats B = %+v", st)
	}
	if st := stats(q, "A"); st != (TargetStats{Delivered: 1}) {
		t.Fatalf("stats A = %+v", st)
	}
	if got := q.Targets(); len(got) != 0 {
		t.Fatalf("Targets = %q", got)
	}
}

// A failing redirect keeps every hint, counts the failure, and the next
// pass retries without waiting for another Window.
func TestRunOnceRedirectFailureKeepsHints(t *testing.T) {
	q, m, _, cfg := redirectQueue(t, "k1", "k2", "k3")
	alive, _ := upExcept("B")
	unreachable := errors.New("no other replica reachable")
	moved := newRecorder()
	moved.fail = func(string, string) error { return unreachable }
	runOnce(t, q, alive, newRecorder().send, moved.send)
	m.Advance(cfg.Window)
	if err := q.RunOnce(context.Background(), alive, newRecorder().send, moved.send); !errors.Is(err, unreachable) {
		t.Fatalf("RunOnce = %v; want the redirect's error", err)
	}
	for _, k := range []string{"k1", "k2", "k3"} {
		if v := get(t, q, "B", k); v != "v-"+k {
			t.Fatalf("B/%s after a failed redirect = %q", k, v)
		}
	}
	if st := stats(q, "B"); st != (TargetStats{Pending: 3, Failed: 1}) {
		t.Fatalf("stats = %+v", st)
	}
	moved.fail = nil
	runOnce(t, q, alive, newRecorder().send, moved.send)
	if len(moved.order) != 3 || stats(q, "B") != (TargetStats{Redirected: 3, Failed: 1}) {
		t.Fatalf("retry: redirected %q, stats %+v", moved.order, stats(q, "B"))
	}
}

// A target back before Window gets its hints through send, and its
// down-since is forgotten: down again later, the Window counts afresh.
func TestRunOnceBackBeforeWindowResets(t *testing.T) {
	q, m, _, cfg := redirectQueue(t, "k1", "hot")
	alive, down := upExcept("B")
	runOnce(t, q, alive, noRedirect(t), noRedirect(t)) // B down since 0
	m.Advance(cfg.Window - time.Millisecond)
	down.Delete("B")
	sent := newRecorder()
	sent.fail = func(target, key string) error {
		if key == "hot" && sent.sends["B/hot"] == 0 {
			// Coalesced mid-send, so the hint stays and B keeps hints
			// pending: only the recovery can reset the down-since.
			add(t, q, target, key, "late")
		}
		return nil
	}
	runOnce(t, q, alive, sent.send, noRedirect(t))
	if sent.got["B/k1"] != "v-k1" || sent.got["B/hot"] != "v-hot" || stats(q, "B").Pending != 1 {
		t.Fatalf("sent %v, stats %+v", sent.got, stats(q, "B"))
	}

	down.Store("B", true)
	m.Advance(time.Millisecond) // Window since the first outage began
	runOnce(t, q, alive, noRedirect(t), noRedirect(t))
	m.Advance(cfg.Window - time.Nanosecond)
	runOnce(t, q, alive, noRedirect(t), noRedirect(t))
	moved := newRecorder()
	m.Advance(time.Nanosecond)
	runOnce(t, q, alive, noRedirect(t), moved.send)
	if !slices.Equal(moved.order, []string{"B/hot"}) || moved.got["B/hot"] != "late,v-hot" {
		t.Fatalf("redirected %q %v", moved.order, moved.got)
	}
	if st := stats(q, "B"); st != (TargetStats{Delivered: 2, Redirected: 1, Coalesced: 1}) {
		t.Fatalf("stats = %+v", st)
	}
}

// A target whose hints ran out is no longer watched (it may recover and fail
// again unseen): its next hints wait a whole Window again.
func TestRunOnceDrainedResets(t *testing.T) {
	q, m, _, cfg := redirectQueue(t, "k1")
	alive, _ := upExcept("B")
	moved := newRecorder()
	runOnce(t, q, alive, noRedirect(t), moved.send)
	m.Advance(cfg.Window)
	runOnce(t, q, alive, noRedirect(t), moved.send)
	if len(moved.order) != 1 || len(q.Targets()) != 0 {
		t.Fatalf("redirected %q, targets %q", moved.order, q.Targets())
	}
	add(t, q, "B", "k2", "v")
	m.Advance(time.Millisecond)
	runOnce(t, q, alive, noRedirect(t), moved.send)
	m.Advance(cfg.Window - time.Nanosecond)
	runOnce(t, q, alive, noRedirect(t), moved.send)
	if len(moved.order) != 1 {
		t.Fatalf("new hint redirected before its own Window: %q", moved.order)
	}
	m.Advance(time.Nanosecond)
	runOnce(t, q, alive, noRedirect(t), moved.send)
	if !slices.Equal(moved.order, []string{"B/k1", "B/k2"}) {
		t.Fatalf("redirected %q", moved.order)
	}
}

// The down-since is not persisted: a Queue reopened over the same hints
// starts counting afresh, even on a monotonic clock that kept running.
func TestRunOnceDownSinceNotPersisted(t *testing.T) {
	c, m := newClock(), &monoClock{}
	cfg := testConfig(c)
	cfg.Monotonic = m.Now
	ks := openKeyspace(t)
	q := openQueue(t, ks, cfg, c)
	add(t, q, "B", "k1", "v")
	add(t, q, "B", "k2", "v")
	alive, _ := upExcept("B")
	runOnce(t, q, alive, noRedirect(t), noRedirect(t))
	m.Advance(cfg.Window - time.Millisecond)
	runOnce(t, q, alive, noRedirect(t), noRedirect(t))

	q = openQueue(t, ks, cfg, c) // a restart
	m.Advance(time.Millisecond)  // Window since the old Queue saw B down
	runOnce(t, q, alive, noRedirect(t), noRedirect(t))
	m.Advance(cfg.Window - time.Nanosecond)
	runOnce(t, q, alive, noRedirect(t), noRedirect(t))
	if st := stats(q, "B"); st != (TargetStats{Pending: 2}) {
		t.Fatalf("stats after reopen = %+v", st)
	}
	moved := newRecorder()
	m.Advance(time.Nanosecond)
	runOnce(t, q, alive, noRedirect(t), moved.send)
	if len(moved.order) != 2 || stats(q, "B") != (TargetStats{Redirected: 2}) {
		t.Fatalf("redirected %q, stats %+v", moved.order, stats(q, "B"))
	}
}

// The Window is never judged by the wall clock passed to Open: advancing
// it alone, however far, redirects nothing.
func TestRunOnceIgnoresWallClock(t *testing.T) {
	q, m, c, cfg := redirectQueue(t, "k1")
	alive, _ := upExcept("B")
	runOnce(t, q, alive, noRedirect(t), noRedirect(t))
	c.Advance(100 * cfg.Window)
	runOnce(t, q, alive, noRedirect(t), noRedirect(t))
	add(t, q, "B", "k2", "v") // stamped far in the wall clock's future
	c.Advance(-1000 * cfg.Window)
	runOnce(t, q, alive, noRedirect(t), noRedirect(t))
	if st := stats(q, "B"); st != (TargetStats{Pending: 2}) {
		t.Fatalf("stats = %+v", st)
	}
	moved := newRecorder()
	m.Advance(cfg.Window)
	runOnce(t, q, alive, noRedirect(t), moved.send)
	if len(moved.order) != 2 {
		t.Fatalf("redirected %q after Window on the monotonic clock", moved.order)
	}
}

// A redirect pass keeps Deliver's other rules: a target already being
// delivered to is skipped silently (ErrBusy), a rejected hint is dropped
// and counted, a corrupt record is dropped and counted.
func TestRunOnceRedirectBusyRejectedCorrupt(t *testing.T) {
	c, m := newClock(), &monoClock{}
	cfg := testConfig(c)
	cfg.Monotonic = m.Now
	var log bytes.Buffer
	cfg.Logger = slog.New(slog.NewTextHandler(&log, nil))
	ks := openKeyspace(t)
	q := openQueue(t, ks, cfg, c)
	for _, k := range []string{"a", "b", "poison", "z"} {
		add(t, q, "B", k, "v")
	}
	putRaw(t, ks, hintKey("B", []byte("b")), []byte("garbage"))
	alive, _ := upExcept("B")
	moved := newRecorder()
	moved.fail = func(_, key string) error {
		if key == "poison" {
			return fmt.Errorf("400 bad sibling set: %w", ErrRejected)
		}
		return nil
	}
	runOnce(t, q, alive, noRedirect(t), moved.send)
	m.Advance(cfg.Window)

	// A Deliver to B holds it while a due redirect pass runs.
	entered, release := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		_, err := q.Deliver(context.Background(), "B", func(context.Context, string, []byte, []byte) error {
			close(entered)
			<-release
			return errors.New("refused")
		})
		done <- err
	}()
	<-entered
	runOnce(t, q, alive, noRedirect(t), moved.send) // skipped: busy
	close(release)
	if err := <-done; err == nil {
		t.Fatal("held Deliver succeeded")
	}
	if len(moved.order) != 0 {
		t.Fatalf("redirected %q while busy", moved.order)
	}

	runOnce(t, q, alive, noRedirect(t), moved.send)
	if !slices.Equal(moved.order, []string{"B/a", "B/z"}) {
		t.Fatalf("redirected %q", moved.order)
	}
	if st := stats(q, "B"); st != (TargetStats{Redirected: 2, Rejected: 1, Corrupt: 1, Failed: 1}) {
		t.Fatalf("stats = %+v", st)
	}
	if n := rawCount(t, ks); n != 0 {
		t.Fatalf("%d records left", n)
	}
	if !bytes.Contains(log.Bytes(), []byte("replica rejected a redirected hint")) {
		t.Fatalf("rejection not logged:\n%s", log.Bytes())
	}
}
