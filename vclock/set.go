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
	// Expires is when the value stops being readable, in Unix milliseconds
	// of the same wall clock; 0 means never (docs/GUARANTEES.md, "Expiry"). It is
	// part of the version, so every copy of the sibling, wherever it
	// travels, expires at the same instant.
	Expires int64
}

// ExpiredAt reports whether the sibling has expired at nowMs (Unix
// milliseconds).
func (s Sibling) ExpiredAt(nowMs int64) bool { return s.Expires != 0 && nowMs >= s.Expires }

func (s Sibling) equal(o Sibling) bool {
	return s.Dot == o.Dot && s.Deleted == o.Deleted && s.Modified == o.Modified && s.Expires == o.Expires &&
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

// Live returns the siblings readable at nowMs (Unix milliseconds): neither
// tombstones nor expired. An expired sibling reads as absent but stays in
// the set, like a tombstone, until it is reaped or superseded: its dot and
// its expiry travel together, so no stale copy can make it readable again.
// Expiry times are positive, so Live(0) ignores expiry.
func (s Set) Live(nowMs int64) []Sibling {
	live := make([]Sibling, 0, len(s.Siblings))
	for _, sib := range s.Siblings {
		if !sib.Deleted && !sib.ExpiredAt(nowMs) {
			live = append(live, sib)
		}
	}
	return live
}

// WithoutExpired returns the set without the siblings expired at nowMs.
// Dropping one is always safe to merge: its dot stays in the context, so a
// replica still holding it drops it at the next merge, as it would a
// superseded sibling, and it was unreadable everywhere anyway. A caller must
// not leave a set with no siblings this way where it still needs a
// timestamp to age the key by (the tombstone reaper does).
func (s Set) WithoutExpired(nowMs int64) Set {
	keep := 0
	for _, sib := range s.Siblings {
		if !sib.ExpiredAt(nowMs) {
			keep++
		}
	}
	if keep == len(s.Siblings) {
		return s
	}
	out := Set{Context: s.Context, Siblings: make([]Sibling, 0, keep)}
	for _, sib := range s.Siblings {
		if !sib.ExpiredAt(nowMs) {
			out.Siblings = append(out.Siblings, sib)
		}
	}
	return out
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
