package replica

import (
	"context"
	"math"
	"testing"

	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/vclock"
)

func claim(actor string, counter uint64) vclock.Context {
	return vclock.Context{}.Add(vclock.Dot{Actor: actor, Counter: counter})
}

// A context claiming a write by this replica that it never made, or a
// counter no write can reach, is refused and stores nothing; counters
// never wrap.
func TestMintRefusesForgedContexts(t *testing.T) {
	r := openTestReplica(t, t.TempDir())
	defer r.Close()
	key := []byte("k")
	if _, err := r.Mint(wire.WriteRequest{Key: key, Value: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	before, _ := r.Read(key)
	for name, ctx := range map[string]vclock.Context{
		"own actor past its last write": before.Context.Merge(claim(r.Actor(), 2)),
		"own actor at the last counter": claim(r.Actor(), math.MaxUint64),
		"another actor past the bound":  claim("n2.000000000000", maxClaimedCounter+1),
	} {
		_, err := r.Mint(wire.WriteRequest{Key: key, Context: ctx, Value: []byte("x")})
		if !refusedWith(err, wire.CodeBadContext) {
			t.Errorf("%s: %v, want bad_context", name, err)
		}
	}
	if after, _ := r.Read(key); !after.Equal(before) {
		t.Fatalf("a refused write changed the key: %v -> %v", before, after)
	}
	// A key this replica no longer holds (reaped, handed off) may have been
	// written by it: a claim within the bound is taken, and counted past.
	resp, err := r.Mint(wire.WriteRequest{Key: []byte("gone"), Context: claim(r.Actor(), 7), Value: []byte("x")})
	if err != nil || resp.Dot.Counter != 8 {
		t.Fatalf("write to a key not held here: %v, %v", resp.Dot, err)
	}
	if err := checkNotExhausted(r.Actor(), math.MaxUint64); err == nil {
		t.Fatal("a counter past math.MaxUint64 would be minted")
	}
}

// A fallback knows every dot of its own actor: a context claiming more is
// refused before a hint is kept.
func TestHintWriteRefusesForgedFallbackClaims(t *testing.T) {
	r := openTestReplica(t, t.TempDir())
	defer r.Close()
	write := func(ctx vclock.Context) (wire.WriteResponse, error) {
		inner := wire.WriteRequest{Key: []byte("k"), Context: ctx, Value: []byte("v")}.Encode()
		out, err := r.HandleInternode(context.Background(), wire.OpHintWrite, wire.EncodeHinted("n2", inner))
		if err != nil {
			return wire.WriteResponse{}, err
		}
		return wire.DecodeWriteResponse(out)
	}
	first, err := write(vclock.Context{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []uint64{2, math.MaxUint64} {
		if _, err := write(claim(first.Dot.Actor, c)); !refusedWith(err, wire.CodeBadContext) {
			t.Errorf("claim %s:%d: %v, want bad_context", first.Dot.Actor, c, err)
		}
	}
	if _, err := write(claim("n3.000000000000", math.MaxUint64)); !refusedWith(err, wire.CodeBadContext) {
		t.Errorf("claim past the bound: %v, want bad_context", err)
	}
	next, err := write(claim(first.Dot.Actor, 1))
	if err != nil || next.Dot.Counter != 2 {
		t.Fatalf("honest write after refusals: %v, %v", next.Dot, err)
	}
}
