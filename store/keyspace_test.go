package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

func keyspace(t testing.TB, s *Store, tag byte) *Keyspace {
	t.Helper()
	ks, err := s.Keyspace(tag)
	if err != nil {
		t.Fatalf("Keyspace(%q): %v", tag, err)
	}
	return ks
}

func ksPut(t testing.TB, ks *Keyspace, key, value string) {
	t.Helper()
	if err := ks.Update([]byte(key), func([]byte, bool) ([]byte, error) { return []byte(value), nil }); err != nil {
		t.Fatalf("put %q: %v", key, err)
	}
}

func ksGet(t testing.TB, ks *Keyspace, key string) (string, bool) {
	t.Helper()
	v, err := ks.Get([]byte(key))
	if errors.Is(err, ErrNotFound) {
		return "", false
	}
	if err != nil {
		t.Fatalf("Get %q: %v", key, err)
	}
	return string(v), true
}

// ksScan returns "key=value" for every entry of ks under prefix from start.
func ksScan(t testing.TB, ks *Keyspace, prefix, start string) []string {
	t.Helper()
	var out []string
	var st []byte
	if start != "" {
		st = []byte(start)
	}
	err := ks.ScanFrom([]byte(prefix), st, func(k, v []byte) error {
		out = append(out, string(k)+"="+string(v))
		return nil
	})
	if err != nil {
		t.Fatalf("ScanFrom(%q, %q): %v", prefix, start, err)
	}
	return out
}

func TestKeyspaceReservedTags(t *testing.T) {
	s := openTest(t, Options{InMemory: true})
	for _, tag := range []byte{'d', 'm', '!'} {
		if ks, err := s.Keyspace(tag); !errors.Is(err, ErrReservedKeyspace) || ks != nil {
			t.Errorf("Keyspace(%q) = %v, %v; want ErrReservedKeyspace", tag, ks, err)
		}
	}
	for _, tag := range []byte{'h', 0, 0xff, 'D'} {
		if _, err := s.Keyspace(tag); err != nil {
			t.Errorf("Keyspace(%q): %v", tag, err)
		}
	}
}

func TestKeyspaceGetUpdateDelete(t *testing.T) {
	for _, inMem := range []bool{false, true} {
		t.Run(fmt.Sprintf("InMemory=%v", inMem), func(t *testing.T) {
			s := openTest(t, Options{InMemory: inMem})
			ks := keyspace(t, s, 'h')
			k := []byte("k")
			boom := errors.New("boom")

			if _, ok := ksGet(t, ks, "k"); ok {
				t.Fatal("Get of a new key found something")
			}
			err := ks.Update(k, func(old []byte, exists bool) ([]byte, error) {
				if old != nil || exists {
					t.Errorf("absent key: fn got %q, %v", old, exists)
				}
				return nil, nil // deleting an absent key is a no-op
			})
			if err != nil {
				t.Fatal(err)
			}
			ksPut(t, ks, "k", "one")
			err = ks.Update(k, func(old []byte, exists bool) ([]byte, error) {
				if string(old) != "one" || !exists {
					t.Errorf("present key: fn got %q, %v", old, exists)
				}
				return []byte("ignored"), fmt.Errorf("wrapped: %w", ErrNoChange)
			})
			if err != nil {
				t.Fatalf("ErrNoChange: Update = %v; want nil", err)
			}
			if err := ks.Update(k, func([]byte, bool) ([]byte, error) { return []byte("x"), boom }); err != boom {
				t.Fatalf("fn error: Update = %v; want boom unchanged", err)
			}
			if v, _ := ksGet(t, ks, "k"); v != "one" {
				t.Fatalf("after no-op updates value = %q; want one", v)
			}
			ksPut(t, ks, "k", "")
			if v, err := ks.Get(k); err != nil || v == nil || len(v) != 0 {
				t.Fatalf("empty value: Get = %q (nil %v), %v; want non-nil empty", v, v == nil, err)
			}
			if err := ks.Update(k, func([]byte, bool) ([]byte, error) { return nil, nil }); err != nil {
				t.Fatal(err)
			}
			if _, ok := ksGet(t, ks, "k"); ok {
				t.Fatal("nil from fn did not delete")
			}
			ksPut(t, ks, "k", "two")
			if err := ks.Delete(k); err != nil {
				t.Fatal(err)
			}
			if err := ks.Delete(k); err != nil {
				t.Fatalf("Delete of an absent key: %v", err)
			}
			if _, ok := ksGet(t, ks, "k"); ok {
				t.Fatal("Delete did not delete")
			}
		})
	}
}

