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

// The shape of every schedule: replicas, each writing as an actor of its
// own, and clients, each holding a context.
const modelReplicas, modelClients = 3, 4

// modelRun is one schedule's state in both worlds: the implementation's
// replicas and the model's, and what each client has seen.
type modelRun struct {
	rng    *rand.Rand
	actors []string
	impl   []Set
	ref    []refReplica
	world  *refWorld
	cls    []client
}

func newModelRun(seed uint64) *modelRun {
	m := &modelRun{
		rng:    rand.New(rand.NewPCG(seed, 99)),
		actors: []string{"n1.e1", "n2.e1", "n3.e1"},
		impl:   make([]Set, modelReplicas),
		ref:    make([]refReplica, modelReplicas),
		world:  &refWorld{},
		cls:    make([]client, modelClients),
	}
	for i := range m.ref {
		m.ref[i] = refReplica{}
	}
	for i := range m.cls {
		m.cls[i].seen = map[int]bool{}
	}
	return m
}

func runModel(t *testing.T, seed uint64, steps int) {
	m := newModelRun(seed)
	for step := range steps {
		switch op := m.rng.IntN(10); {
		case op < 3:
			m.read(m.rng.IntN(modelClients))
		case op < 7:
			c, r := m.rng.IntN(modelClients), m.rng.IntN(modelReplicas)
			m.write(c, r)
		default:
			from, to := m.rng.IntN(modelReplicas), m.rng.IntN(modelReplicas)
			m.merge(from, to)
		}
		m.check(t, seed, step)
	}
	m.checkConverged(t, seed)
}

// read gives client c the context of a read.
func (m *modelRun) read(c int) {
	// Read a random non-empty subset of replicas, like an R-quorum.
	var s Set
	seen := map[int]bool{}
	for r := range modelReplicas {
		if m.rng.IntN(2) == 0 && !(r == modelReplicas-1 && len(seen) == 0 && s.IsZero()) {
			continue
		}
		s = s.Merge(m.impl[r])
		for id := range m.ref[r] {
			seen[id] = true
		}
	}
	m.cls[c] = client{ctx: s.Context, seen: seen}
}

// write has client c write a new value on replica r.
func (m *modelRun) write(c, r int) {
	if m.rng.IntN(8) == 0 {
		m.cls[c] = client{seen: map[int]bool{}} // a blind write
	}
	id := len(m.world.writes)
	m.world.writes = append(m.world.writes, refWrite{id: id, seen: m.cls[c].seen})
	var dot Dot
	m.impl[r], dot = m.impl[r].Write(m.actors[r], m.cls[c].ctx, Sibling{Value: fmt.Appendf(nil, "%d", id)})
	m.ref[r][id] = true
	for s := range m.cls[c].seen {
		m.ref[r][s] = true
	}
	// Half the time the client keeps the context the write returned.
	if m.rng.IntN(2) == 0 {
		seen := map[int]bool{id: true}
		for s := range m.cls[c].seen {
			seen[s] = true
		}
		m.cls[c] = client{ctx: m.cls[c].ctx.Add(dot), seen: seen}
	}
}

// merge brings replica from's state into replica to.
func (m *modelRun) merge(from, to int) {
	m.impl[to] = m.impl[to].Merge(m.impl[from])
	for id := range m.ref[from] {
		m.ref[to][id] = true
	}
}

// check fails unless every replica agrees with the model on its live writes
// and its encoding round-trips.
func (m *modelRun) check(t *testing.T, seed uint64, step int) {
	t.Helper()
	for r := range modelReplicas {
		got, want := implLive(m.impl[r]), m.world.live(m.ref[r])
		if !slices.Equal(got, want) {
			t.Fatalf("seed %d step %d replica %d: live %v, model says %v", seed, step, r, got, want)
		}
		enc := m.impl[r].Encode()
		if len(enc) != m.impl[r].EncodedLen() || cap(enc) != len(enc) {
			t.Fatalf("seed %d step %d: EncodedLen %d, encoding %d bytes (cap %d)", seed, step, m.impl[r].EncodedLen(), len(enc), cap(enc))
		}
		back, err := DecodeSet(enc)
		if err != nil || !back.Equal(m.impl[r]) {
			t.Fatalf("seed %d step %d: encoding round trip failed: %v", seed, step, err)
		}
	}
}

// checkConverged fails unless, after full anti-entropy, every replica holds
// the same state, whose context names no more actors than wrote.
func (m *modelRun) checkConverged(t *testing.T, seed uint64) {
	t.Helper()
	var all Set
	for r := range modelReplicas {
		all = all.Merge(m.impl[r])
	}
	for r := range modelReplicas {
		if !m.impl[r].Merge(all).Equal(all) {
			t.Fatalf("seed %d: replica %d does not converge", seed, r)
		}
	}
	if all.Context.Actors() > len(m.actors) {
		t.Fatalf("seed %d: context names %d actors, more than the %d that wrote", seed, all.Context.Actors(), len(m.actors))
	}
}
