package store

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNewestValueLogComparesNumbers(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"000007.vlog", "999999.vlog", "1000000.vlog", "2000000.sst", "x.vlog"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got, err := newestValueLog(dir)
	if err != nil || got != "1000000.vlog" {
		t.Fatalf("newestValueLog = %q, %v; want 1000000.vlog", got, err)
	}
	if got, err := newestValueLog(t.TempDir()); err != nil || got != "" {
		t.Fatalf("empty directory: %q, %v", got, err)
	}
}

// The write-back follows badger from file to file and never fails while
// badger rotates and deletes files under it.
func TestWriteBackFollowsRotations(t *testing.T) {
	var logs lockedBuffer
	dir := t.TempDir()
	s := openTest(t, Options{
		Dir: dir, MemTableSize: 1 << 20, ValueLogFileSize: 1 << 20, ValueThreshold: 64,
		WriteBackInterval: 1, GCInterval: 1, Logger: slog.New(recordHandler{&logs}),
	})
	v := bytes.Repeat([]byte{'v'}, 1024)
	for i := range 4000 { // ~4 MiB of values: several value-log files
		if err := s.Update(uint16(i%16), benchKey(i%500), func([]byte, bool) ([]byte, error) { return v, nil }); err != nil {
			t.Fatal(err)
		}
	}
	var active activeValueLog
	defer active.close()
	if err := active.writeBack(dir); err != nil {
		t.Fatal(err)
	}
	if newest, _ := newestValueLog(dir); active.name != newest || newest == "000001.vlog" {
		t.Fatalf("write-back holds %q; newest file %q (expected rotations)", active.name, newest)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if out := logs.String(); strings.Contains(out, "write-back failed") {
		t.Fatalf("write-back failed:\n%s", out)
	}
}

// A directory keeps the memtable scale it was made with, and one made before
// scales existed keeps its memtables at the configured size.
func TestMemTableScaleIsKept(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, Options{Dir: dir})
	first := s.memTableScale
	if first < 1 || first >= maxMemTableScale {
		t.Fatalf("scale %v outside [1, %v)", first, maxMemTableScale)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		s = openTest(t, Options{Dir: dir})
		if s.memTableScale != first {
			t.Fatalf("reopened with scale %v, made with %v", s.memTableScale, first)
		}
		s.Close()
	}
	// A marker from before scales: no memtable_scale field.
	old := t.TempDir()
	s = openTest(t, Options{Dir: old})
	s.Close()
	if err := writeMarker(old, marker{Clean: true}); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, Options{Dir: old})
	defer s.Close()
	if s.memTableScale != 1 {
		t.Fatalf("pre-scale directory reopened with scale %v; want 1", s.memTableScale)
	}
	if got := scaleMemTable(8<<20, 7); got != 12<<20 {
		t.Fatalf("an edited scale of 7 gives %d; want clamped to %d", got, 12<<20)
	}
	if got := scaleMemTable(8<<20, 0.1); got != 8<<20 {
		t.Fatalf("an edited scale of 0.1 gives %d; want the configured size", got)
	}
}
