package replica

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/dynkv/dynkv/bucket"
	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/vclock"
)

// tableVar is a bucket table a test can swap, as the node does.
type tableVar struct{ p atomic.Pointer[bucket.Table] }

func (v *tableVar) get() *bucket.Table { return v.p.Load() }

// set resolves a registry of the given buckets' props (test limits).
func (v *tableVar) set(t *testing.T, props map[string]bucket.Props) {
	t.Helper()
	var reg bucket.Registry
	for name, p := range props {
		var err error
		if reg, _, err = reg.Set(name, p, "test"); err != nil {
			t.Fatal(err)
		}
	}
	v.p.Store(bucket.NewTable(reg, testLimits))
}

// openBucketReplica opens a test replica whose table is tv's, set to props.
func openBucketReplica(t *testing.T, id string, tv *tableVar, props map[string]bucket.Props) *Replica {
	t.Helper()
	tv.set(t, props)
	cfg := testReplicaConfig(t.TempDir())
	cfg.NodeID = id
	cfg.Buckets = tv.get
	r, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// In an lww bucket a write supersedes everything its replica holds, and a
// merge of concurrent states keeps only the winner, the same on every
// replica: two replicas written concurrently converge to one sibling, byte
// for byte.
func TestLWWKeepsOneSiblingAndConverges(t *testing.T) {
	lww := map[string]bucket.Props{"reg": {Conflict: bucket.LWW}}
	var ta, tb tableVar
	a := openBucketReplica(t, "na", &ta, lww)
	b := openBucketReplica(t, "nb", &tb, lww)
	key := bucket.Key("reg", []byte("k"))
	for i, r := range []*Replica{a, a, b, b, b} { // blind writes: no context
		resp, err := r.Mint(wire.WriteRequest{Key: key, Value: []byte{'a' + byte(i)}})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Set.Siblings) != 1 {
			t.Fatalf("write %d: %d siblings in an lww bucket", i, len(resp.Set.Siblings))
		}
	}
	sa, _ := a.Read(key)
	sb, _ := b.Read(key)
	if err := a.Merge(key, sb); err != nil {
		t.Fatal(err)
	}
	if err := b.Merge(key, sa); err != nil {
		t.Fatal(err)
	}
	ma, _ := a.Read(key)
	mb, _ := b.Read(key)
	if len(ma.Siblings) != 1 || !ma.Equal(mb) || string(ma.Encode()) != string(mb.Encode()) {
		t.Fatalf("lww replicas diverge: %v vs %v", ma, mb)
	}
	if want := sa.Merge(sb).LastWriterWins(); !ma.Equal(want) {
		t.Fatalf("merged %v, want the winner %v", ma, want)
	}
	// The same concurrent writes in a sibling bucket keep both.
	plain := []byte("k")
	for _, r := range []*Replica{a, b} {
		if _, err := r.Mint(wire.WriteRequest{Key: plain, Value: []byte("v")}); err != nil {
			t.Fatal(err)
		}
	}
	pb, _ := b.Read(plain)
	if err := a.Merge(plain, pb); err != nil {
		t.Fatal(err)
	}
	if pa, _ := a.Read(plain); len(pa.Siblings) != 2 {
		t.Fatalf("default bucket kept %d siblings of 2 concurrent writes", len(pa.Siblings))
	}
}

// An lww write still checks the client's own context: a claim of a write
// this replica never made is refused, although the write supersedes all.
func TestLWWChecksTheClientsContext(t *testing.T) {
	var tv tableVar
	r := openBucketReplica(t, "n1", &tv, map[string]bucket.Props{"reg": {Conflict: bucket.LWW}})
	key := bucket.Key("reg", []byte("k"))
	if _, err := r.Mint(wire.WriteRequest{Key: key, Value: []byte("a")}); err != nil {
		t.Fatal(err)
	}
	forged := vclock.Context{}.Add(vclock.Dot{Actor: r.Actor(), Counter: 99})
	if _, err := r.Mint(wire.WriteRequest{Key: key, Context: forged, Value: []byte("b")}); !refusedWith(err, wire.CodeBadContext) {
		t.Fatalf("forged own claim in an lww bucket: %v", err)
	}
}

