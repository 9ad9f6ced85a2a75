package hinted

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/dynkv/dynkv/store"
)

func TestConfigValidate(t *testing.T) {
	if err := (Config{}).Validate(); err != nil {
		t.Fatalf("zero Config: %v", err)
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig: %v", err)
	}
	bad := Config{Window: -1, Rate: -1, Concurrency: -1, Timeout: -1}
	err := bad.Validate()
	if !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("bad config: %v", err)
	}
	for _, field := range []string{"Window", "Rate", "Concurrency", "Timeout"} {
		if !bytes.Contains([]byte(err.Error()), []byte(field)) {
			t.Errorf("error does not mention %s: %v", field, err)
		}
	}
	for _, c := range []Config{{Rate: nan()}, {Window: time.Microsecond}} {
		if err := c.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: Validate = %v", c, err)
		}
	}
	if _, err := Open(openKeyspace(t), bad, unionMerge, nil); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("Open with bad config: %v", err)
	}
	if _, err := Open(nil, Config{}, unionMerge, nil); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("Open with nil KV: %v", err)
	}
	if _, err := Open(openKeyspace(t), Config{}, nil, nil); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("Open with nil merge: %v", err)
	}
}

func nan() float64 { z := 0.0; return z / z }

func TestAddGetCoalesce(t *testing.T) {
	c := newClock()
	ks := openKeyspace(t)
	q := openQueue(t, ks, testConfig(c), c)

	if v := get(t, q, "B", "k"); v != "-" {
		t.Fatalf("Get of nothing = %q", v)
	}
	first := c.Now()
	add(t, q, "B", "k", "w1")
	c.Advance(time.Minute)
	add(t, q, "B", "k", "w2")
	add(t, q, "B", "k", "w1") // already contained: no write
	add(t, q, "C", "k", "other")
	if v := get(t, q, "B", "k"); v != "w1,w2" {
		t.Fatalf("coalesced = %q; want w1,w2", v)
	}
	if v := get(t, q, "C", "k"); v != "other" {
		t.Fatalf("other target = %q", v)
	}

	// The record keeps the first write's creation time.
	raw, err := ks.Get(hintKey("B", []byte("k")))
	if err != nil {
		t.Fatal(err)
	}
	if created, _, _ := decodeRecord(raw); created != first.UnixMilli() {
		t.Fatalf("created = %d; want the first write's %d", created, first.UnixMilli())
	}
	// If the clock went back, the earliest time wins.
	c.Advance(-2 * time.Minute)
	add(t, q, "B", "k", "w3")
	raw, _ = ks.Get(hintKey("B", []byte("k")))
	if created, _, _ := decodeRecord(raw); created != c.Now().UnixMilli() {
		t.Fatalf("created = %d; want the earlier %d", created, c.Now().UnixMilli())
	}
	c.Advance(2 * time.Minute)

	// Length-prefixed targets: ("a", "bc") and ("ab", "c") are different.
	add(t, q, "a", "bc", "x")
	add(t, q, "ab", "c", "y")
	if a, b := get(t, q, "a", "bc"), get(t, q, "ab", "c"); a != "x" || b != "y" {
		t.Fatalf("ambiguous keys: %q %q", a, b)
	}
	if got := q.Targets(); !slices.Equal(got, []string{"B", "C", "a", "ab"}) {
		t.Fatalf("Targets = %q", got)
	}
	if st := stats(q, "B"); st != (TargetStats{Pending: 1, Coalesced: 3}) {
		t.Fatalf("stats B = %+v", st)
	}
}

