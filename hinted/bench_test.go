package hinted

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dynkv/dynkv/store"
)

// benchQueue opens a Queue on keyspace 'h' of an on-disk store with the
// store's default options, unlimited rate and last-writer-wins merging (so
// the merge's own cost does not count).
func benchQueue(b *testing.B) *Queue {
	b.Helper()
	s, err := store.Open(store.Options{Dir: b.TempDir(), GCInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	ks, err := s.Keyspace('h')
	if err != nil {
		b.Fatal(err)
	}
	last := func(_, _, b []byte) ([]byte, error) { return b, nil }
	q, err := Open(ks, Config{Rate: inf}, last, nil)
	if err != nil {
		b.Fatal(err)
	}
	return q
}

func benchValue(i int) []byte {
	v := make([]byte, 1024)
	for j := range v {
		v[j] = byte(i + j*7)
	}
	return v
}

// BenchmarkAdd stores 1 KiB hints under distinct keys for 3 targets.
func BenchmarkAdd(b *testing.B) {
	q := benchQueue(b)
	v := benchValue(0)
	b.SetBytes(int64(len(v)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := q.Add(fmt.Sprint("node-", i%3), fmt.Appendf(nil, "key-%09d", i), v); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkAddCoalesce is a hint storm: 1 KiB writes to 100 hot keys, each
// merged into the existing hint.
func BenchmarkAddCoalesce(b *testing.B) {
	q := benchQueue(b)
	vals := [2][]byte{benchValue(0), benchValue(1)}
	b.SetBytes(1024)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := q.Add("node-1", fmt.Appendf(nil, "key-%03d", i%100), vals[i/100%2]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkDeliver drains b.N 1 KiB hints for one target with a send that
// only counts: the queue's own cost per hint (read page, send, compare-and-
// delete), unthrottled.
func BenchmarkDeliver(b *testing.B) {
	q := benchQueue(b)
	v := benchValue(0)
	for i := range b.N {
		if err := q.Add("node-1", fmt.Appendf(nil, "key-%09d", i), v); err != nil {
			b.Fatal(err)
		}
	}
	sent := 0
	send := func(context.Context, string, []byte, []byte) error { sent++; return nil }
	b.SetBytes(int64(len(v)))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	d, err := q.Deliver(context.Background(), "node-1", send)
	el := time.Since(start)
	b.StopTimer()
	if err != nil || d != b.N || sent != b.N {
		b.Fatalf("Deliver = %d, %v; sent %d of %d", d, err, sent, b.N)
	}
	b.ReportMetric(float64(b.N)/el.Seconds(), "hints/s")
}