func TestKeyspaceKeyValidation(t *testing.T) {
	s := openTest(t, Options{InMemory: true})
	ks := keyspace(t, s, 'h')
	noop := func([]byte, bool) ([]byte, error) { return []byte("v"), nil }
	for _, key := range [][]byte{nil, {}, make([]byte, MaxKeyspaceKeySize+1)} {
		if _, err := ks.Get(key); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Get(%d bytes) = %v; want ErrInvalidKey", len(key), err)
		}
		if err := ks.Update(key, noop); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Update(%d bytes) = %v; want ErrInvalidKey", len(key), err)
		}
		if err := ks.Delete(key); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Delete(%d bytes) = %v; want ErrInvalidKey", len(key), err)
		}
	}
	longest := bytes.Repeat([]byte{'x'}, MaxKeyspaceKeySize)
	if err := ks.Update(longest, noop); err != nil {
		t.Fatalf("key of MaxKeyspaceKeySize: %v", err)
	}
}

// Keyspace entries are invisible to partition Scan and Count and to
// metadata, and the keyspace sees neither; two keyspaces are disjoint.
func TestKeyspaceIsolation(t *testing.T) {
	s := openTest(t, Options{})
	h := keyspace(t, s, 'h')
	other := keyspace(t, s, 'i')

	// Partition 0x6800 has the data prefix 'd' 'h' 0x00: nothing to do with
	// keyspace 'h', whose keys start with 'h' itself.
	for _, p := range []uint16{0, 0x6800, 0xffff} {
		put(t, s, p, "k", fmt.Sprint("data-", p))
	}
	if err := s.PutMeta("k", []byte("meta")); err != nil {
		t.Fatal(err)
	}
	ksPut(t, h, "k", "hint")
	// Keys that spell other namespaces' badger keys.
	ksPut(t, h, "d\x00\x00k", "hint-lookalike")
	ksPut(t, h, "mk", "meta-lookalike")
	ksPut(t, other, "k", "other")

	for _, p := range []uint16{0, 0x6800, 0xffff} {
		if got := scanAll(t, s, p); !slices.Equal(got, []string{fmt.Sprintf("k=data-%d", p)}) {
			t.Errorf("Scan partition %#x = %q", p, got)
		}
		if n, err := s.Count(p, nil); err != nil || n != 1 {
			t.Errorf("Count partition %#x = %d, %v; want 1", p, n, err)
		}
	}
	if v, _ := mustGet(t, s, 0, "k"); v != "data-0" {
		t.Errorf("data Get = %q", v)
	}
	if v, err := s.GetMeta("k"); err != nil || string(v) != "meta" {
		t.Errorf("GetMeta = %q, %v", v, err)
	}
	if _, err := s.GetMeta("hk"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetMeta of the keyspace's badger key = %v; want ErrNotFound", err)
	}
	want := []string{"d\x00\x00k=hint-lookalike", "k=hint", "mk=meta-lookalike"}
	if got := ksScan(t, h, "", ""); !slices.Equal(got, want) {
		t.Errorf("keyspace h scan = %q; want %q", got, want)
	}
	if got := ksScan(t, other, "", ""); !slices.Equal(got, []string{"k=other"}) {
		t.Errorf("keyspace i scan = %q", got)
	}

	// Deleting from the keyspace leaves the same key elsewhere alone.
	if err := h.Delete([]byte("k")); err != nil {
		t.Fatal(err)
	}
	if v, _ := ksGet(t, other, "k"); v != "other" {
		t.Errorf("other keyspace after delete = %q", v)
	}
	if v, _ := mustGet(t, s, 0, "k"); v != "data-0" {
		t.Errorf("data after keyspace delete = %q", v)
	}
}

