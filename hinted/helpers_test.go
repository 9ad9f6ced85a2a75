package hinted

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dynkv/dynkv/store"
)

// fakeClock is a manual clock. Sleep advances it instead of waiting, so the
// rate limiter runs at full speed in simulated time.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.UnixMilli(1_700_000_000_000)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.Advance(d)
	return ctx.Err()
}

// monoClock is a fake Config.Monotonic: nanoseconds in an atomic that only
// the test advances, so a Window passes without sleeping and independently
// of the wall clock (fakeClock) passed to Open.
type monoClock struct{ ns atomic.Int64 }

func (m *monoClock) Now() time.Time          { return time.Unix(0, m.ns.Load()) }
func (m *monoClock) Advance(d time.Duration) { m.ns.Add(int64(d)) }

// noRedirect is a RunOnce redirect for tests in which no target may be
// redirected.
func noRedirect(t testing.TB) SendFunc {
	return func(_ context.Context, target string, key, _ []byte) error {
		t.Errorf("hint %s/%s redirected", target, key)
		return errors.New("unexpected redirect")
	}
}

// unionMerge treats a value as a comma-separated set of tokens and returns
// the sorted union: commutative, associative and idempotent, like the
// node's causal merge. A token "!bad" makes it fail.
func unionMerge(_, a, b []byte) ([]byte, error) {
	set := tokens(string(a))
	for _, t := range tokens(string(b)) {
		set = append(set, t)
	}
	slices.Sort(set)
	set = slices.Compact(set)
	if slices.Contains(set, "!bad") {
		return nil, errors.New("undecodable value")
	}
	return []byte(strings.Join(set, ",")), nil
}

func tokens(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// openKeyspace returns keyspace 'h' of a new in-memory store closed at
// cleanup.
func openKeyspace(t testing.TB) *store.Keyspace {
	t.Helper()
	s, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ks, err := s.Keyspace('h')
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// testConfig is a config for tests: unlimited rate unless set, simulated
// sleeps.
// testConfig sends one hint at a time, so that tests can state the order
// of sends and where a failure stops them; TestDeliverInFlight covers
// several at once.
func testConfig(c *fakeClock) Config {
	return Config{Window: time.Hour, Rate: inf, Sleep: c.Sleep, InFlight: 1}
}

var inf = math.Inf(1)

func openQueue(t testing.TB, kv KV, cfg Config, c *fakeClock) *Queue {
	t.Helper()
	q, err := Open(kv, cfg, unionMerge, c.Now)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return q
}

func add(t testing.TB, q *Queue, target, key, value string) {
	t.Helper()
	if err := q.Add(target, []byte(key), []byte(value)); err != nil {
		t.Fatalf("Add(%q, %q): %v", target, key, err)
	}
}

// get returns the hint's value, or "-" when there is none.
func get(t testing.TB, q *Queue, target, key string) string {
	t.Helper()
	v, ok, err := q.Get(target, []byte(key))
	if err != nil {
		t.Fatalf("Get(%q, %q): %v", target, key, err)
	}
	if !ok {
		return "-"
	}
	return string(v)
}

// recorder is a SendFunc target: it merges what it receives per (target,
// key), counts sends, and can be told to fail.
type recorder struct {
	mu    sync.Mutex
	got   map[string]string // target/key -> merged value
	sends map[string]int    // target/key -> sends
	order []string          // target/key in send order
	times []time.Time       // clock at each send, when clock is set
	clock *fakeClock
	fail  func(target, key string) error
}

func newRecorder() *recorder {
	return &recorder{got: map[string]string{}, sends: map[string]int{}}
}

func (r *recorder) send(_ context.Context, target string, key, value []byte) error {
	id := target + "/" + string(key)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		if err := r.fail(target, string(key)); err != nil {
			return err
		}
	}
	m, _ := unionMerge(nil, []byte(r.got[id]), value)
	r.got[id] = string(m)
	r.sends[id]++
	r.order = append(r.order, id)
	if r.clock != nil {
		r.times = append(r.times, r.clock.Now())
	}
	return nil
}

// faultKV wraps a KV, failing Updates that failUpdate says to and counting
// scans.
type faultKV struct {
	KV
	mu         sync.Mutex
	scans      int
	failUpdate func(key []byte) error
}

func (f *faultKV) Update(key []byte, fn func([]byte, bool) ([]byte, error)) error {
	f.mu.Lock()
	fail := f.failUpdate
	f.mu.Unlock()
	if fail != nil {
		if err := fail(key); err != nil {
			return err
		}
	}
	return f.KV.Update(key, fn)
}

func (f *faultKV) ScanFrom(prefix, start []byte, fn func(k, v []byte) error) error {
	f.mu.Lock()
	f.scans++
	f.mu.Unlock()
	return f.KV.ScanFrom(prefix, start, fn)
}

func (f *faultKV) scanCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.scans
}

// putRaw writes a raw record into kv, bypassing the Queue.
func putRaw(t testing.TB, kv KV, key, value []byte) {
	t.Helper()
	if err := kv.Update(key, func([]byte, bool) ([]byte, error) { return value, nil }); err != nil {
		t.Fatalf("raw put %q: %v", key, err)
	}
}

// rawCount returns the number of records in kv.
func rawCount(t testing.TB, kv KV) int {
	t.Helper()
	n := 0
	if err := kv.ScanFrom(nil, nil, func(_, _ []byte) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

func stats(q *Queue, target string) TargetStats { return q.Stats()[target] }
