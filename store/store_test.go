package store

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// openTest opens an on-disk store in a fresh directory, closed at cleanup.
func openTest(t testing.TB, opts Options) *Store {
	t.Helper()
	if !opts.InMemory && opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	s, err := Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// put stores value unconditionally.
func put(t testing.TB, s *Store, p uint16, key, value string) {
	t.Helper()
	err := s.Update(p, []byte(key), func([]byte, bool) ([]byte, error) { return []byte(value), nil })
	if err != nil {
		t.Fatalf("put %d/%q: %v", p, key, err)
	}
}

// mustGet returns the value of (p, key) as a string and whether it exists.
func mustGet(t testing.TB, s *Store, p uint16, key string) (string, bool) {
	t.Helper()
	v, err := s.Get(p, []byte(key))
	if errors.Is(err, ErrNotFound) {
		return "", false
	}
	if err != nil {
		t.Fatalf("Get %d/%q: %v", p, key, err)
	}
	return string(v), true
}

// scanAll returns "key=value" for every entry of partition p, in scan order.
func scanAll(t testing.TB, s *Store, p uint16) []string {
	t.Helper()
	var out []string
	err := s.Scan(p, func(k, v []byte) error {
		out = append(out, string(k)+"="+string(v))
		return nil
	})
	if err != nil {
		t.Fatalf("Scan %d: %v", p, err)
	}
	return out
}

func TestGetPutDelete(t *testing.T) {
	for _, inMem := range []bool{false, true} {
		t.Run(fmt.Sprintf("InMemory=%v", inMem), func(t *testing.T) {
			s := openTest(t, Options{InMemory: inMem})
			if _, ok := mustGet(t, s, 1, "a"); ok {
				t.Fatal("Get of a new key found something")
			}
			put(t, s, 1, "a", "one")
			if v, ok := mustGet(t, s, 1, "a"); !ok || v != "one" {
				t.Fatalf("Get = %q, %v; want one", v, ok)
			}
			put(t, s, 1, "a", "two")
			if v, _ := mustGet(t, s, 1, "a"); v != "two" {
				t.Fatalf("Get after overwrite = %q; want two", v)
			}
			if err := s.Delete(1, []byte("a")); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if _, ok := mustGet(t, s, 1, "a"); ok {
				t.Fatal("Get after Delete found the key")
			}
			if err := s.Delete(1, []byte("never-written")); err != nil {
				t.Fatalf("Delete of an absent key: %v", err)
			}
		})
	}
}

// Values both below and above ValueThreshold (LSM tree vs value log) must
// round-trip, in memory too (where the threshold is raised).
func TestValueSizes(t *testing.T) {
	for _, inMem := range []bool{false, true} {
		s := openTest(t, Options{InMemory: inMem})
		for _, n := range []int{0, 1, 1023, 1024, 4096, 256 << 10} {
			want := bytes.Repeat([]byte{byte(n)}, n)
			key := []byte(fmt.Sprint("k", n))
			if err := s.Update(7, key, func([]byte, bool) ([]byte, error) { return want, nil }); err != nil {
				t.Fatalf("InMemory=%v: Update %d bytes: %v", inMem, n, err)
			}
			got, err := s.Get(7, key)
			if err != nil || !bytes.Equal(got, want) || got == nil {
				t.Fatalf("InMemory=%v: Get %d bytes: len %d, nil=%v, err %v", inMem, n, len(got), got == nil, err)
			}
		}
	}
}

func TestGetReturnsCopy(t *testing.T) {
	s := openTest(t, Options{})
	buf := []byte("value")
	if err := s.Update(0, []byte("k"), func([]byte, bool) ([]byte, error) { return buf, nil }); err != nil {
		t.Fatal(err)
	}
	copy(buf, "XXXXX") // Update must not retain the caller's slice
	v, _ := s.Get(0, []byte("k"))
	copy(v, "YYYYY") // nor hand out badger's
	if v, _ := mustGet(t, s, 0, "k"); v != "value" {
		t.Fatalf("Get = %q; want value", v)
	}
}

func TestKeyValidation(t *testing.T) {
	s := openTest(t, Options{})
	noop := func([]byte, bool) ([]byte, error) { return []byte("v"), nil }
	for name, err := range map[string]error{
		"Get":    func() error { _, err := s.Get(0, nil); return err }(),
		"Update": s.Update(0, []byte{}, noop),
		"Delete": s.Delete(0, nil),
		"GetMeta": func() error {
			_, err := s.GetMeta("")
			return err
		}(),
		"PutMeta":         s.PutMeta("", []byte("x")),
		"DeleteMeta":      s.DeleteMeta(""),
		"Update too long": s.Update(0, make([]byte, MaxKeySize+1), noop),
	} {
		if !errors.Is(err, ErrInvalidKey) {
			t.Errorf("%s: err = %v; want ErrInvalidKey", name, err)
		}
	}
	for _, n := range []int{1, 1024, MaxKeySize} {
		key := bytes.Repeat([]byte{'k'}, n)
		if err := s.Update(0, key, noop); err != nil {
			t.Errorf("Update with a %d-byte key: %v", n, err)
		}
		if _, err := s.Get(0, key); err != nil {
			t.Errorf("Get with a %d-byte key: %v", n, err)
		}
	}
}

func TestMetaInvisibleToData(t *testing.T) {
	s := openTest(t, Options{})
	// Names chosen to look like data keys of partitions 0 and 0x6400 ('d'<<8).
	for _, name := range []string{"node.id", "d", "d\x00\x00k", "\x00\x00k"} {
		if err := s.PutMeta(name, []byte("meta:"+name)); err != nil {
			t.Fatalf("PutMeta %q: %v", name, err)
		}
	}
	for _, p := range []uint16{0, 1, 'd' << 8, 'm' << 8, 0xFFFF} {
		if got := scanAll(t, s, p); len(got) != 0 {
			t.Errorf("Scan %#04x sees metadata: %q", p, got)
		}
		if n, err := s.Count(p); err != nil || n != 0 {
			t.Errorf("Count %#04x = %d, %v; want 0", p, n, err)
		}
	}
	// And the other way round: data is not metadata.
	put(t, s, 0, "k", "data")
	if _, err := s.GetMeta("d\x00\x00k"); err != nil {
		t.Fatalf("GetMeta: %v", err)
	}
	if v, _ := s.GetMeta("d\x00\x00k"); string(v) != "meta:d\x00\x00k" {
		t.Fatalf("GetMeta returned %q", v)
	}
	if _, err := s.GetMeta("absent"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetMeta absent: err = %v; want ErrNotFound", err)
	}
	if err := s.DeleteMeta("node.id"); err != nil {
		t.Fatalf("DeleteMeta: %v", err)
	}
	if _, err := s.GetMeta("node.id"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetMeta after DeleteMeta: err = %v; want ErrNotFound", err)
	}
	if err := s.DeleteMeta("node.id"); err != nil {
		t.Fatalf("DeleteMeta of an absent name: %v", err)
	}
	if err := s.PutMeta("empty", nil); err != nil {
		t.Fatalf("PutMeta nil: %v", err)
	}
	if v, err := s.GetMeta("empty"); err != nil || v == nil || len(v) != 0 {
		t.Fatalf("GetMeta empty = %q (nil=%v), %v; want empty", v, v == nil, err)
	}
}

// Partitions whose big-endian bytes are prefixes or neighbours of each
// other, with keys whose first bytes imitate another partition's prefix.
func TestPartitionIsolation(t *testing.T) {
	s := openTest(t, Options{})
	parts := []uint16{0x0000, 0x0001, 0x00FF, 0x0100, 0x0101, 0x0200, 0xFF00, 0xFFFF}
	keys := []string{"\x00", "\x00\x00", "\x01\x00x", "\xFF", "\xFF\xFF\xFF", "a", "b/c"}
	for _, p := range parts {
		for _, k := range keys {
			put(t, s, p, k, fmt.Sprintf("%04x", p))
		}
	}
	sorted := slices.Clone(keys)
	slices.Sort(sorted) // byte order, which is what badger iterates in
	for _, p := range parts {
		var want []string
		for _, k := range sorted {
			want = append(want, k+"="+fmt.Sprintf("%04x", p))
		}
		if got := scanAll(t, s, p); !slices.Equal(got, want) {
			t.Errorf("Scan %#04x:\n got %q\nwant %q", p, got, want)
		}
		if n, err := s.Count(p); err != nil || n != len(keys) {
			t.Errorf("Count %#04x = %d, %v; want %d", p, n, err, len(keys))
		}
	}
	for _, p := range []uint16{0x0002, 0x00FE, 0x01FF, 0xFEFF} {
		if n, _ := s.Count(p); n != 0 {
			t.Errorf("Count of empty partition %#04x = %d", p, n)
		}
	}
	// Deleting from one partition leaves the same key elsewhere.
	if err := s.Delete(0x0100, []byte("a")); err != nil {
		t.Fatal(err)
	}
	if _, ok := mustGet(t, s, 0x00FF, "a"); !ok {
		t.Fatal("Delete in 0x0100 removed the key from 0x00FF")
	}
	if n, _ := s.Count(0x0100); n != len(keys)-1 {
		t.Fatalf("Count 0x0100 after Delete = %d; want %d", n, len(keys)-1)
	}
}

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

func TestReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 5000) // goes to the value log
	for i := range 100 {
		put(t, s, uint16(i%4), fmt.Sprintf("k%03d", i), fmt.Sprint(i))
	}
	put(t, s, 9, "big", big)
	put(t, s, 9, "gone", "soon")
	if err := s.Delete(9, []byte("gone")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutMeta("epoch", []byte{0, 0, 0, 7}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(Options{Dir: dir})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	for i := range 100 {
		if v, ok := mustGet(t, s, uint16(i%4), fmt.Sprintf("k%03d", i)); !ok || v != fmt.Sprint(i) {
			t.Fatalf("k%03d after reopen = %q, %v", i, v, ok)
		}
	}
	for p := range uint16(4) {
		if n, _ := s.Count(p); n != 25 {
			t.Fatalf("Count %d after reopen = %d; want 25", p, n)
		}
	}
	if v, _ := mustGet(t, s, 9, "big"); v != big {
		t.Fatalf("big value after reopen has %d bytes", len(v))
	}
	if _, ok := mustGet(t, s, 9, "gone"); ok {
		t.Fatal("deleted key came back after reopen")
	}
	if v, err := s.GetMeta("epoch"); err != nil || !bytes.Equal(v, []byte{0, 0, 0, 7}) {
		t.Fatalf("meta after reopen = %v, %v", v, err)
	}
}

func TestSecondOpenOfSameDirFails(t *testing.T) {
	dir := t.TempDir()
	openTest(t, Options{Dir: dir})
	if s, err := Open(Options{Dir: dir}); err == nil {
		s.Close()
		t.Fatal("second Open of a locked directory succeeded")
	}
}

func TestClose(t *testing.T) {
	s, err := Open(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	put(t, s, 0, "k", "v")
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	k := []byte("k")
	for name, err := range map[string]error{
		"Get":        func() error { _, err := s.Get(0, k); return err }(),
		"Update":     s.Update(0, k, func([]byte, bool) ([]byte, error) { t.Error("fn called after Close"); return nil, nil }),
		"Delete":     s.Delete(0, k),
		"Scan":       s.Scan(0, func([]byte, []byte) error { return nil }),
		"Count":      func() error { _, err := s.Count(0); return err }(),
		"GetMeta":    func() error { _, err := s.GetMeta("m"); return err }(),
		"PutMeta":    s.PutMeta("m", nil),
		"DeleteMeta": s.DeleteMeta("m"),
		"Sync":       s.Sync(),
	} {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: err = %v; want ErrClosed", name, err)
		}
	}
	s.Size() // must not panic either
}

// Close while writers and scanners run: every call either succeeds or
// returns ErrClosed, nothing panics, and Close waits for them.
func TestCloseDuringOperations(t *testing.T) {
	s, err := Open(Options{Dir: t.TempDir(), GCInterval: 1}) // GC ticking constantly too
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	started := make(chan struct{}, 8)
	for g := range 8 {
		wg.Go(func() {
			started <- struct{}{}
			for i := 0; ; i++ {
				key := []byte(fmt.Sprint(g, "-", i%50))
				err := s.Update(0, key, func([]byte, bool) ([]byte, error) { return make([]byte, 2000), nil })
				if err == nil && i%10 == 0 {
					err = s.Scan(0, func([]byte, []byte) error { return nil })
				}
				if err != nil {
					if !errors.Is(err, ErrClosed) {
						errs <- err
					}
					return
				}
			}
		})
	}
	for range 8 {
		<-started
	}
	// Let them get some work done before closing.
	for n := 0; n < 100; n, _ = s.Count(0) {
		time.Sleep(time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("operation during Close: %v", err)
	}
}

func TestSyncAndSize(t *testing.T) {
	s := openTest(t, Options{})
	for i := range 200 {
		put(t, s, 0, fmt.Sprint(i), strings.Repeat("v", 4000))
	}
	if err := s.Sync(); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	lsm, vlog := s.Size()
	// 200 x 4000 B went to the value log; allocation is at least that and,
	// because the active file is sparse, nowhere near its 128 MiB size.
	if vlog < 200*4000 || vlog > 8<<20 {
		t.Fatalf("vlog size %d; want between 800 kB and 8 MiB", vlog)
	}
	if lsm < 0 {
		t.Fatalf("lsm size %d", lsm)
	}
	mem := openTest(t, Options{InMemory: true})
	if err := mem.Sync(); err != nil {
		t.Fatalf("Sync in memory: %v", err)
	}
	if l, v := mem.Size(); l != 0 || v != 0 {
		t.Fatalf("Size in memory = %d, %d", l, v)
	}
}

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
}
