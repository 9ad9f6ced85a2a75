package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

func elems(s *ORSet) string { return fmt.Sprint(s.Elements()) }

func encode(t *testing.T, s *ORSet) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func clone(t *testing.T, s *ORSet) *ORSet {
	t.Helper()
	c, err := DecodeORSet([]byte(encode(t, s)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestORSetScenarios checks the cart's promises case by case.
func TestORSetScenarios(t *testing.T) {
	t.Run("concurrent adds are both kept", func(t *testing.T) {
		var base ORSet
		base.Add("mug", "t0")
		a, b := clone(t, &base), clone(t, &base)
		a.Add("apple", "ta")
		b.Add("pear", "tb")
		if got := elems(MergeORSets(a, b)); got != "[apple mug pear]" {
			t.Errorf("merge: %s", got)
		}
	})
	t.Run("a removal is not undone by a concurrent add of another item", func(t *testing.T) {
		var base ORSet
		base.Add("mug", "t0")
		a, b := clone(t, &base), clone(t, &base)
		a.Add("apple", "ta") // a still holds mug
		b.Remove("mug")
		if got := elems(MergeORSets(a, b)); got != "[apple]" {
			t.Errorf("merge: %s", got)
		}
	})
	t.Run("a removed item does not come back from an older copy", func(t *testing.T) {
		var old ORSet
		old.Add("mug", "t0")
		now := clone(t, &old)
		now.Remove("mug")
		for _, m := range []*ORSet{MergeORSets(&old, now), MergeORSets(now, &old), MergeORSets(MergeORSets(now, &old), &old)} {
			if m.Contains("mug") {
				t.Errorf("mug came back: %s", encode(t, m))
			}
		}
	})
	t.Run("add wins over a concurrent remove of the same item", func(t *testing.T) {
		var base ORSet
		base.Add("mug", "t0")
		a, b := clone(t, &base), clone(t, &base)
		a.Add("mug", "t1") // a second add, unseen by b
		if removed := b.Remove("mug"); !slices.Equal(removed, []string{"t0"}) {
			t.Errorf("b removed %v, want [t0]", removed)
		}
		m := MergeORSets(a, b)
		if !m.Contains("mug") || !slices.Equal(m.Tags("mug"), []string{"t1"}) {
			t.Errorf("merge: %s", encode(t, m))
		}
	})
	t.Run("re-adding after a remove works", func(t *testing.T) {
		var s ORSet
		s.Add("mug", "t0")
		s.Remove("mug")
		s.Add("mug", "t0") // a removed tag cannot be revived
		if s.Contains("mug") {
			t.Error("a removed tag came back")
		}
		s.Add("mug", "t1")
		if !s.Contains("mug") {
			t.Error("a new add after remove is missing")
		}
	})
	t.Run("removing what is absent is a no-op", func(t *testing.T) {
		var s ORSet
		if s.Remove("ghost") != nil || encode(t, &s) != `{"adds":{},"removed":[]}` {
			t.Errorf("got %s", encode(t, &s))
		}
	})
}

// TestORSetJSON: the encoding is canonical and round-trips; bad input is
// an error, not a panic.
func TestORSetJSON(t *testing.T) {
	var s ORSet
	s.Add("b", "t2")
	s.Add("a", "t1")
	s.Add("b", "t0")
	s.Add("c", "t3")
	s.Remove("c")
	want := `{"adds":{"a":["t1"],"b":["t0","t2"]},"removed":["t3"]}`
	if got := encode(t, &s); got != want {
		t.Errorf("encoding %s, want %s", got, want)
	}
	if back := clone(t, &s); encode(t, back) != want {
		t.Errorf("round trip %s", encode(t, back))
	}
	// A stored value whose adds include a removed tag is cleaned on decode.
	d, err := DecodeORSet([]byte(`{"adds":{"x":["t9"]},"removed":["t9"]}`))
	if err != nil || d.Contains("x") {
		t.Errorf("decode: %v, %s", err, encode(t, d))
	}
	for _, bad := range []string{`[`, `{"adds":[]}`, `"x"`} {
		if _, err := DecodeORSet([]byte(bad)); err == nil {
			t.Errorf("%s decoded", bad)
		}
	}
	if e, err := DecodeORSet(nil); err != nil || len(e.Elements()) != 0 {
		t.Errorf("empty value: %v", err)
	}
}

// randomSet builds a set from random adds and removes over a small
// alphabet, so that sets share elements and tags. A tag names one add of
// one element (as unique tags do), so it is derived from the element.
func randomSet(r *rand.Rand) *ORSet {
	var s ORSet
	for range r.IntN(8) {
		elem := string(rune('a' + r.IntN(4)))
		if r.IntN(3) == 0 {
			s.Remove(elem)
		} else {
			s.Add(elem, fmt.Sprintf("%s%d", elem, r.IntN(3)))
		}
	}
	return &s
}

// TestORSetMergeLaws: merge is commutative, associative and idempotent,
// on random sets.
func TestORSetMergeLaws(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		a, b, c := randomSet(r), randomSet(r), randomSet(r)
		ab, ba := encode(t, MergeORSets(a, b)), encode(t, MergeORSets(b, a))
		if ab != ba {
			t.Fatalf("case %d: not commutative:\n%s\n%s", i, ab, ba)
		}
		l := encode(t, MergeORSets(MergeORSets(a, b), c))
		rr := encode(t, MergeORSets(a, MergeORSets(b, c)))
		if l != rr {
			t.Fatalf("case %d: not associative:\n%s\n%s", i, l, rr)
		}
		if aa := encode(t, MergeORSets(a, a)); aa != encode(t, a) {
			t.Fatalf("case %d: not idempotent:\n%s\n%s", i, aa, encode(t, a))
		}
		if m := encode(t, MergeORSets(MergeORSets(a, b), b)); m != ab {
			t.Fatalf("case %d: merging b again changed the result", i)
		}
	}
}

// model is a deliberately simple OR-set: every add ever seen, and every
// add a remove has seen, with no compaction.
type model struct {
	seen    map[int]string // add id → element
	removed map[int]bool
}

func (m *model) merge(o *model) {
	maps.Copy(m.seen, o.seen)
	maps.Copy(m.removed, o.removed)
}

func (m *model) elements() []string {
	set := map[string]bool{}
	for id, elem := range m.seen {
		if !m.removed[id] {
			set[elem] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// TestORSetAgainstModel runs random histories of replicas that add,
// remove and merge from each other, and checks every replica, and the
// merge of all, against the model: an element is present exactly when one
// of its adds was seen and no remove observed that add.
func TestORSetAgainstModel(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for run := range 300 {
		const replicas = 4
		sets := make([]*ORSet, replicas)
		models := make([]*model, replicas)
		for i := range replicas {
			sets[i] = &ORSet{}
			models[i] = &model{seen: map[int]string{}, removed: map[int]bool{}}
		}
		nextID := 0
		var history []string
		for range 60 {
			i := r.IntN(replicas)
			elem := string(rune('a' + r.IntN(5)))
			switch r.IntN(3) {
			case 0:
				id := nextID
				nextID++
				sets[i].Add(elem, fmt.Sprintf("tag%d", id))
				models[i].seen[id] = elem
				history = append(history, fmt.Sprintf("r%d add %s#%d", i, elem, id))
			case 1:
				sets[i].Remove(elem)
				for id, e := range models[i].seen {
					if e == elem {
						models[i].removed[id] = true
					}
				}
				history = append(history, fmt.Sprintf("r%d remove %s", i, elem))
			case 2:
				j := r.IntN(replicas)
				sets[i] = MergeORSets(sets[i], clone(t, sets[j]))
				models[i].merge(models[j])
				history = append(history, fmt.Sprintf("r%d merge r%d", i, j))
			}
			if got, want := sets[i].Elements(), models[i].elements(); !slices.Equal(got, want) {
				t.Fatalf("run %d: replica %d has %v, model %v\nhistory: %v", run, i, got, want, history)
			}
		}
		all := &model{seen: map[int]string{}, removed: map[int]bool{}}
		for _, m := range models {
			all.merge(m)
		}
		if got, want := MergeORSets(sets...).Elements(), all.elements(); !slices.Equal(got, want) {
			t.Fatalf("run %d: merge of all has %v, model %v\nhistory: %v", run, got, want, history)
		}
	}
}

// TestMergeValues is the MergeFunc over stored values.
func TestMergeValues(t *testing.T) {
	var a, b ORSet
	a.Add("x", "1")
	b.Add("y", "2")
	out, err := mergeValues([][]byte{[]byte(encode(t, &a)), []byte(encode(t, &b))})
	if err != nil || string(out) != `{"adds":{"x":["1"],"y":["2"]},"removed":[]}` {
		t.Errorf("%s, %v", out, err)
	}
	if _, err := mergeValues([][]byte{[]byte("garbage")}); err == nil {
		t.Error("garbage merged")
	}
}
