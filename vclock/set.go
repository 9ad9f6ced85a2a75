package vclock

import (
	"bytes"
	"slices"
)

// Sibling is one version of a key's value.
type Sibling struct {
	Dot         Dot
	Value       []byte
	ContentType string
	// Deleted marks a tombstone: a delete is a write of "nothing" so that it
	// supersedes exactly the versions its context saw and merges like a value.
	Deleted bool
	// Modified is the coordinating replica's wall clock at the write, in Unix
	// milliseconds. It orders nothing; it is shown to users and used to age
	// tombstones.
	Modified int64
}

func (s Sibling) equal(o Sibling) bool {
	return s.Dot == o.Dot && s.Deleted == o.Deleted && s.Modified == o.Modified &&
		s.ContentType == o.ContentType && bytes.Equal(s.Value, o.Value)
}

// Set is a key's state at one replica: its siblings (sorted by dot) and the
// exact context of every dot seen for the key. The zero value is the state
// of a key never written.
type Set struct {
	Context  Context
	Siblings []Sibling
}

// IsZero reports whether nothing was ever seen for the key.
func (s Set) IsZero() bool { return s.Context.IsZero() && len(s.Siblings) == 0 }

// Live returns the siblings that are not tombstones.
func (s Set) Live() []Sibling {
	live := make([]Sibling, 0, len(s.Siblings))
	for _, sib := range s.Siblings {
		if !sib.Deleted {
			live = append(live, sib)
		}
	}
	return live
}

// NextDot is the dot a write by actor would mint given the client's context.
// Counting past ctx as well as the local state keeps the dot fresh even if
// this replica has not yet received writes the client saw elsewhere.
func (s Set) NextDot(actor string, ctx Context) Dot {
	return Dot{Actor: actor, Counter: max(s.Context.Max(actor), ctx.Max(actor)) + 1}
}

// Write applies a client write made at actor with the client's context: it
// supersedes every sibling whose dot ctx contains and keeps all others as
// siblings of the new version. sib's Dot is assigned here. It returns the new
// state and the new sibling's dot.
func (s Set) Write(actor string, ctx Context, sib Sibling) (Set, Dot) {
	dot := s.NextDot(actor, ctx)
	return s.WriteAt(dot, ctx, sib), dot
}

// WriteAt is Write with a dot the caller chose. The caller must guarantee
// the dot was never used before for this key — anywhere — or a value will be
// silently lost at the next merge; NextDot is the safe default.
func (s Set) WriteAt(dot Dot, ctx Context, sib Sibling) Set {
	sib.Dot = dot
	out := Set{
		Context:  s.Context.Merge(ctx).Add(dot),
		Siblings: make([]Sibling, 0, len(s.Siblings)+1),
	}
	inserted := false
	for _, old := range s.Siblings {
		if ctx.Contains(old.Dot) {
			continue
		}
		if !inserted && compareDots(dot, old.Dot) < 0 {
			out.Siblings = append(out.Siblings, sib)
			inserted = true
		}
		out.Siblings = append(out.Siblings, old)
	}
	if !inserted {
		out.Siblings = append(out.Siblings, sib)
	}
	return out
}

// Merge returns the join of two replicas' states. It is commutative,
// associative and idempotent. A sibling survives unless the other side has
// seen its dot and no longer holds it: there a write superseded it.
func (s Set) Merge(o Set) Set {
	out := Set{
		Context:  s.Context.Merge(o.Context),
		Siblings: make([]Sibling, 0, max(len(s.Siblings), len(o.Siblings))),
	}
	i, j := 0, 0
	for i < len(s.Siblings) || j < len(o.Siblings) {
		var cmp int
		switch {
		case i == len(s.Siblings):
			cmp = 1
		case j == len(o.Siblings):
			cmp = -1
		default:
			cmp = compareDots(s.Siblings[i].Dot, o.Siblings[j].Dot)
		}
		switch {
		case cmp < 0:
			if !o.Context.Contains(s.Siblings[i].Dot) {
				out.Siblings = append(out.Siblings, s.Siblings[i])
			}
			i++
		case cmp > 0:
			if !s.Context.Contains(o.Siblings[j].Dot) {
				out.Siblings = append(out.Siblings, o.Siblings[j])
			}
			j++
		default:
			// Same dot, same write: dots are never reused.
			out.Siblings = append(out.Siblings, s.Siblings[i])
			i++
			j++
		}
	}
	return out
}

// Equal reports whether two states hold the same siblings and context.
func (s Set) Equal(o Set) bool {
	return s.Context.Equal(o.Context) && slices.EqualFunc(s.Siblings, o.Siblings, Sibling.equal)
}

// Descends reports whether s already includes everything o holds, so that
// merging o into s would change nothing.
func (s Set) Descends(o Set) bool {
	return s.Merge(o).Equal(s)
}
