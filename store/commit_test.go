package store

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// commitCount is how many badger transactions s's writes have used.
func commitCount(s *Store) int64 { return s.commits.txns.Load() }

// commitSpy replaces a store's commit: it records each transaction's size,
// can hold the first one until released, and can fail a given one.
type commitSpy struct {
	held    chan struct{} // closed when the first commit is waiting
	release func()        // lets the first commit go on

	mu    sync.Mutex
	sizes []int
	fail  map[int]error // by call number, from 0
}

// spyCommits installs a commitSpy on s, which must not be in use yet.
func spyCommits(t *testing.T, s *Store) *commitSpy {
	release, unpark := parked(t)
	sp := &commitSpy{held: make(chan struct{}), release: unpark, fail: map[int]error{}}
	s.commits.commit = func(txn *badger.Txn, n int) error {
		sp.mu.Lock()
		call := len(sp.sizes)
		sp.sizes = append(sp.sizes, n)
		err := sp.fail[call]
		sp.mu.Unlock()
		if call == 0 {
			close(sp.held)
			<-release
		}
		if err != nil {
			return err
		}
		return txn.Commit()
	}
	return sp
}

func (sp *commitSpy) batchSizes() []int {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return append([]int(nil), sp.sizes...)
}

// waitQueued waits until n writes are queued behind the commit in progress.
func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.commits.mu.Lock()
		q := len(s.commits.queue)
		s.commits.mu.Unlock()
		if q == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued; want %d", q, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// stripeKeys returns n keys of partition p named prefix<i> whose stripes
// differ from each other and from those in used, which it extends: writes
// that are to queue together must not wait for each other's stripes.
func stripeKeys(s *Store, used map[*sync.Mutex]bool, p uint16, prefix string, n int) []string {
	var keys []string
	for i := 0; len(keys) < n; i++ {
		k := fmt.Sprint(prefix, i)
		if mu := s.stripe(dataKey(p, []byte(k))); !used[mu] {
			used[mu] = true
			keys = append(keys, k)
		}
	}
	return keys
}

// firstStripe is the stripe set of holdAndQueue's first write.
func firstStripe(s *Store) map[*sync.Mutex]bool {
	return map[*sync.Mutex]bool{s.stripe(dataKey(0, []byte("first"))): true}
}

// holdAndQueue starts one Update that the spy holds in its commit, then
// starts each of writes in its own goroutine and waits until all are queued
// behind it. It returns the channel the writes' errors arrive on.
func holdAndQueue(t *testing.T, s *Store, sp *commitSpy, writes []func() error) <-chan error {
	t.Helper()
	errs := make(chan error, len(writes)+1)
	go func() { errs <- set(s, "first", []byte("first")) }()
	<-sp.held
	for _, w := range writes {
		go func() { errs <- w() }()
	}
	waitQueued(t, s, len(writes))
	return errs
}

