package store

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

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
		if n, _ := s.Count(p, nil); n != 25 {
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
		"Count":      func() error { _, err := s.Count(0, nil); return err }(),
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
	for n := 0; n < 100; n, _ = s.Count(0, nil) {
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