// A fallback of an lww bucket keeps resolved hints: a hinted write, a
// hinted merge of concurrent versions, and hints coalescing.
func TestLWWHintsAreResolved(t *testing.T) {
	var tv tableVar
	r := openBucketReplica(t, "n1", &tv, map[string]bucket.Props{"reg": {Conflict: bucket.LWW}})
	key := bucket.Key("reg", []byte("k"))
	ctx := context.Background()
	var two vclock.Set
	two, _ = two.Write("x", vclock.Context{}, vclock.Sibling{Value: []byte("x"), Modified: 5})
	two, _ = two.Write("y", vclock.Context{}, vclock.Sibling{Value: []byte("y"), Modified: 9})
	for _, h := range []struct {
		op   wire.Op
		body []byte
	}{
		{wire.OpHintWrite, wire.EncodeHinted("n2", wire.WriteRequest{Key: key, Value: []byte("a")}.Encode())},
		{wire.OpHintMerge, wire.EncodeHinted("n2", wire.MergeRequest{Key: key, Set: two}.Encode())},
		{wire.OpHintMerge, wire.EncodeHinted("n3", wire.MergeRequest{Key: key, Set: two}.Encode())},
		{wire.OpHintWrite, wire.EncodeHinted("n2", wire.WriteRequest{Key: key, Value: []byte("b")}.Encode())},
	} {
		if _, err := r.HandleInternode(ctx, h.op, h.body); err != nil {
			t.Fatal(err)
		}
	}
	for _, target := range []string{"n2", "n3"} {
		s, err := r.readHint(target, key)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Siblings) != 1 {
			t.Fatalf("hint for %s holds %d siblings in an lww bucket: %v", target, len(s.Siblings), s)
		}
	}
	if s, _ := r.readHint("n3", key); string(s.Siblings[0].Value) != "y" {
		t.Fatalf("hint for n3 kept %q, want the later stamp's y", s.Siblings[0].Value)
	}
}

// A bucket's caps bound its keys' values and siblings, on the replica and
// on a fallback; other buckets keep the node's.
func TestBucketCaps(t *testing.T) {
	var tv tableVar
	r := openBucketReplica(t, "n1", &tv, map[string]bucket.Props{"small": {MaxValueBytes: 4, MaxSiblings: 1}})
	small := bucket.Key("small", []byte("k"))
	if _, err := r.Mint(wire.WriteRequest{Key: small, Value: []byte("12345")}); !refusedWith(err, wire.CodeValueTooLarge) {
		t.Fatalf("5 bytes with a bucket cap of 4: %v", err)
	}
	if _, err := r.Mint(wire.WriteRequest{Key: []byte("k"), Value: []byte("12345")}); err != nil {
		t.Fatalf("5 bytes in the default bucket (cap 8): %v", err)
	}
	if _, err := r.Mint(wire.WriteRequest{Key: small, Value: []byte("a")}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Mint(wire.WriteRequest{Key: small, Value: []byte("b")}); !refusedWith(err, wire.CodeTooManySiblings) {
		t.Fatalf("a second sibling with a bucket cap of 1: %v", err)
	}
	hint := func(v string) error {
		_, err := r.HandleInternode(context.Background(), wire.OpHintWrite,
			wire.EncodeHinted("n2", wire.WriteRequest{Key: small, Value: []byte(v)}.Encode()))
		return err
	}
	if err := hint("12345"); !refusedWith(err, wire.CodeValueTooLarge) {
		t.Fatalf("a fallback took 5 bytes with a bucket cap of 4: %v", err)
	}
	if err := hint("a"); err != nil {
		t.Fatal(err)
	}
	if err := hint("b"); !refusedWith(err, wire.CodeTooManySiblings) {
		t.Fatalf("a fallback took a second sibling with a bucket cap of 1: %v", err)
	}
}