func TestAddErrors(t *testing.T) {
	c := newClock()
	ks := openKeyspace(t)
	q := openQueue(t, ks, testConfig(c), c)
	long := string(make([]byte, MaxTargetLen+1))
	for _, tc := range []struct{ target, key string }{{"", "k"}, {"B", ""}, {long, "k"}} {
		if err := q.Add(tc.target, []byte(tc.key), []byte("v")); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("Add(%.8q, %q) = %v; want ErrInvalidArgument", tc.target, tc.key, err)
		}
		if _, _, err := q.Get(tc.target, []byte(tc.key)); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("Get(%.8q, %q) = %v; want ErrInvalidArgument", tc.target, tc.key, err)
		}
	}
	if _, err := q.Deliver(context.Background(), "", newRecorder().send); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Deliver to empty target = %v", err)
	}

	// A failing merge writes nothing and is reported.
	add(t, q, "B", "k", "w1")
	if err := q.Add("B", []byte("k"), []byte("!bad")); err == nil {
		t.Fatal("Add with failing merge succeeded")
	}
	if v := get(t, q, "B", "k"); v != "w1" {
		t.Fatalf("after failed merge = %q", v)
	}
	if st := stats(q, "B"); st.Pending != 1 || st.Coalesced != 0 {
		t.Fatalf("stats after failed merge = %+v", st)
	}

	// A store error is returned wrapped.
	boom := errors.New("disk on fire")
	fq := openQueue(t, &faultKV{KV: ks, failUpdate: func([]byte) error { return boom }}, testConfig(c), c)
	if err := fq.Add("B", []byte("k2"), []byte("v")); !errors.Is(err, boom) {
		t.Fatalf("Add on failing store = %v", err)
	}
	if st := stats(fq, "B"); st.Pending != 1 {
		t.Fatalf("failed Add counted: %+v", st)
	}
}

