package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// damageOptions make a store with several tables and value-log files from a
// few megabytes of data.
func damageOptions(dir string) Options {
	return Options{Dir: dir, MemTableSize: 1 << 20, ValueLogFileSize: 1 << 20, GCInterval: -1}
}

// damageKeys is how many keys damageFixture writes: enough for several
// tables and value-log files.
const damageKeys = 12000

// damageFixture writes keys into a new store, a quarter of them with
// values in the value log and the others in the LSM tree, closes it and returns its
// directory and what it holds.
func damageFixture(t *testing.T) (string, map[string][]byte) {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(damageOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{}
	for i := range damageKeys {
		size := 100
		if i%4 == 3 {
			size = 2 << 10 // above the 1 KiB ValueThreshold: in the value log
		}
		key, v := fmt.Sprintf("key-%05d", i), randomValue(uint64(i), size)
		if err := s.Update(uint16(i%8), []byte(key), func([]byte, bool) ([]byte, error) { return v, nil }); err != nil {
			t.Fatal(err)
		}
		want[key] = v
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, want
}

// filesOf lists dir's files ending in ext, sorted.
func filesOf(t *testing.T, dir, ext string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+ext))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(m)
	return m
}

// copyDir copies the flat directory src into a new temporary directory.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		in, err := os.Open(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(filepath.Join(dst, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.Copy(out, in)
		in.Close()
		if err := errors.Join(err, out.Close()); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// damage garbles (4 KiB of noise from a third into the file, or all of a
// smaller file), truncates (to half) or deletes path.
func damage(t *testing.T, path, how string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	switch how {
	case "garble":
		n := min(4<<10, fi.Size())
		off := min(fi.Size()/3, fi.Size()-n)
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.WriteAt(randomValue(99, int(n)), off)
		if err := errors.Join(err, f.Close()); err != nil {
			t.Fatal(err)
		}
	case "truncate":
		err = os.Truncate(path, fi.Size()/2)
	case "delete":
		err = os.Remove(path)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestDamagedFiles garbles, truncates and deletes each kind of file badger
// keeps, in turn, and reopens the store: Open must refuse naming the file
// (wrapping ErrDamaged), or every Get must return the acknowledged value
// or an error. A silent ErrNotFound for an acknowledged key, or a panic,
// fails. Before the checks, garbage in a table answered not-found for a
// share of the keys, a deleted MANIFEST opened an empty store, and a
// truncated table panicked.
func TestDamagedFiles(t *testing.T) {
	pristine, want := damageFixture(t)
	kinds := map[string]func() string{
		"first table": func() string { return filesOf(t, pristine, ".sst")[0] },
		"last table":  func() string { f := filesOf(t, pristine, ".sst"); return f[len(f)-1] },
		"first vlog":  func() string { return filesOf(t, pristine, ".vlog")[0] },
		"last vlog":   func() string { f := filesOf(t, pristine, ".vlog"); return f[len(f)-1] },
		"MANIFEST":    func() string { return filepath.Join(pristine, "MANIFEST") },
		"KEYREGISTRY": func() string { return filepath.Join(pristine, "KEYREGISTRY") },
	}
	t.Logf("fixture: %d tables, %d value-log files", len(filesOf(t, pristine, ".sst")), len(filesOf(t, pristine, ".vlog")))
	for kind, pick := range kinds {
		for _, how := range []string{"garble", "truncate", "delete"} {
			t.Run(kind+"/"+how, func(t *testing.T) {
				name := filepath.Base(pick())
				dir := copyDir(t, pristine)
				damage(t, filepath.Join(dir, name), how)
				checkReopen(t, dir, name, want)
			})
		}
	}
}

// checkReopen opens the damaged store in dir and checks every key.
func checkReopen(t *testing.T, dir, file string, want map[string][]byte) {
	t.Helper()
	s, err := openRecovered(damageOptions(dir))
	if err != nil {
		if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), file) {
			t.Fatalf("Open: %v; want an error wrapping ErrDamaged that names %s", err, file)
		}
		t.Logf("refused: %v", err)
		return
	}
	defer s.Close()
	failed := 0
	for i := range len(want) {
		key := fmt.Sprintf("key-%05d", i)
		got, err := s.Get(uint16(i%8), []byte(key))
		switch {
		case errors.Is(err, ErrNotFound):
			t.Fatalf("Get %s: silent ErrNotFound for an acknowledged key", key)
		case err != nil:
			failed++
		case !bytes.Equal(got, want[key]):
			t.Fatalf("Get %s: %d bytes differing from the %d written", key, len(got), len(want[key]))
		}
	}
	t.Logf("opened; %d of %d Gets returned an error", failed, len(want))
}

// openRecovered is Open, with a panic turned into a test-visible error.
func openRecovered(opts Options) (s *Store, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("Open panicked: %v", p)
		}
	}()
	return Open(opts)
}

// TestCrashedStoreOpens copies a store's directory while it is open, as a
// crash would leave it (the newest value-log file still at its sparse
// pre-allocated size, the marker saying open): the checks must not take
// that for damage, and every write must be there.
func TestCrashedStoreOpens(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(damageOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want := map[string][]byte{}
	for i := range 2000 {
		key, v := fmt.Sprintf("key-%05d", i), randomValue(uint64(i), 100+(i%3)*1000)
		if err := s.Update(0, []byte(key), func([]byte, bool) ([]byte, error) { return v, nil }); err != nil {
			t.Fatal(err)
		}
		want[key] = v
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	crashed, err := Open(damageOptions(copyDir(t, dir)))
	if err != nil {
		t.Fatalf("Open after a crash: %v", err)
	}
	defer crashed.Close()
	for key, v := range want {
		if got, err := crashed.Get(0, []byte(key)); err != nil || !bytes.Equal(got, v) {
			t.Fatalf("Get %s after a crash: %d bytes, %v", key, len(got), err)
		}
	}
}
