package replica

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/dynkv/dynkv/bucket"
	"github.com/dynkv/dynkv/hinted"
	"github.com/dynkv/dynkv/merkle"
	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/ring"
	"github.com/dynkv/dynkv/vclock"
)

// testN is the default bucket's N in the test config: the one tree class
// of tests that set no bucket props.
const testN = 3

// testLimits are the node limits of the test config.
var testLimits = bucket.Limits{N: testN, R: 2, W: 2, MaxSiblings: 2, MaxValueBytes: 8}

// ids are the default class's trees of partitions ps.
func ids(ps ...int) []TreeID {
	var out []TreeID
	for _, p := range ps {
		out = append(out, TreeID{Partition: p, N: testN})
	}
	return out
}

func testReplicaConfig(dir string) Config {
	table := bucket.NewTable(bucket.Registry{}, testLimits)
	return Config{
		Buckets: func() *bucket.Table { return table },
		NodeID:  "n1", DataDir: dir, Partitions: 16, MaxValueBytes: 8, MaxSiblings: 2,
		MemTableBytes: 1 << 20, ValueLogFileBytes: 4 << 20,
		Clock:  func() time.Time { return time.Unix(1700000000, 0) },
		Hints:  hinted.Config{Rate: 1e6, Concurrency: 1, Timeout: time.Second, Window: time.Hour},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

func openTestReplica(t *testing.T, dir string) *Replica {
	t.Helper()
	r, err := Open(testReplicaConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func refusedWith(err error, code string) bool {
	var re *wire.RemoteError
	return errors.As(err, &re) && re.Code == code
}

// A refused write stores nothing: neither a value over the limit nor one
// that would pass the sibling cap.
func TestMintRefusalStoresNothing(t *testing.T) {
	r := openTestReplica(t, t.TempDir())
	defer r.Close()
	key := []byte("k")
	if _, err := r.Mint(wire.WriteRequest{Key: key, Value: []byte("too large!")}); !refusedWith(err, wire.CodeValueTooLarge) {
		t.Fatalf("oversized value: %v", err)
	}
	for i := range 2 {
		if _, err := r.Mint(wire.WriteRequest{Key: key, Value: []byte{byte('a' + i)}}); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := r.Read(key)
	if _, err := r.Mint(wire.WriteRequest{Key: key, Value: []byte("c")}); !refusedWith(err, wire.CodeTooManySiblings) {
		t.Fatalf("third concurrent sibling with a cap of 2: %v", err)
	}
	after, _ := r.Read(key)
	if !after.Equal(before) || len(after.Siblings) != 2 {
		t.Fatalf("a refused write changed the key: %v -> %v", before, after)
	}
	if r.LocalWrites() != 2 {
		t.Fatalf("local writes %d, want 2", r.LocalWrites())
	}
}

// The actor survives a clean shutdown, a crash within one boot, and any
// crash when writes were synced; it changes after a crash followed by a new
// or unknown boot without synced writes, so a dot lost with unsynced writes
// is never minted again.
func TestActorChangesOnlyWhenWritesMayBeLost(t *testing.T) {
	for _, tc := range []struct {
		name         string
		sync         bool
		before, then string
		keep         bool
	}{
		{"crash within a boot", false, "b1", "b1", true},
		{"power loss", false, "b1", "b2", false},
		{"boot unknown before", false, "", "b1", false},
		{"boot unknown after", false, "b1", "", false},
		{"power loss with synced writes", true, "b1", "b2", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			r := openReplicaBoot(t, dir, tc.before, tc.sync)
			first := r.Actor()
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			r = openReplicaBoot(t, dir, tc.before, tc.sync)
			if r.Actor() != first {
				t.Fatalf("actor changed across a clean restart: %s -> %s", first, r.Actor())
			}
			r.Kill()
			r = openReplicaBoot(t, dir, tc.then, false)
			defer r.Close()
			if kept := r.Actor() == first; kept != tc.keep {
				t.Fatalf("actor kept=%v (%s -> %s), want %v", kept, first, r.Actor(), tc.keep)
			}
		})
	}
}

func openReplicaBoot(t *testing.T, dir, boot string, sync bool) *Replica {
	t.Helper()
	cfg := testReplicaConfig(dir)
	cfg.BootID = func() string { return boot }
	cfg.SyncWrites = sync
	r, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Every write keeps the partition's tree equal to a rebuild from the store.
func TestTreeFollowsWrites(t *testing.T) {
	r := openTestReplica(t, t.TempDir())
	defer r.Close()
	keys := [][]byte{[]byte("a"), []byte("b"), []byte("c"), []byte("d")}
	p := ring.PartitionOf(keys[0], 16)
	if _, err := r.Track(ids(p)); err != nil {
		t.Fatal(err)
	}
	r.BuildTrees(context.Background(), ids(p))
	for _, k := range keys {
		if _, err := r.Mint(wire.WriteRequest{Key: k, Value: k}); err != nil {
			t.Fatal(err)
		}
	}
	s, _ := r.Read(keys[0])
	if err := r.Reap(keys[0], s); err != nil { // not a tombstone, but Reap only compares
		t.Fatal(err)
	}
	live := r.Tree(p, testN).Root()
	rebuilt, err := merkle.New(merkle.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Scan(p, func(key, value []byte) error { rebuilt.Update(key, nil, value); return nil }); err != nil {
		t.Fatal(err)
	}
	if live != rebuilt.Root() {
		t.Fatal("the tree kept by writes differs from a rebuild")
	}
}

// A fallback keeps a write as a hint for the replica it stands in for,
// never in its own data, and mints with an actor of its own.
func TestHintWriteKeepsAHintOnly(t *testing.T) {
	r := openTestReplica(t, t.TempDir())
	defer r.Close()
	inner := wire.WriteRequest{Key: []byte("k"), Value: []byte("v")}.Encode()
	out, err := r.HandleInternode(context.Background(), wire.OpHintWrite, wire.EncodeHinted("n2", inner))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := wire.DecodeWriteResponse(out)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Dot.Actor == r.Actor() {
		t.Fatal("a fallback minted with the replica's own actor")
	}
	if s, _ := r.Read([]byte("k")); !s.IsZero() {
		t.Fatalf("the fallback stored the write as its own data: %v", s)
	}
	if st := r.Hints().Stats()["n2"]; st.Pending != 1 {
		t.Fatalf("hints for n2: %+v", st)
	}
	if _, err := r.HandleInternode(context.Background(), wire.OpHintWrite, wire.EncodeHinted("n1", inner)); !errors.Is(err, wire.ErrBadMessage) {
		t.Fatalf("a hint for this node itself: %v", err)
	}
}

// A draining replica refuses everything with shutting_down.
func TestDrainingRefuses(t *testing.T) {
	r := openTestReplica(t, t.TempDir())
	defer r.Close()
	r.Drain()
	if _, err := r.ReadLocal([]byte("k")); !refusedWith(err, wire.CodeShuttingDown) {
		t.Fatalf("read while draining: %v", err)
	}
	if _, err := r.MintLocal(wire.WriteRequest{Key: []byte("k")}); !refusedWith(err, wire.CodeShuttingDown) {
		t.Fatalf("mint while draining: %v", err)
	}
	body := wire.MergeRequest{Key: []byte("k"), Set: vclock.Set{}}.Encode()
	if _, err := r.HandleInternode(context.Background(), wire.OpMerge, body); !refusedWith(err, wire.CodeShuttingDown) {
		t.Fatalf("merge while draining: %v", err)
	}
}
