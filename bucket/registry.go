package bucket

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/cespare/xxhash/v2"
)

// MaxBuckets bounds the buckets a registry holds, so that it stays one
// small internode message and one small metadata record.
const MaxBuckets = 1024

// MaxEncodedLen bounds an encoded registry (DecodeRegistry refuses more).
const MaxEncodedLen = 1 << 20

// ErrBadRegistry is wrapped by DecodeRegistry's errors.
var ErrBadRegistry = errors.New("bucket: bad registry")

// Version orders the settings of one bucket across the cluster: a Lamport
// counter, ties broken by the node that set it, so that every node picks
// the same winner.
type Version struct {
	Counter uint64 `json:"counter"`
	Node    string `json:"node"`
}

// Compare orders versions: by counter, then node name.
func (v Version) Compare(o Version) int {
	return cmp.Or(cmp.Compare(v.Counter, o.Counter), cmp.Compare(v.Node, o.Node))
}

// Entry is one bucket's props and the version that set them.
type Entry struct {
	Props   Props   `json:"props"`
	Version Version `json:"version"`
}

// Registry is every bucket's props as one node knows them. It is a value:
// methods return new registries and never modify their receiver.
type Registry struct {
	entries map[string]Entry
}

// Get returns bucket's entry, if set.
func (r Registry) Get(bucket string) (Entry, bool) {
	e, ok := r.entries[bucket]
	return e, ok
}

// Names lists the buckets set, sorted.
func (r Registry) Names() []string { return slices.Sorted(maps.Keys(r.entries)) }

// Len is how many buckets are set.
func (r Registry) Len() int { return len(r.entries) }

// Highest is the highest counter of any entry: a new setting takes one
// more, so that it wins over everything this node has seen.
func (r Registry) Highest() uint64 {
	var h uint64
	for _, e := range r.entries {
		h = max(h, e.Version.Counter)
	}
	return h
}

// Set returns r with bucket's props replaced, at a version above every
// one r holds, set by node. It refuses a new bucket beyond MaxBuckets.
func (r Registry) Set(bucket string, p Props, node string) (Registry, Entry, error) {
	if err := CheckName(bucket); err != nil {
		return r, Entry{}, err
	}
	if _, ok := r.entries[bucket]; !ok && len(r.entries) >= MaxBuckets {
		return r, Entry{}, fmt.Errorf("%w: the cluster already has %d buckets, the most it keeps", ErrBadProps, MaxBuckets)
	}
	e := Entry{Props: p, Version: Version{Counter: r.Highest() + 1, Node: node}}
	out := Registry{entries: maps.Clone(r.entries)}
	if out.entries == nil {
		out.entries = map[string]Entry{}
	}
	out.entries[bucket] = e
	return out, e, nil
}

// Merge returns the union of r and o, taking for each bucket the entry
// with the higher version. Past MaxBuckets, the buckets named last in
// name order are left out (no merge of valid registries gets there unless
// nodes raced past the cap).
func (r Registry) Merge(o Registry) Registry {
	out := Registry{entries: maps.Clone(r.entries)}
	if out.entries == nil {
		out.entries = map[string]Entry{}
	}
	for _, name := range o.Names() {
		theirs := o.entries[name]
		mine, ok := out.entries[name]
		switch {
		case ok && compareEntries(theirs, mine) <= 0:
		case !ok && len(out.entries) >= MaxBuckets:
		default:
			out.entries[name] = theirs
		}
	}
	return out
}

// compareEntries orders entries by version, then, for the same version
// with different props (a node whose data directory was wiped can reuse a
// version it gave before), by the props' encoding: a total order, so
// Merge stays a join and every node keeps the same entry.
func compareEntries(a, b Entry) int {
	if c := a.Version.Compare(b.Version); c != 0 {
		return c
	}
	pa, _ := json.Marshal(a.Props)
	pb, _ := json.Marshal(b.Props)
	return bytes.Compare(pa, pb)
}

// Equal reports whether r and o hold the same entries.
func (r Registry) Equal(o Registry) bool {
	return maps.Equal(r.entries, o.entries)
}

// Encode is the registry's canonical form: JSON with buckets in name
// order, so equal registries encode to equal bytes.
func (r Registry) Encode() []byte {
	m := r.entries
	if m == nil {
		m = map[string]Entry{}
	}
	b, err := json.Marshal(map[string]any{"buckets": m})
	if err != nil {
		panic(fmt.Sprintf("bucket: encode registry: %v", err)) // only plain values inside
	}
	return b
}

// Digest is a short hash of the canonical form: two nodes whose digests
// match hold the same registry (up to a 64-bit collision), so they need
// not exchange it.
func (r Registry) Digest() uint64 { return xxhash.Sum64(r.Encode()) }

// DecodeRegistry reads Encode's form. It refuses unknown fields, bad
// names, props that are invalid whatever the node's limits, and more than
// MaxBuckets buckets, so that a peer's or a file's damage cannot enter a
// registry.
func DecodeRegistry(b []byte) (Registry, error) {
	if len(b) > MaxEncodedLen {
		return Registry{}, fmt.Errorf("%w: %d bytes exceeds %d", ErrBadRegistry, len(b), MaxEncodedLen)
	}
	var doc struct {
		Buckets map[string]Entry `json:"buckets"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return Registry{}, fmt.Errorf("%w: %v", ErrBadRegistry, err)
	}
	if dec.More() {
		return Registry{}, fmt.Errorf("%w: trailing data", ErrBadRegistry)
	}
	if len(doc.Buckets) > MaxBuckets {
		return Registry{}, fmt.Errorf("%w: %d buckets exceeds %d", ErrBadRegistry, len(doc.Buckets), MaxBuckets)
	}
	for name, e := range doc.Buckets {
		if err := CheckName(name); err != nil {
			return Registry{}, fmt.Errorf("%w: %v", ErrBadRegistry, err)
		}
		if err := e.Props.Validate(unbounded); err != nil {
			return Registry{}, fmt.Errorf("%w: bucket %q: %v", ErrBadRegistry, name, err)
		}
		if e.Version.Counter == 0 || e.Version.Node == "" {
			return Registry{}, fmt.Errorf("%w: bucket %q has no version", ErrBadRegistry, name)
		}
	}
	return Registry{entries: doc.Buckets}, nil
}

// unbounded are limits that check a decoded registry's shape only: a
// node's own caps are applied when it resolves the registry (Table).
var unbounded = Limits{N: MaxN, R: 1, W: 1, MaxSiblings: 1 << 30, MaxValueBytes: 1 << 30}