// Writes that queue while a batch commits go to badger together, as one
// transaction, and each returns its own result. With SyncWrites badger
// syncs each transaction's write-ahead log and value log before its commit
// returns, so one sync covers the batch.
func TestGroupCommitOneBatch(t *testing.T) {
	const n = 63
	for _, synced := range []bool{false, true} {
		t.Run(fmt.Sprint("SyncWrites=", synced), func(t *testing.T) {
			s := openTest(t, Options{SyncWrites: synced})
			if s.db.Opts().SyncWrites != synced {
				t.Fatalf("badger's SyncWrites = %v", s.db.Opts().SyncWrites)
			}
			sp := spyCommits(t, s)
			keys := stripeKeys(s, firstStripe(s), 0, "k", n)
			var writes []func() error
			for _, k := range keys {
				writes = append(writes, func() error { return set(s, k, []byte("v"+k)) })
			}
			errs := holdAndQueue(t, s, sp, writes)
			sp.release()
			for range n + 1 {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			if got := sp.batchSizes(); !slicesEqual(got, []int{1, n}) {
				t.Fatalf("transactions of %v writes; want [1 %d]", got, n)
			}
			for _, k := range keys {
				if v, ok := mustGet(t, s, 0, k); !ok || v != "v"+k {
					t.Fatalf("%s = %q, %v", k, v, ok)
				}
			}
		})
	}
}

func slicesEqual(a, b []int) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

// A batch whose commit fails fails every write in it, and none of them is
// visible: not the new keys, not the overwrites, not the deletes. The store
// goes on working.
func TestGroupCommitBatchFailure(t *testing.T) {
	s := openTest(t, Options{})
	used := firstStripe(s)
	olds, news := stripeKeys(s, used, 1, "old", 10), stripeKeys(s, used, 0, "new", 10)
	for _, k := range olds {
		put(t, s, 1, k, "before")
	}
	sp := spyCommits(t, s)
	boom := errors.New("boom")
	sp.fail[1] = boom
	var writes []func() error
	for i := range 10 {
		writes = append(writes,
			func() error { return set(s, news[i], []byte("x")) },
			func() error {
				return s.Update(1, []byte(olds[i]), func(old []byte, _ bool) ([]byte, error) {
					if i%2 == 0 {
						return nil, nil // delete
					}
					return append(old, "-after"...), nil
				})
			})
	}
	errs := holdAndQueue(t, s, sp, writes)
	sp.release()
	failed := 0
	for range len(writes) + 1 {
		if err := <-errs; errors.Is(err, boom) {
			failed++
		} else if err != nil {
			t.Errorf("unexpected error: %v", err)
		}
	}
	if failed != len(writes) {
		t.Fatalf("%d writes failed with the batch; want all %d", failed, len(writes))
	}
	for i := range 10 {
		if _, ok := mustGet(t, s, 0, news[i]); ok {
			t.Errorf("%s of the failed batch is visible", news[i])
		}
		if v, ok := mustGet(t, s, 1, olds[i]); !ok || v != "before" {
			t.Errorf("%s = %q, %v after the failed batch; want before", olds[i], v, ok)
		}
	}
	put(t, s, 0, "later", "ok")
	if v, _ := mustGet(t, s, 0, "later"); v != "ok" {
		t.Fatalf("write after the failed batch: %q", v)
	}
}

// A batch larger than one badger transaction is split, and a write badger
// refuses on its own fails alone.
func TestGroupCommitSplitsTooBig(t *testing.T) {
	// In memory with 1 MiB memtables, a transaction holds at most 15% of
	// 1 MiB (157,286 bytes): one 100 KiB value, and none of 200 KiB.
	s := openTest(t, Options{InMemory: true, MemTableSize: 1 << 20})
	sp := spyCommits(t, s)
	const n = 6
	keys := stripeKeys(s, firstStripe(s), 0, "k", n+1)
	values := make([][]byte, n)
	var writes []func() error
	for i := range n {
		values[i] = randomValue(uint64(i), 100<<10)
		writes = append(writes, func() error { return set(s, keys[i], values[i]) })
	}
	writes = append(writes, func() error {
		if err := set(s, keys[n], make([]byte, 200<<10)); err == nil {
			return errors.New("a 200 KiB value was stored in memory")
		}
		return nil
	})
	errs := holdAndQueue(t, s, sp, writes)
	sp.release()
	for range len(writes) + 1 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := sp.batchSizes(); len(got) != 1+n {
		t.Fatalf("transactions of %v writes; want 1 then %d of 1", got, n)
	}
	for i := range n {
		if v, err := s.Get(0, []byte(keys[i])); err != nil || !bytes.Equal(v, values[i]) {
			t.Fatalf("%s: %d bytes, %v", keys[i], len(v), err)
		}
	}
}

// 64 goroutines increment one counter, a few shared ones and one each of
// their own; every count ends exact, and distinct keys shared transactions.
func TestGroupCommitCounters(t *testing.T) {
	const goroutines, perG, shared = 64, 48, 4
	for _, synced := range []bool{false, true} {
		t.Run(fmt.Sprint("SyncWrites=", synced), func(t *testing.T) {
			s := openTest(t, Options{SyncWrites: synced})
			var wg sync.WaitGroup
			for g := range goroutines {
				wg.Go(func() {
					own := []byte(fmt.Sprint("own-", g))
					for i := range perG {
						for _, k := range [][]byte{[]byte("counter"), own, []byte(fmt.Sprint("shared-", i%shared))} {
							if err := s.Update(2, k, increment); err != nil {
								t.Errorf("Update %s: %v", k, err)
								return
							}
						}
					}
				})
			}
			wg.Wait()
			if n := counter(t, s, 2, []byte("counter")); n != goroutines*perG {
				t.Errorf("counter = %d; want %d", n, goroutines*perG)
			}
			for g := range goroutines {
				if n := counter(t, s, 2, []byte(fmt.Sprint("own-", g))); n != perG {
					t.Errorf("own-%d = %d; want %d", g, n, perG)
				}
			}
			for i := range shared {
				if n := counter(t, s, 2, []byte(fmt.Sprint("shared-", i))); n != goroutines*perG/shared {
					t.Errorf("shared-%d = %d; want %d", i, n, goroutines*perG/shared)
				}
			}
			writes := int64(goroutines * perG * 3)
			t.Logf("%d writes in %d transactions", writes, commitCount(s))
			if commitCount(s) >= writes {
				t.Errorf("%d writes took %d transactions: none were grouped", writes, commitCount(s))
			}
		})
	}
}

// Close while a batch is committing and more writes are queued behind it:
// Close waits for all of them, each returns its own result, later calls
// return ErrClosed, and no goroutine of the store is left.
func TestCloseWithUpdatesInFlight(t *testing.T) {
	s, err := Open(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	sp := spyCommits(t, s)
	keys := stripeKeys(s, firstStripe(s), 0, "k", 20)
	var writes []func() error
	for _, k := range keys {
		writes = append(writes, func() error { return set(s, k, []byte("v")) })
	}
	errs := holdAndQueue(t, s, sp, writes)
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	for s.state.Load()&closedBit == 0 {
		time.Sleep(time.Millisecond)
	}
	if err := set(s, "late", []byte("v")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Update after Close began: %v; want ErrClosed", err)
	}
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) with writes in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	sp.release()
	for range len(writes) + 1 {
		if err := <-errs; err != nil {
			t.Errorf("write in flight at Close: %v", err)
		}
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	buf := make([]byte, 1<<20)
	if st := string(buf[:runtime.Stack(buf, true)]); strings.Contains(st, "store.(*committer)") {
		t.Fatalf("a committer goroutine outlived Close:\n%s", st)
	}

	s, err = Open(Options{Dir: s.dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, k := range keys {
		if v, ok := mustGet(t, s, 0, k); !ok || v != "v" {
			t.Fatalf("%s after reopen = %q, %v", k, v, ok)
		}
	}
}

// A commit that panics (a badger assertion, recovered by the caller) fails
// the batch's other writes instead of leaving them, and every later write,
// waiting for a leader that is gone.
func TestGroupCommitPanicPassesTheLead(t *testing.T) {
	s := openTest(t, Options{})
	sp := spyCommits(t, s)
	errPanicked := errors.New("panicked")
	commit := s.commits.commit
	s.commits.commit = func(txn *badger.Txn, n int) error {
		if n > 1 {
			panic("badger")
		}
		return commit(txn, n)
	}
	var writes []func() error
	for _, k := range stripeKeys(s, firstStripe(s), 0, "k", 8) {
		writes = append(writes, func() (err error) {
			defer func() {
				if recover() != nil {
					err = errPanicked
				}
			}()
			return set(s, k, []byte("v"))
		})
	}
	errs := holdAndQueue(t, s, sp, writes)
	sp.release()
	var ok, panicked, failed int
	for range len(writes) + 1 {
		switch err := <-errs; {
		case err == nil:
			ok++
		case err == errPanicked:
			panicked++
		case errors.Is(err, errCommitPanicked):
			failed++
		default:
			t.Errorf("unexpected error %v", err)
		}
	}
	if ok != 1 || panicked != 1 || failed != len(writes)-1 {
		t.Errorf("%d succeeded, %d panicked, %d failed; want 1 (the held write), 1 (the leader), %d", ok, panicked, failed, len(writes)-1)
	}
	done := make(chan error, 1)
	go func() { done <- set(s, "after", []byte("v")) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a write after the panicked commit waits forever")
	}
}