func TestKeyspaceScan(t *testing.T) {
	s := openTest(t, Options{InMemory: true})
	ks := keyspace(t, s, 'h')
	for _, k := range []string{"b/2", "a/1", "b/1", "a", "b", "c/1", "b/\xff", "ba"} {
		ksPut(t, ks, k, asciiUpper(k))
	}
	cases := []struct {
		prefix, start string
		want          []string
	}{
		{"", "", []string{"a=A", "a/1=A/1", "b=B", "b/1=B/1", "b/2=B/2", "b/\xff=B/\xff", "ba=BA", "c/1=C/1"}},
		{"b/", "", []string{"b/1=B/1", "b/2=B/2", "b/\xff=B/\xff"}},
		{"b/", "a", []string{"b/1=B/1", "b/2=B/2", "b/\xff=B/\xff"}}, // start before prefix
		{"b/", "b/1\x00", []string{"b/2=B/2", "b/\xff=B/\xff"}},      // resume after b/1
		{"b/", "b/2", []string{"b/2=B/2", "b/\xff=B/\xff"}},          // start is inclusive
		{"b/", "c", nil}, // start after prefix
		{"", "b/\xff\x00", []string{"ba=BA", "c/1=C/1"}}, // across prefixes
		{"z", "", nil},
	}
	for _, c := range cases {
		if got := ksScan(t, ks, c.prefix, c.start); !slices.Equal(got, c.want) {
			t.Errorf("ScanFrom(%q, %q) = %q; want %q", c.prefix, c.start, got, c.want)
		}
	}

	// Scan is ScanFrom without a start; keys and values are copies.
	var keys, vals [][]byte
	err := ks.Scan([]byte("a"), func(k, v []byte) error {
		keys, vals = append(keys, k), append(vals, v)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || string(keys[0]) != "a" || string(keys[1]) != "a/1" || string(vals[1]) != "A/1" {
		t.Fatalf("Scan(a) kept %q %q", keys, vals)
	}

	// The first error stops the scan and comes back unchanged.
	stop := errors.New("stop")
	n := 0
	err = ks.Scan(nil, func([]byte, []byte) error { n++; return stop })
	if err != stop || n != 1 {
		t.Fatalf("Scan with failing fn = %v after %d calls; want stop after 1", err, n)
	}

	// fn may write to the keyspace; the scan reads its starting snapshot.
	err = ks.Scan([]byte("b/"), func(k, _ []byte) error {
		return ks.Update(k, func([]byte, bool) ([]byte, error) { return nil, nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := ksScan(t, ks, "b/", ""); got != nil {
		t.Fatalf("after deleting during scan: %q", got)
	}
}

// asciiUpper upper-cases ASCII letters only, leaving other bytes alone.
func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func TestKeyspaceReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ks := keyspace(t, s, 'h')
	big := strings.Repeat("x", 5000) // value log
	ksPut(t, ks, "small", "v")
	ksPut(t, ks, "big", big)
	ksPut(t, ks, "gone", "soon")
	if err := ks.Delete([]byte("gone")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, Options{Dir: dir})
	ks = keyspace(t, s, 'h')
	if got := ksScan(t, ks, "", ""); !slices.Equal(got, []string{"big=" + big, "small=v"}) {
		t.Fatalf("after reopen: %d entries %.40q", len(got), got)
	}
}

func TestKeyspaceClosed(t *testing.T) {
	s, err := Open(Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	ks := keyspace(t, s, 'h')
	ksPut(t, ks, "k", "v")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	k := []byte("k")
	for name, err := range map[string]error{
		"Get":      func() error { _, err := ks.Get(k); return err }(),
		"Update":   ks.Update(k, func([]byte, bool) ([]byte, error) { t.Error("fn called after Close"); return nil, nil }),
		"Delete":   ks.Delete(k),
		"Scan":     ks.Scan(nil, func([]byte, []byte) error { return nil }),
		"ScanFrom": ks.ScanFrom(nil, k, func([]byte, []byte) error { return nil }),
	} {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: err = %v; want ErrClosed", name, err)
		}
	}
}

// Concurrent read-modify-writes of one key, racing Deletes of another key
// on possibly the same stripe and Store.Updates of a data key with the same
// bytes, lose nothing.
func TestKeyspaceConcurrentUpdate(t *testing.T) {
	const goroutines, perG = 16, 200
	s := openTest(t, Options{})
	ks := keyspace(t, s, 'h')
	key := []byte("counter")
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perG {
				var err error
				switch {
				case g%4 == 3:
					err = s.Update(0, key, increment)
				default:
					err = ks.Update(key, increment)
				}
				if err == nil && i%7 == 0 {
					err = ks.Delete([]byte(fmt.Sprint("other-", g)))
				}
				if err != nil {
					t.Errorf("g%d: %v", g, err)
					return
				}
			}
		})
	}
	wg.Wait()
	v, err := ks.Get(key)
	if err != nil {
		t.Fatal(err)
	}
	if n := binary.BigEndian.Uint64(v); n != goroutines*3/4*perG {
		t.Fatalf("keyspace counter = %d; want %d", n, goroutines*3/4*perG)
	}
	if n := counter(t, s, 0, key); n != goroutines/4*perG {
		t.Fatalf("data counter = %d; want %d", n, goroutines/4*perG)
	}
}
