package replica

import (
	"testing"

	"github.com/dynkv/dynkv/node/internal/wire"
)

// Handoff forgets a key once its new replicas hold it. If the partition
// comes back, a write without context must not mint a dot the other
// replicas already hold for another value: both writes stay siblings. The
// epoch that guarantees it survives a restart, and with no forget in
// between the actor stays the same (contexts do not grow).
func TestForgottenKeyNeverReusesADot(t *testing.T) {
	dir := t.TempDir()
	r := openTestReplica(t, dir)
	key := []byte("k")
	first, err := r.Mint(wire.WriteRequest{Key: key, Value: []byte("v1")})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.ForgetIfUnchanged(key, first.Set.Encode()); err != nil {
		t.Fatal(err)
	}
	if s, _ := r.Read(key); !s.IsZero() {
		t.Fatalf("key still held after the forget: %v", s)
	}
	again, err := r.Mint(wire.WriteRequest{Key: key, Value: []byte("v2")})
	if err != nil {
		t.Fatal(err)
	}
	if again.Dot == first.Dot {
		t.Fatalf("dot %s minted twice for different values", first.Dot)
	}
	if live := first.Set.Merge(again.Set).Live(0); len(live) != 2 {
		t.Fatalf("merge of the forgotten and the new write: %d live siblings, want 2", len(live))
	}

	// A later write to the key keeps its actor, and so does a restart.
	next, err := r.Mint(wire.WriteRequest{Key: key, Value: []byte("v3"), Context: again.Set.Context})
	if err != nil {
		t.Fatal(err)
	}
	if next.Dot.Actor != again.Dot.Actor || next.Set.Context.Actors() != 1 {
		t.Fatalf("write after the new one: dot %s, context %v", next.Dot, next.Set.Context)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	r = openTestReplica(t, dir)
	defer r.Close()
	if err := r.ForgetIfUnchanged(key, next.Set.Encode()); err != nil {
		t.Fatal(err)
	}
	last, err := r.Mint(wire.WriteRequest{Key: key, Value: []byte("v4")})
	if err != nil {
		t.Fatal(err)
	}
	if last.Dot.Actor == next.Dot.Actor || last.Dot.Actor == first.Dot.Actor {
		t.Fatalf("after a restart and another forget, minted with an old actor: %s", last.Dot)
	}
}
