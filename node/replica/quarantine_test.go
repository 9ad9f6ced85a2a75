package replica

import (
	"bytes"
	"context"
	"testing"

	"github.com/dynkv/dynkv/merkle"
	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/vclock"
)

// corrupt overwrites key's stored record with bytes that do not decode, as
// a bug would leave it; through updateOnce, so the tree matches the store
// as it does after a node restarts on a damaged record.
func corrupt(t *testing.T, r *Replica, key []byte) []byte {
	t.Helper()
	garbage := []byte{1, 1, 3, 'b', 'a', 'd', 0xff}
	err := r.updateOnce(key, func([]byte, bool) ([]byte, error) { return garbage, nil })
	if err != nil {
		t.Fatal(err)
	}
	return garbage
}

// quarantinedRecords lists the raw records set aside for key.
func quarantinedRecords(t *testing.T, r *Replica, key []byte) [][]byte {
	t.Helper()
	var out [][]byte
	prefix := append([]byte{quarantinedRecord}, key...)
	err := r.quarantine.ks.Scan(prefix, func(k, v []byte) error {
		if len(k) == len(prefix)+12 {
			out = append(out, v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A record that does not decode is set aside with its raw bytes and the
// key reads as absent, so that repair can restore it; it never fails the
// key's reads, writes or merges.
func TestCorruptRecordIsQuarantined(t *testing.T) {
	r := openTestReplica(t, t.TempDir())
	defer r.Close()
	key, other := []byte("k"), []byte("l")
	if _, err := r.Track(ids(int(r.partition(key)), int(r.partition(other)))); err != nil {
		t.Fatal(err)
	}
	r.BuildTrees(context.Background(), ids(int(r.partition(key)), int(r.partition(other))))
	if _, err := r.Mint(wire.WriteRequest{Key: key, Value: []byte("v1")}); err != nil {
		t.Fatal(err)
	}
	peer, err := r.Read(key) // what another replica holds
	if err != nil {
		t.Fatal(err)
	}
	raw := corrupt(t, r, key)
	if s, err := r.Read(key); err != nil || !s.IsZero() {
		t.Fatalf("read of a corrupt record: %v, %v; want absent", s, err)
	}
	if got := quarantinedRecords(t, r, key); len(got) != 1 || !bytes.Equal(got[0], raw) {
		t.Fatalf("quarantined records %x, want [%x]", got, raw)
	}
	if r.Quarantined() != 1 {
		t.Fatalf("Quarantined() = %d", r.Quarantined())
	}
	checkTreeMatchesStore(t, r, int(r.partition(key)))

	// Until a peer's state comes back, this replica's own dots for the key
	// are unknown: it mints with its fallback actor, never reusing one.
	resp, err := r.Mint(wire.WriteRequest{Key: key, Value: []byte("v2")})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Dot.Actor == r.Actor() {
		t.Fatalf("minted %v with the replica's actor while its dots for the key are unknown", resp.Dot)
	}
	if err := r.Merge(key, peer); err != nil {
		t.Fatal(err)
	}
	s, _ := r.Read(key)
	if len(s.Live(0)) != 2 {
		t.Fatalf("after the repair: %v, want v1 and v2", s)
	}
	resp, err = r.Mint(wire.WriteRequest{Key: key, Context: s.Context, Value: []byte("v3")})
	if err != nil || resp.Dot != (vclock.Dot{Actor: r.Actor(), Counter: 2}) {
		t.Fatalf("mint after the repair: %v, %v; want %s:2", resp.Dot, err, r.Actor())
	}
	checkTreeMatchesStore(t, r, int(r.partition(key)))
}

// Writes and merges meet the corrupt record inside their read-modify-write:
// they quarantine it too and apply to the key as absent.
func TestCorruptRecordQuarantinedByWrites(t *testing.T) {
	r := openTestReplica(t, t.TempDir())
	defer r.Close()
	key := []byte("k")
	var in vclock.Set
	in, _ = in.Write("n2.000000000000", vclock.Context{}, vclock.Sibling{Value: []byte("peer")})
	corrupt(t, r, key)
	if err := r.Merge(key, in); err != nil {
		t.Fatalf("merge into a corrupt record: %v", err)
	}
	if s, _ := r.Read(key); !s.Equal(in) {
		t.Fatalf("after the merge: %v", s)
	}
	corrupt(t, r, key)
	if _, err := r.Mint(wire.WriteRequest{Key: key, Value: []byte("x")}); err != nil {
		t.Fatalf("write over a corrupt record: %v", err)
	}
	if r.Quarantined() != 2 || len(quarantinedRecords(t, r, key)) != 2 {
		t.Fatalf("quarantined %d records, keyspace holds %d; want 2", r.Quarantined(), len(quarantinedRecords(t, r, key)))
	}
}

// A quarantine mark survives a restart: a replica restarted before the key
// was restored still does not mint with its own actor for it.
func TestQuarantineMarkSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	r := openTestReplica(t, dir)
	key := []byte("k")
	corrupt(t, r, key)
	if _, err := r.Read(key); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	r = openTestReplica(t, dir)
	defer r.Close()
	resp, err := r.Mint(wire.WriteRequest{Key: key, Value: []byte("x")})
	if err != nil || resp.Dot.Actor == r.Actor() {
		t.Fatalf("mint after restart: %v, %v", resp.Dot, err)
	}
}

func checkTreeMatchesStore(t *testing.T, r *Replica, p int) {
	t.Helper()
	rebuilt, err := merkle.New(merkle.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Scan(p, func(key, value []byte) error { rebuilt.Update(key, nil, value); return nil }); err != nil {
		t.Fatal(err)
	}
	if tr := r.Tree(p, testN); tr == nil || tr.Root() != rebuilt.Root() {
		t.Fatal("the tree kept by writes differs from a rebuild")
	}
}
