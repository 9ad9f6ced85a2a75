package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestServeRefusesDamagedDir garbles 4 KiB of a table of a stopped node's
// data directory: serve must exit non-zero, naming the file and the way
// out, instead of starting healthy and answering 404 for keys it holds.
func TestServeRefusesDamagedDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ports := freePorts(t, 2)
	s := newServeNode(t, dir, "solo", ports[0], ports[1], "--n", "1", "--r", "1", "--w", "1")
	s.start(t)
	waitMembers(t, s.url, map[string]string{"solo": "alive"})
	putEventually(t, s.url, "k0", "v0")
	for i := 1; i < 200; i++ {
		mustPut(t, s.url, fmt.Sprintf("k%d", i), strings.Repeat("v", 100))
	}
	s.p.signal(t, syscall.SIGTERM)
	if code := s.p.wait(t); code != 0 {
		t.Fatalf("serve exited with %d after SIGTERM, want 0", code)
	}

	tables, err := filepath.Glob(filepath.Join(dir, "solo", "*.sst"))
	if err != nil || len(tables) == 0 {
		t.Fatalf("no table in the data directory after a clean stop (%v)", err)
	}
	garble(t, tables[0])

	s.start(t)
	if code := s.p.wait(t); code == 0 {
		t.Fatal("serve started on a damaged data directory")
	}
	stderr := s.p.stderr.String()
	t.Logf("serve refused to start:\n%s", tail(stderr, 1500))
	for _, want := range []string{filepath.Base(tables[0]), "damaged", "anti-entropy"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, tail(stderr, 2000))
		}
	}
}

// garble overwrites 4 KiB from the middle of path (all of a smaller file)
// with noise.
func garble(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	n := min(4<<10, fi.Size())
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(randomBytes(t, int(n)), (fi.Size()-n)/2); err != nil {
		t.Fatal(err)
	}
}
