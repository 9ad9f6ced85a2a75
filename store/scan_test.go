package store

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestScanCopiesAndOrder(t *testing.T) {
	s := openTest(t, Options{})
	// Insert out of order; values alternate between LSM and value log.
	for i := range 300 {
		j := (i * 7919) % 300
		v := strings.Repeat("v", 1+(j%2)*2000)
		put(t, s, 3, fmt.Sprintf("key-%04d", j), v)
	}
	var keys, vals [][]byte
	if err := s.Scan(3, func(k, v []byte) error {
		keys, vals = append(keys, k), append(vals, v)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 300 {
		t.Fatalf("Scan returned %d keys; want 300", len(keys))
	}
	for i := range keys { // kept slices must still hold their own data
		if want := fmt.Sprintf("key-%04d", i); string(keys[i]) != want {
			t.Fatalf("key %d = %q; want %q", i, keys[i], want)
		}
		if want := 1 + (i%2)*2000; len(vals[i]) != want {
			t.Fatalf("value %d has %d bytes; want %d", i, len(vals[i]), want)
		}
	}
}

func TestScanStopsOnError(t *testing.T) {
	s := openTest(t, Options{})
	for i := range 10 {
		put(t, s, 0, fmt.Sprint(i), "v")
	}
	stop := errors.New("stop")
	calls := 0
	err := s.Scan(0, func([]byte, []byte) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if err != stop || calls != 3 {
		t.Fatalf("Scan = %v after %d calls; want stop after 3", err, calls)
	}
}

// A Scan callback may write to the store, including the key being scanned.
func TestScanCallbackMayWrite(t *testing.T) {
	s := openTest(t, Options{})
	for i := range 5 {
		put(t, s, 0, fmt.Sprint(i), "old")
	}
	err := s.Scan(0, func(k, _ []byte) error {
		return s.Update(0, k, func([]byte, bool) ([]byte, error) { return []byte("new"), nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range scanAll(t, s, 0) {
		if !strings.HasSuffix(e, "=new") {
			t.Fatalf("entry %q not rewritten", e)
		}
	}
}

// ScanFrom (and Count) narrow a partition to a prefix and resume after a key.
func TestScanFrom(t *testing.T) {
	s := openTest(t, Options{InMemory: true})
	for _, k := range []string{"a", "b/1", "b/2", "b/3", "c"} {
		if err := s.Update(4, []byte(k), func([]byte, bool) ([]byte, error) { return []byte("v"), nil }); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Update(5, []byte("b/9"), func([]byte, bool) ([]byte, error) { return []byte("v"), nil }); err != nil {
		t.Fatal(err)
	}
	scan := func(prefix, after string) string {
		var got []string
		var a []byte
		if after != "" {
			a = []byte(after)
		}
		if err := s.ScanFrom(4, []byte(prefix), a, func(k, _ []byte) error { got = append(got, string(k)); return nil }); err != nil {
			t.Fatal(err)
		}
		return strings.Join(got, ",")
	}
	for _, tc := range []struct{ prefix, after, want string }{
		{"", "", "a,b/1,b/2,b/3,c"},
		{"b/", "", "b/1,b/2,b/3"},
		{"b/", "b/1", "b/2,b/3"},
		{"b/", "a", "b/1,b/2,b/3"},
		{"", "b/3", "c"},
		{"", "c", ""},
		{"b/", "b/3", ""},
	} {
		if got := scan(tc.prefix, tc.after); got != tc.want {
			t.Errorf("ScanFrom(prefix %q, after %q) = %q; want %q", tc.prefix, tc.after, got, tc.want)
		}
	}
	// Count takes the same prefix, within the partition only.
	for prefix, want := range map[string]int{"": 5, "b/": 3, "b/2": 1, "d": 0} {
		if n, err := s.Count(4, []byte(prefix)); err != nil || n != want {
			t.Errorf("Count(4, %q) = %d, %v; want %d", prefix, n, err, want)
		}
	}
}
