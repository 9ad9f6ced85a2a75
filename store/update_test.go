package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestUpdateSemantics(t *testing.T) {
	s := openTest(t, Options{})
	k := []byte("k")
	boom := errors.New("boom")

	// fn sees (nil, false) for an absent key.
	err := s.Update(0, k, func(old []byte, exists bool) ([]byte, error) {
		if old != nil || exists {
			t.Errorf("absent key: fn got %q, %v", old, exists)
		}
		return nil, ErrNoChange
	})
	if err != nil {
		t.Fatalf("ErrNoChange on an absent key: Update = %v; want nil", err)
	}
	if _, ok := mustGet(t, s, 0, "k"); ok {
		t.Fatal("ErrNoChange on an absent key wrote something")
	}

	// A nil result for an absent key is a no-op, not an error.
	if err := s.Update(0, k, func([]byte, bool) ([]byte, error) { return nil, nil }); err != nil {
		t.Fatalf("delete of an absent key via Update: %v", err)
	}

	put(t, s, 0, "k", "v1")
	err = s.Update(0, k, func(old []byte, exists bool) ([]byte, error) {
		if string(old) != "v1" || !exists {
			t.Errorf("present key: fn got %q, %v", old, exists)
		}
		return []byte("ignored"), ErrNoChange
	})
	if err != nil {
		t.Fatalf("ErrNoChange: Update = %v; want nil", err)
	}
	if v, _ := mustGet(t, s, 0, "k"); v != "v1" {
		t.Fatalf("after ErrNoChange value = %q; want v1", v)
	}

	// A wrapped ErrNoChange counts too.
	err = s.Update(0, k, func([]byte, bool) ([]byte, error) {
		return []byte("ignored"), fmt.Errorf("nothing to merge: %w", ErrNoChange)
	})
	if err != nil {
		t.Fatalf("wrapped ErrNoChange: Update = %v; want nil", err)
	}

	// Any other error is returned and nothing is written.
	err = s.Update(0, k, func([]byte, bool) ([]byte, error) { return []byte("ignored"), boom })
	if err != boom {
		t.Fatalf("fn error: Update = %v; want boom unchanged", err)
	}
	if v, _ := mustGet(t, s, 0, "k"); v != "v1" {
		t.Fatalf("after fn error value = %q; want v1", v)
	}

	// fn may keep old: later writes must not change it.
	var kept []byte
	s.Update(0, k, func(old []byte, _ bool) ([]byte, error) { kept = old; return []byte("v2"), nil })
	put(t, s, 0, "k", "v3")
	if string(kept) != "v1" {
		t.Fatalf("kept old value changed to %q", kept)
	}

	// An empty non-nil value is stored; it is not a delete.
	put(t, s, 0, "k", "")
	err = s.Update(0, k, func(old []byte, exists bool) ([]byte, error) {
		if !exists || old == nil || len(old) != 0 {
			t.Errorf("empty value: fn got %q (nil=%v), %v", old, old == nil, exists)
		}
		return nil, nil // and nil deletes
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := mustGet(t, s, 0, "k"); ok {
		t.Fatal("nil result did not delete the key")
	}
}

// A panicking fn must not leave the key's stripe locked.
func TestUpdatePanicReleasesStripe(t *testing.T) {
	s := openTest(t, Options{})
	func() {
		defer func() { recover() }()
		s.Update(0, []byte("k"), func([]byte, bool) ([]byte, error) { panic("fn") })
	}()
	done := make(chan error, 1)
	go func() {
		done <- s.Update(0, []byte("k"), func([]byte, bool) ([]byte, error) { return []byte("v"), nil })
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Update after a panicking fn blocked")
	}
}

// increment is an Update callback that adds 1 to a big-endian uint64.
func increment(old []byte, exists bool) ([]byte, error) {
	var n uint64
	if exists {
		n = binary.BigEndian.Uint64(old)
	}
	return binary.BigEndian.AppendUint64(nil, n+1), nil
}

func counter(t *testing.T, s *Store, p uint16, key []byte) uint64 {
	t.Helper()
	v, err := s.Get(p, key)
	if err != nil {
		t.Fatalf("Get counter %q: %v", key, err)
	}
	return binary.BigEndian.Uint64(v)
}

func TestUpdateConcurrentSameKey(t *testing.T) {
	const goroutines, perG = 16, 200
	s := openTest(t, Options{})
	key := []byte("counter")
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range perG {
				if err := s.Update(5, key, increment); err != nil {
					t.Errorf("Update: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := counter(t, s, 5, key); n != goroutines*perG {
		t.Fatalf("counter = %d; want %d", n, goroutines*perG)
	}
}

// Goroutines increment several shared keys (in different partitions) and
// one private key each; every count must be exact, and concurrent Deletes of
// an unrelated key must not disturb them.
func TestUpdateConcurrentDifferentKeys(t *testing.T) {
	const goroutines, perG, shared = 16, 200, 4
	s := openTest(t, Options{})
	sharedKey := func(i int) []byte { return []byte(fmt.Sprint("shared-", i)) }
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			own := []byte(fmt.Sprint("own-", g))
			for i := range perG {
				if err := s.Update(uint16(g), own, increment); err != nil {
					t.Errorf("Update own: %v", err)
					return
				}
				if err := s.Update(uint16(i%shared), sharedKey(i%shared), increment); err != nil {
					t.Errorf("Update shared: %v", err)
					return
				}
				if err := s.Delete(0, []byte("unrelated")); err != nil {
					t.Errorf("Delete: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	for g := range goroutines {
		if n := counter(t, s, uint16(g), []byte(fmt.Sprint("own-", g))); n != perG {
			t.Errorf("own-%d = %d; want %d", g, n, perG)
		}
	}
	for i := range shared {
		if n := counter(t, s, uint16(i), sharedKey(i)); n != goroutines*perG/shared {
			t.Errorf("shared-%d = %d; want %d", i, n, goroutines*perG/shared)
		}
	}
}

// parked returns a channel an Update callback can wait on and the function
// that closes it. A failing test also closes it at cleanup, before the store
// closes, so Close does not wait forever for the parked Update.
func parked(t *testing.T) (<-chan struct{}, func()) {
	c := make(chan struct{})
	var once sync.Once
	unpark := func() { once.Do(func() { close(c) }) }
	t.Cleanup(unpark)
	return c, unpark
}

// Update and Delete of the same key serialize: a Delete issued while an
// Update is between its read and its write waits for the Update, so the key
// ends up absent instead of the Delete being overwritten and lost.
func TestDeleteSerializesWithUpdate(t *testing.T) {
	s := openTest(t, Options{})
	key := []byte("k")
	inFn := make(chan struct{})
	release, unpark := parked(t)
	go s.Update(0, key, func(old []byte, exists bool) ([]byte, error) {
		close(inFn)
		<-release
		return increment(old, exists)
	})
	<-inFn
	deleted := make(chan error, 1)
	go func() { deleted <- s.Delete(0, key) }()
	select {
	case err := <-deleted:
		t.Fatalf("Delete returned (%v) while an Update of the key was in fn", err)
	case <-time.After(50 * time.Millisecond):
	}
	unpark()
	if err := <-deleted; err != nil {
		t.Fatal(err)
	}
	if _, ok := mustGet(t, s, 0, "k"); ok {
		t.Fatal("Delete ordered after the Update did not remove the key")
	}
}

// Different keys proceed in parallel: while one Update is parked in fn, an
// Update of a key on another stripe completes.
func TestUpdateDifferentStripesDoNotBlock(t *testing.T) {
	s := openTest(t, Options{})
	a := []byte("a")
	var b []byte
	for i := 0; b == nil; i++ {
		if c := []byte(fmt.Sprint("b", i)); s.stripe(dataKey(0, c)) != s.stripe(dataKey(0, a)) {
			b = c
		}
	}
	inFn := make(chan struct{})
	release, unpark := parked(t)
	doneA := make(chan error, 1)
	go func() {
		doneA <- s.Update(0, a, func([]byte, bool) ([]byte, error) {
			close(inFn)
			<-release
			return []byte("a"), nil
		})
	}()
	<-inFn
	doneB := make(chan error, 1)
	go func() { doneB <- s.Update(0, b, func([]byte, bool) ([]byte, error) { return []byte("b"), nil }) }()
	select {
	case err := <-doneB:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Update of another key waited for a parked Update")
	}
	unpark()
	if err := <-doneA; err != nil {
		t.Fatal(err)
	}
}
