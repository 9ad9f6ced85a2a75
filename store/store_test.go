package store

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
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
		if n, err := s.Count(p, nil); err != nil || n != 0 {
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
		if n, err := s.Count(p, nil); err != nil || n != len(keys) {
			t.Errorf("Count %#04x = %d, %v; want %d", p, n, err, len(keys))
		}
	}
	for _, p := range []uint16{0x0002, 0x00FE, 0x01FF, 0xFEFF} {
		if n, _ := s.Count(p, nil); n != 0 {
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
	if n, _ := s.Count(0x0100, nil); n != len(keys)-1 {
		t.Fatalf("Count 0x0100 after Delete = %d; want %d", n, len(keys)-1)
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
