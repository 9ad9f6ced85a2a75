package vclock

import (
	"fmt"
	"slices"
	"strings"
)

// Dot identifies one write: the actor that minted it and its counter.
type Dot struct {
	Actor   string
	Counter uint64
}

func (d Dot) String() string { return fmt.Sprintf("%s:%d", d.Actor, d.Counter) }

// compareDots orders dots by actor, then counter.
func compareDots(a, b Dot) int {
	if c := strings.Compare(a.Actor, b.Actor); c != 0 {
		return c
	}
	switch {
	case a.Counter < b.Counter:
		return -1
	case a.Counter > b.Counter:
		return 1
	}
	return 0
}

// actorEntry is what a Context knows of one actor: every counter 1..max,
// plus the counters in cloud. cloud is sorted and every element is > max+1,
// so an entry has exactly one representation.
type actorEntry struct {
	actor string
	max   uint64
	cloud []uint64
}

func (e actorEntry) contains(n uint64) bool {
	if n == 0 {
		return false
	}
	if n <= e.max {
		return true
	}
	_, found := slices.BinarySearch(e.cloud, n)
	return found
}

func (e actorEntry) highest() uint64 {
	if len(e.cloud) > 0 {
		return e.cloud[len(e.cloud)-1]
	}
	return e.max
}

// normalize folds cloud counters that have become contiguous with max.
func (e actorEntry) normalize() actorEntry {
	i := 0
	for i < len(e.cloud) && e.cloud[i] <= e.max+1 {
		if e.cloud[i] == e.max+1 {
			e.max++
		}
		i++
	}
	if i == len(e.cloud) {
		e.cloud = nil
	} else {
		e.cloud = e.cloud[i:]
	}
	return e
}

func mergeEntries(a, b actorEntry) actorEntry {
	out := actorEntry{actor: a.actor, max: max(a.max, b.max)}
	if len(a.cloud)+len(b.cloud) > 0 {
		cloud := make([]uint64, 0, len(a.cloud)+len(b.cloud))
		cloud = append(cloud, a.cloud...)
		cloud = append(cloud, b.cloud...)
		slices.Sort(cloud)
		out.cloud = slices.Compact(cloud)
	}
	return out.normalize()
}

// Context is an exact set of dots: the causal history a replica or a client
// has seen for one key. The zero value is the empty context.
type Context struct {
	entries []actorEntry // sorted by actor, no duplicates, no empty entries
}

// IsZero reports whether the context contains no dot.
func (c Context) IsZero() bool { return len(c.entries) == 0 }

// Actors is the number of actors the context mentions (its metadata size).
func (c Context) Actors() int { return len(c.entries) }

func (c Context) find(actor string) (int, bool) {
	return slices.BinarySearchFunc(c.entries, actor, func(e actorEntry, a string) int {
		return strings.Compare(e.actor, a)
	})
}

// Contains reports whether d has been seen.
func (c Context) Contains(d Dot) bool {
	i, ok := c.find(d.Actor)
	return ok && c.entries[i].contains(d.Counter)
}

// Max is the highest counter of actor that has been seen, 0 if none.
func (c Context) Max(actor string) uint64 {
	i, ok := c.find(actor)
	if !ok {
		return 0
	}
	return c.entries[i].highest()
}

// Highest is the dot with the highest counter the context contains, over
// every actor (the zero Dot for the empty context): what a server checks
// a client's context against before trusting it with a write.
func (c Context) Highest() Dot {
	var d Dot
	for _, e := range c.entries {
		if n := e.highest(); n > d.Counter {
			d = Dot{Actor: e.actor, Counter: n}
		}
	}
	return d
}

// Add returns the context with d added.
func (c Context) Add(d Dot) Context {
	if d.Counter == 0 || c.Contains(d) {
		return c
	}
	return c.Merge(Context{entries: []actorEntry{
		actorEntry{actor: d.Actor, cloud: []uint64{d.Counter}}.normalize(),
	}})
}

// Merge returns the union of two contexts.
func (c Context) Merge(o Context) Context {
	switch {
	case len(o.entries) == 0:
		return c
	case len(c.entries) == 0:
		return o
	}
	out := make([]actorEntry, 0, max(len(c.entries), len(o.entries)))
	i, j := 0, 0
	for i < len(c.entries) && j < len(o.entries) {
		switch cmp := strings.Compare(c.entries[i].actor, o.entries[j].actor); {
		case cmp < 0:
			out = append(out, c.entries[i])
			i++
		case cmp > 0:
			out = append(out, o.entries[j])
			j++
		default:
			out = append(out, mergeEntries(c.entries[i], o.entries[j]))
			i++
			j++
		}
	}
	out = append(out, c.entries[i:]...)
	out = append(out, o.entries[j:]...)
	return Context{entries: out}
}

// Covers reports whether every dot of o is also in c.
func (c Context) Covers(o Context) bool {
	for _, e := range o.entries {
		i, ok := c.find(e.actor)
		if !ok {
			return false
		}
		mine := c.entries[i]
		if e.max > mine.max {
			// Every counter in (mine.max, e.max] must be in mine's cloud;
			// checking the count first keeps hostile counters from looping.
			if e.max-mine.max > uint64(len(mine.cloud)) {
				return false
			}
			for n := mine.max + 1; n <= e.max; n++ {
				if !mine.contains(n) {
					return false
				}
			}
		}
		for _, n := range e.cloud {
			if !mine.contains(n) {
				return false
			}
		}
	}
	return true
}

// Equal reports whether both contexts contain exactly the same dots.
func (c Context) Equal(o Context) bool {
	return slices.EqualFunc(c.entries, o.entries, func(a, b actorEntry) bool {
		return a.actor == b.actor && a.max == b.max && slices.Equal(a.cloud, b.cloud)
	})
}

// String renders the context for logs and operators, e.g. "{a:3 b:2+[5 7]}".
func (c Context) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, e := range c.entries {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s:%d", e.actor, e.max)
		if len(e.cloud) > 0 {
			fmt.Fprintf(&b, "+%v", e.cloud)
		}
	}
	b.WriteByte('}')
	return b.String()
}
