package replica

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/ring"
)

// keysOf returns n distinct keys of partition p (of 16, the test config).
func keysOf(p, n int) [][]byte {
	var keys [][]byte
	for i := 0; len(keys) < n; i++ {
		k := []byte(fmt.Sprintf("key%d", i))
		if ring.PartitionOf(k, 16) == p {
			keys = append(keys, k)
		}
	}
	return keys
}

// touch changes key the way client traffic does: a write with the context
// just read or, one time in four, the key's removal when unchanged (a reap,
// here of a live value: Reap only compares).
func touch(t *testing.T, r *Replica, rng *rand.Rand, key []byte) {
	t.Helper()
	s, err := r.Read(key)
	if err != nil {
		t.Error(err)
		return
	}
	if rng.IntN(4) == 0 {
		if err := r.Reap(key, s); err != nil {
			t.Error(err)
		}
		return
	}
	req := wire.WriteRequest{Key: key, Context: s.Context, Value: []byte{byte(rng.IntN(256))}}
	if _, err := r.Mint(req); err != nil && !refusedWith(err, wire.CodeTooManySiblings) {
		t.Error(err)
	}
}

func trackAndBuild(t *testing.T, r *Replica, p int) {
	t.Helper()
	if _, err := r.Track(ids(p)); err != nil {
		t.Fatal(err)
	}
	r.BuildTrees(context.Background(), ids(p))
	if r.Tree(p, testN) == nil {
		t.Fatal("no tree after a build")
	}
}

// Writes made while a rebuild is halfway through its scan neither wait for
// the scan nor leave the tree off: the swapped-in tree equals a fresh
// rebuild. The writes touch keys already scanned, keys still to come, and
// new keys, and delete some.
func TestWritesDuringRebuildNeitherWaitNorDrift(t *testing.T) {
	r := openTestReplica(t, t.TempDir())
	defer r.Close()
	const p = 3
	keys := keysOf(p, 400)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, k := range keys[:300] {
		touch(t, r, rng, k)
	}
	trackAndBuild(t, r, p)
	before := r.Tree(p, testN)
	paused := false
	r.trees.scanned = func(_, n int) {
		if n != 150 || paused {
			return
		}
		paused = true
		if r.Tree(p, testN) != before {
			t.Error("a rebuild replaced the live tree before its scan was done")
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := range 200 {
				touch(t, r, rng, keys[(i*7)%len(keys)])
			}
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("writes to the partition waited for a rebuild's scan")
		}
	}
	r.BuildTrees(context.Background(), ids(p))
	if !paused {
		t.Fatal("the rebuild scanned fewer than 150 keys")
	}
	if r.Tree(p, testN) == before {
		t.Fatal("the rebuilt tree was not swapped in")
	}
	checkTreeMatchesStore(t, r, p)
}

// Writers racing repeated rebuilds, including the first build, leave a tree
// equal to a fresh rebuild from the store (run with -race).
func TestTreeFollowsWritesRacingRebuilds(t *testing.T) {
	r := openTestReplica(t, t.TempDir())
	defer r.Close()
	const p = 5
	keys := keysOf(p, 300)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, k := range keys[:200] {
		touch(t, r, rng, k)
	}
	if _, err := r.Track(ids(p)); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			for {
				select {
				case <-stop:
					return
				default:
					touch(t, r, rng, keys[rng.IntN(len(keys))])
				}
			}
		}()
	}
	for range 8 {
		r.BuildTrees(context.Background(), ids(p))
	}
	close(stop)
	wg.Wait()
	checkTreeMatchesStore(t, r, p)
}

// A build cancelled halfway keeps the previous tree, and a failed first
// build leaves the partition not ready rather than half built.
func TestCancelledBuildKeepsTheLiveTree(t *testing.T) {
	r := openTestReplica(t, t.TempDir())
	defer r.Close()
	const p = 7
	rng := rand.New(rand.NewPCG(5, 6))
	for _, k := range keysOf(p, 600) {
		touch(t, r, rng, k)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.trees.scanned = func(_, n int) {
		if n == 10 {
			cancel()
		}
	}
	if _, err := r.Track(ids(p)); err != nil {
		t.Fatal(err)
	}
	r.BuildTrees(ctx, ids(p))
	if r.Tree(p, testN) != nil || r.TreesReady() != 0 {
		t.Fatal("a cancelled first build left a tree")
	}
	r.trees.scanned = nil
	trackAndBuild(t, r, p)
	live := r.Tree(p, testN)
	ctx, cancel = context.WithCancel(context.Background())
	r.trees.scanned = func(_, n int) {
		if n == 10 {
			cancel()
		}
	}
	r.BuildTrees(ctx, ids(p))
	if r.Tree(p, testN) != live {
		t.Fatal("a cancelled rebuild replaced the live tree")
	}
	r.trees.scanned = nil
	touch(t, r, rng, keysOf(p, 1)[0])
	checkTreeMatchesStore(t, r, p)
}
