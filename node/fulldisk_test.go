//go:build unix

package node

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"syscall"
	"testing"

	"github.com/dynkv/dynkv/node/internal/testutil"
)

// fullFloor is a free-space floor half again above what dir's file system
// has free: the node opens (it needs half the floor) and refuses every
// write, as a node whose disk filled up would.
func fullFloor(t *testing.T, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * int64(st.Bsize) * 3 / 2
}

// startFullCluster starts three nodes, those in full with a disk below its
// floor.
func startFullCluster(t *testing.T, full ...int) *LocalCluster {
	t.Helper()
	dir := testutil.TempDir(t)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	floor := fullFloor(t, dir)
	return startCluster(t, LocalClusterOptions{Nodes: 3, Dir: dir, Configure: func(i int, c *Config) {
		for _, f := range full {
			if i == f {
				c.MinFreeDiskBytes = floor
			}
		}
	}})
}

// TestFullReplicaStandsAside checks that a replica whose disk is below the
// floor is passed over like a failed one: every write still succeeds
// (another replica mints, a stand-in takes the full one's share), the full
// node still coordinates and serves reads, and it reports itself below the
// floor.
func TestFullReplicaStandsAside(t *testing.T) {
	c := startFullCluster(t, 0)
	ctx := context.Background()
	full := c.Node(0)
	for i := range 30 {
		key := fmt.Appendf(nil, "k%d", i)
		if _, err := full.Put(ctx, WriteRequest{Key: key, Value: []byte("v")}); err != nil {
			t.Fatalf("put %s through the full node: %v", key, err)
		}
		res, err := full.Get(ctx, key, 0)
		if err != nil || len(res.Set.Live(0)) != 1 {
			t.Fatalf("get %s through the full node: %v", key, err)
		}
	}
	if d := full.Status().Disk; !d.BelowFloor || d.FloorBytes == 0 {
		t.Errorf("full node's disk status %+v; want below_floor", d)
	}
	if d := c.Node(1).Status().Disk; d.BelowFloor {
		t.Errorf("healthy node's disk status %+v", d)
	}
}

// TestAllReplicasFull checks that a write every replica refuses for want
// of space is answered 507 insufficient_storage (not 503), and that reads
// still work.
func TestAllReplicasFull(t *testing.T) {
	c := startFullCluster(t, 0, 1, 2)
	_, err := c.Node(1).Put(context.Background(), WriteRequest{Key: []byte("k"), Value: []byte("v")})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusInsufficientStorage || ae.Code != CodeInsufficientStorage {
		t.Fatalf("put with every disk full: %v; want 507 %s", err, CodeInsufficientStorage)
	}
	if _, err := c.Node(2).Get(context.Background(), []byte("k"), 0); err != nil {
		t.Fatalf("read with every disk full: %v", err)
	}
}
