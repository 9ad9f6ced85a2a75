package bucket

import "slices"

// Table is a registry resolved against a node's limits: the effective
// props of every bucket, the ones nobody set included. It is immutable and
// safe for concurrent use; a node swaps in a new one when its registry
// changes.
type Table struct {
	reg       Registry
	names     []string // reg's, sorted once: repair reads them every pass
	limits    Limits
	defaults  Props
	props     map[string]Props
	classes   []int
	placement string
}

// NewTable resolves reg against limits. A registry entry that exceeds this
// node's caps (set through a node with higher ones) is capped here, so a
// node never stores more than it was configured to.
func NewTable(reg Registry, limits Limits) *Table {
	t := &Table{reg: reg, names: reg.Names(), limits: limits, defaults: Props{}.Resolve(limits), props: map[string]Props{}}
	classes := []int{t.defaults.N}
	for _, name := range t.names {
		e, _ := reg.Get(name)
		p := e.Props.Resolve(limits)
		p.MaxSiblings = min(p.MaxSiblings, limits.MaxSiblings)
		p.MaxValueBytes = min(p.MaxValueBytes, limits.MaxValueBytes)
		t.props[name] = p
		classes = append(classes, p.N)
	}
	slices.Sort(classes)
	t.classes = slices.Compact(classes)
	t.placement = t.computePlacement()
	return t
}

// Registry is the registry the table was resolved from.
func (t *Table) Registry() Registry { return t.reg }

// Limits are the node limits the table was resolved against.
func (t *Table) Limits() Limits { return t.limits }

// Props returns bucket's effective props (the defaults when unset).
func (t *Table) Props(bucket string) Props {
	if p, ok := t.props[bucket]; ok {
		return p
	}
	return t.defaults
}

// PropsOf returns the effective props of an internal key's bucket.
func (t *Table) PropsOf(internal []byte) Props { return t.Props(NameOf(internal)) }

// Classes are the distinct N of every bucket, the default's included,
// ascending: a node keeps one Merkle tree per partition and class
// (as Riak's AAE keeps one per partition and n_val).
func (t *Table) Classes() []int { return t.classes }

// Defaults are the props of every bucket nobody set props for. They are
// the default bucket's too unless someone set its own.
func (t *Table) Defaults() Props { return t.defaults }

// NamedWithNAtMost are the buckets other than the default, with props set,
// whose N is at most n, sorted: with the default bucket's keys and those
// of buckets without props rightly held, the only keys a node at rank n of
// a partition walk must hand off.
func (t *Table) NamedWithNAtMost(n int) []string {
	var out []string
	for _, name := range t.names {
		if name != Default && t.props[name].N <= n {
			out = append(out, name)
		}
	}
	return out
}

// MaxN is the highest N of any bucket.
func (t *Table) MaxN() int { return t.classes[len(t.classes)-1] }

// Placement is a fingerprint of which N each bucket has: when it changes,
// keys may have changed class and trees must be rebuilt. Computed once:
// repair compares it every hint interval.
func (t *Table) Placement() string { return t.placement }

func (t *Table) computePlacement() string {
	b := make([]byte, 0, 16*len(t.props))
	b = append(b, byte(t.defaults.N))
	for _, name := range t.names {
		if n := t.props[name].N; n != t.defaults.N {
			b = append(b, name...)
			b = append(b, 0, byte(n))
		}
	}
	return string(b)
}