// Hints survive closing and reopening the store, with their values,
// creation times and pending counts.
func TestSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	cfg := testConfig(c)
	var ks *store.Keyspace
	open := func() (*store.Store, *Queue) {
		s, err := store.Open(store.Options{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		ks, err = s.Keyspace('h')
		if err != nil {
			t.Fatal(err)
		}
		return s, openQueue(t, ks, cfg, c)
	}

	s, q := open()
	first := c.Now()
	big := string(bytes.Repeat([]byte("x"), 4000)) // goes to the value log
	for i := range 300 {
		add(t, q, "B", fmt.Sprintf("k%03d", i), fmt.Sprint("v", i))
	}
	add(t, q, "C", "big", big)
	c.Advance(10 * time.Minute)
	add(t, q, "B", "k000", "late") // coalesced: keeps the first time
	// Deliver one so the reopened counts must reflect a deletion.
	if _, err := q.Deliver(context.Background(), "C", newRecorder().send); err != nil {
		t.Fatal(err)
	}
	add(t, q, "C", "k", "after")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, q = open()
	defer s.Close()
	want := map[string]TargetStats{"B": {Pending: 300}, "C": {Pending: 1}}
	if got := q.Stats(); !maps.Equal(got, want) {
		t.Fatalf("Stats after reopen = %+v; want %+v", got, want)
	}
	if v := get(t, q, "B", "k000"); v != "late,v0" {
		t.Fatalf("k000 after reopen = %q", v)
	}
	if v := get(t, q, "C", "big"); v != "-" {
		t.Fatalf("delivered hint came back: %.10q", v)
	}
	// The creation time is the first write's, from before the restart.
	raw, err := ks.Get(hintKey("B", []byte("k000")))
	if err != nil {
		t.Fatal(err)
	}
	if created, _, _ := decodeRecord(raw); created != first.UnixMilli() {
		t.Fatalf("created after reopen = %d; want %d", created, first.UnixMilli())
	}
	if got := q.Targets(); !slices.Equal(got, []string{"B", "C"}) {
		t.Fatalf("Targets = %q", got)
	}
}

// corruptRecords are hostile records as they might be found in the
// keyspace, with the target their Corrupt count goes to.
func corruptRecords() []struct {
	key, value []byte
	target     string
} {
	valid := encodeRecord(0, []byte("v"))
	lenPrefix := func(n uint16, rest string) []byte {
		return append(binary.BigEndian.AppendUint16(nil, n), rest...)
	}
	return []struct {
		key, value []byte
		target     string
	}{
		{[]byte{0}, valid, ""},                             // no room for a length
		{lenPrefix(0, "k"), valid, ""},                     // empty target
		{lenPrefix(9, "short"), valid, ""},                 // length past the end
		{lenPrefix(1, "B"), valid, ""},                     // target but no key
		{hintKey("B", []byte("short")), []byte{1, 0}, "B"}, // short header
		{hintKey("B", []byte("ver")), append([]byte{9}, valid[1:]...), "B"},
		{hintKey("C", []byte("empty")), []byte{}, "C"},
	}
}

func TestCorruptRecords(t *testing.T) {
	c := newClock()
	ks := openKeyspace(t)
	for _, r := range corruptRecords() {
		putRaw(t, ks, r.key, r.value)
	}
	// A good one among them, with its real creation time.
	putRaw(t, ks, hintKey("B", []byte("good")), encodeRecord(c.Now().UnixMilli(), []byte("g")))

	var log bytes.Buffer
	cfg := testConfig(c)
	cfg.Logger = slog.New(slog.NewTextHandler(&log, nil))
	q := openQueue(t, ks, cfg, c)
	if n := bytes.Count(log.Bytes(), []byte("dropped a corrupt hint record")); n != len(corruptRecords()) {
		t.Fatalf("%d corrupt records logged; want %d:\n%s", n, len(corruptRecords()), log.Bytes())
	}
	want := map[string]TargetStats{"": {Corrupt: 4}, "B": {Pending: 1, Corrupt: 2}, "C": {Corrupt: 1}}
	if got := q.Stats(); !maps.Equal(got, want) {
		t.Fatalf("Stats after Open = %+v; want %+v", got, want)
	}
	if n := rawCount(t, ks); n != 1 {
		t.Fatalf("%d records after Open; want the good one", n)
	}

	// Corruption after Open: Get reports it, Deliver drops it and goes on,
	// Add replaces it.
	for _, k := range []string{"bad1", "bad2"} {
		add(t, q, "B", k, "v")
		putRaw(t, ks, hintKey("B", []byte(k)), []byte{7})
	}
	if _, _, err := q.Get("B", []byte("bad1")); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Get of a corrupt hint = %v; want ErrCorrupt", err)
	}
	add(t, q, "B", "bad2", "fresh")
	if v := get(t, q, "B", "bad2"); v != "fresh" {
		t.Fatalf("Add over a corrupt hint = %q", v)
	}
	r := newRecorder()
	d, err := q.Deliver(context.Background(), "B", r.send)
	if d != 2 || err != nil {
		t.Fatalf("Deliver = %d, %v; want 2 (good, bad2)", d, err)
	}
	if st := stats(q, "B"); st != (TargetStats{Delivered: 2, Corrupt: 4}) {
		t.Fatalf("stats B = %+v", st)
	}
	if n := rawCount(t, ks); n != 0 {
		t.Fatalf("%d records left", n)
	}
}

// Arbitrary records in the keyspace never make the Queue panic, and Pending
// always matches the decodable records left.
func FuzzOpen(f *testing.F) {
	for _, r := range corruptRecords() {
		f.Add(r.key, r.value, []byte("k"), []byte{1, 2})
	}
	f.Add(hintKey("B", []byte("k")), encodeRecord(0, nil), hintKey("B", []byte("k2")), encodeRecord(1<<62, []byte("x")))
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 []byte) {
		c := newClock()
		ks := openKeyspace(t)
		for _, r := range [][2][]byte{{k1, v1}, {k2, v2}} {
			if len(r[0]) > 0 && len(r[0]) < 1000 {
				putRaw(t, ks, r[0], r[1])
			}
		}
		q := openQueue(t, ks, testConfig(c), c)
		check := func(when string) {
			pending := 0
			for _, st := range q.Stats() {
				pending += st.Pending
			}
			if n := rawCount(t, ks); n != pending {
				t.Fatalf("%s: %d records, Pending sums to %d", when, n, pending)
			}
		}
		check("after Open")
		for _, target := range q.Targets() {
			if _, err := q.Deliver(context.Background(), target, newRecorder().send); err != nil {
				t.Fatal(err)
			}
		}
		check("after Deliver")
	})
}
