package vclock

import (
	"testing"
)

func val(s string) Sibling { return Sibling{Value: []byte(s)} }

func values(s Set) []string {
	var out []string
	for _, sib := range s.Live(0) {
		out = append(out, string(sib.Value))
	}
	return out
}

func TestSequentialWritesNeverMakeSiblings(t *testing.T) {
	var s Set
	var ctx Context
	for i, actor := range []string{"a", "b", "a", "c", "b"} {
		s, _ = s.Write(actor, ctx, val(string(rune('0'+i))))
		ctx = s.Context
		if got := len(s.Siblings); got != 1 {
			t.Fatalf("write %d: %d siblings, want 1", i, got)
		}
	}
}

func TestSameContextWritesBecomeSiblings(t *testing.T) {
	var s Set
	s, _ = s.Write("a", Context{}, val("v0"))
	read := s.Context
	s, _ = s.Write("a", read, val("x"))
	s, _ = s.Write("a", read, val("y"))
	if got := values(s); len(got) != 2 {
		t.Fatalf("same coordinator: values %v, want x and y", got)
	}
	// A write whose context saw both replaces both.
	s, _ = s.Write("a", s.Context, val("z"))
	if got := values(s); len(got) != 1 || got[0] != "z" {
		t.Fatalf("after resolving: %v", got)
	}
}

func TestSiblingsAcrossCoordinators(t *testing.T) {
	var base Set
	base, _ = base.Write("a", Context{}, val("v0"))
	read := base.Context
	ra, _ := base.Write("a", read, val("x"))
	rb, _ := base.Write("b", read, val("y"))
	m := ra.Merge(rb)
	if got := values(m); len(got) != 2 {
		t.Fatalf("values %v, want x and y", got)
	}
	if !m.Equal(rb.Merge(ra)) {
		t.Fatal("merge is not commutative")
	}
}

// The context a PUT returns must not claim siblings the writer never saw:
// writing again with it must keep a concurrent sibling.
func TestWriteContextIsExact(t *testing.T) {
	var s Set
	s, _ = s.Write("a", Context{}, val("x"))    // a:1, client 1 holds no context
	s, dot := s.Write("a", Context{}, val("y")) // a:2, concurrent with x
	mine := Context{}.Add(dot)                  // what client 2 has seen: only a:2
	s, _ = s.Write("a", mine, val("y2"))
	if got := values(s); len(got) != 2 {
		t.Fatalf("values %v: the write with an exact context must keep x", got)
	}
}

func TestStaleReplicaDoesNotResurrect(t *testing.T) {
	var r1 Set
	r1, _ = r1.Write("a", Context{}, val("old"))
	r2 := r1                                      // replicated
	r1, _ = r1.Write("a", r1.Context, val("new")) // supersedes "old" on r1 only
	for _, m := range []Set{r1.Merge(r2), r2.Merge(r1)} {
		if got := values(m); len(got) != 1 || got[0] != "new" {
			t.Fatalf("merged %v, want [new]", got)
		}
	}
}

func TestDeleteKeepsConcurrentWrite(t *testing.T) {
	var s Set
	s, _ = s.Write("a", Context{}, val("v"))
	read := s.Context
	del, _ := s.Write("a", read, Sibling{Deleted: true})
	put, _ := s.Write("b", read, val("w"))
	m := del.Merge(put)
	if got := values(m); len(got) != 1 || got[0] != "w" {
		t.Fatalf("live %v, want [w]", got)
	}
	if len(m.Siblings) != 2 {
		t.Fatalf("want tombstone and w as siblings, got %d", len(m.Siblings))
	}
}

func TestNextDotCountsPastClientContext(t *testing.T) {
	// A replica that has not received a:5 yet but gets a client context
	// holding it must not mint a:5 again.
	ctx := Context{}.Add(Dot{"a", 1}).Add(Dot{"a", 2}).Add(Dot{"a", 5})
	var s Set
	if d := s.NextDot("a", ctx); d.Counter != 6 {
		t.Fatalf("next dot %v, want a:6", d)
	}
}

func TestContextCompaction(t *testing.T) {
	c := Context{}.Add(Dot{"a", 3}).Add(Dot{"a", 1})
	if c.String() != "{a:1+[3]}" {
		t.Fatalf("got %s", c)
	}
	c = c.Add(Dot{"a", 2})
	if c.String() != "{a:3}" {
		t.Fatalf("got %s, want cloud folded", c)
	}
	if !c.Covers(Context{}.Add(Dot{"a", 2})) || c.Covers(Context{}.Add(Dot{"a", 4})) {
		t.Fatal("Covers wrong")
	}
}

func TestCoversHostileCounterIsFast(t *testing.T) {
	huge := Context{entries: []actorEntry{{actor: "a", max: 1 << 62}}}
	small := Context{}.Add(Dot{"a", 1})
	if small.Covers(huge) {
		t.Fatal("small covers huge")
	}
}
