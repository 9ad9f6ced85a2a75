package vclock

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// randomStates returns reachable states of one key across a few replicas.
func randomStates(rng *rand.Rand, n int) []Set {
	actors := []string{"a", "b", "c"}
	states := make([]Set, len(actors))
	ctxs := []Context{{}}
	for i := range n {
		r := rng.IntN(len(actors))
		switch rng.IntN(3) {
		case 0, 1:
			ctx := ctxs[rng.IntN(len(ctxs))]
			states[r], _ = states[r].Write(actors[r], ctx, Sibling{Value: fmt.Appendf(nil, "%d", i), Deleted: rng.IntN(5) == 0, Expires: int64(rng.IntN(3)) * 1000})
		default:
			states[r] = states[r].Merge(states[rng.IntN(len(states))])
		}
		ctxs = append(ctxs, states[rng.IntN(len(states))].Context)
	}
	return states
}

func TestMergeLaws(t *testing.T) {
	for seed := uint64(0); seed < 500; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		s := randomStates(rng, 1+rng.IntN(30))
		a, b, c := s[0], s[1], s[2]
		if !a.Merge(b).Equal(b.Merge(a)) {
			t.Fatalf("seed %d: not commutative", seed)
		}
		if !a.Merge(b).Merge(c).Equal(a.Merge(b.Merge(c))) {
			t.Fatalf("seed %d: not associative", seed)
		}
		if !a.Merge(a).Equal(a) {
			t.Fatalf("seed %d: not idempotent", seed)
		}
		ab := a.Merge(b)
		if !ab.Descends(a) || !ab.Descends(b) {
			t.Fatalf("seed %d: merge does not descend its inputs", seed)
		}
		if !ab.Context.Covers(a.Context) || !ab.Context.Covers(b.Context) {
			t.Fatalf("seed %d: merged context does not cover inputs", seed)
		}
		for _, sib := range ab.Siblings {
			if !ab.Context.Contains(sib.Dot) {
				t.Fatalf("seed %d: sibling %v outside context", seed, sib.Dot)
			}
		}
		// Context merge laws.
		x, y := a.Context, b.Context
		if !x.Merge(y).Equal(y.Merge(x)) || !x.Merge(x).Equal(x) {
			t.Fatalf("seed %d: context merge laws", seed)
		}
		tok, err := ParseToken(x.Token())
		if err != nil || !tok.Equal(x) {
			t.Fatalf("seed %d: token round trip: %v", seed, err)
		}
	}
}
