package vclock

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// The reference model is deliberately naive: a replica knows a set of writes,
// each write remembers the set of writes its client had seen, and a known
// write is live unless some known write saw it. No dots, no compaction.
type refWrite struct {
	id   int
	seen map[int]bool
}

type refReplica map[int]bool // ids of known writes

type refWorld struct {
	writes []refWrite
}

func (w *refWorld) live(r refReplica) []int {
	var out []int
	for id := range r {
		superseded := false
		for other := range r {
			if w.writes[other].seen[id] {
				superseded = true
				break
			}
		}
		if !superseded {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// client holds a context in both worlds.
type client struct {
	ctx  Context
	seen map[int]bool
}

func implLive(s Set) []int {
	var out []int
	for _, sib := range s.Siblings {
		var id int
		fmt.Sscanf(string(sib.Value), "%d", &id)
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// TestAgainstReferenceModel drives the implementation and the model through
// the same random schedules of writes (with fresh, stale, empty and
// write-returned contexts), partial reads and merges, and checks after every
// step that both agree on every replica's live writes. Agreement implies no
// write that no context saw is ever dropped, and that writes whose context
// saw everything leave exactly one sibling.
func TestAgainstReferenceModel(t *testing.T) {
	for seed := uint64(0); seed < 300; seed++ {
		runModel(t, seed, 200)
	}
}

func runModel(t *testing.T, seed uint64, steps int) {
	rng := rand.New(rand.NewPCG(seed, 99))
	const replicas, clients = 3, 4
	actors := []string{"n1.e1", "n2.e1", "n3.e1"}
	impl := make([]Set, replicas)
	ref := make([]refReplica, replicas)
	for i := range ref {
		ref[i] = refReplica{}
	}
	world := &refWorld{}
	cls := make([]client, clients)
	for i := range cls {
		cls[i].seen = map[int]bool{}
	}
	read := func(c int) {
		// Read a random non-empty subset of replicas, like an R-quorum.
		var s Set
		seen := map[int]bool{}
		for r := range replicas {
			if rng.IntN(2) == 0 && !(r == replicas-1 && len(seen) == 0 && s.IsZero()) {
				continue
			}
			s = s.Merge(impl[r])
			for id := range ref[r] {
				seen[id] = true
			}
		}
		cls[c] = client{ctx: s.Context, seen: seen}
	}
	for step := range steps {
		switch op := rng.IntN(10); {
		case op < 3:
			read(rng.IntN(clients))
		case op < 7:
			c, r := rng.IntN(clients), rng.IntN(replicas)
			if rng.IntN(8) == 0 {
				cls[c] = client{seen: map[int]bool{}} // a blind write
			}
			id := len(world.writes)
			world.writes = append(world.writes, refWrite{id: id, seen: cls[c].seen})
			var dot Dot
			impl[r], dot = impl[r].Write(actors[r], cls[c].ctx, Sibling{Value: fmt.Appendf(nil, "%d", id)})
			ref[r][id] = true
			for s := range cls[c].seen {
				ref[r][s] = true
			}
			// Half the time the client keeps the context the write returned.
			if rng.IntN(2) == 0 {
				seen := map[int]bool{id: true}
				for s := range cls[c].seen {
					seen[s] = true
				}
				cls[c] = client{ctx: cls[c].ctx.Add(dot), seen: seen}
			}
		default:
			from, to := rng.IntN(replicas), rng.IntN(replicas)
			impl[to] = impl[to].Merge(impl[from])
			for id := range ref[from] {
				ref[to][id] = true
			}
		}
		for r := range replicas {
			got, want := implLive(impl[r]), world.live(ref[r])
			if !slices.Equal(got, want) {
				t.Fatalf("seed %d step %d replica %d: live %v, model says %v", seed, step, r, got, want)
			}
			enc := impl[r].Encode()
			if len(enc) != impl[r].EncodedLen() || cap(enc) != len(enc) {
				t.Fatalf("seed %d step %d: EncodedLen %d, encoding %d bytes (cap %d)", seed, step, impl[r].EncodedLen(), len(enc), cap(enc))
			}
			back, err := DecodeSet(enc)
			if err != nil || !back.Equal(impl[r]) {
				t.Fatalf("seed %d step %d: encoding round trip failed: %v", seed, step, err)
			}
		}
	}
	// After full anti-entropy every replica holds the same state.
	var all Set
	for r := range replicas {
		all = all.Merge(impl[r])
	}
	for r := range replicas {
		if !impl[r].Merge(all).Equal(all) {
			t.Fatalf("seed %d: replica %d does not converge", seed, r)
		}
	}
	if all.Context.Actors() > len(actors) {
		t.Fatalf("seed %d: context names %d actors, more than the %d that wrote", seed, all.Context.Actors(), len(actors))
	}
}
