package ring

import (
	"errors"
	"fmt"
	"slices"

	"github.com/cespare/xxhash/v2"
)

var (
	// ErrTooManyMembers is returned by New when the members cannot be
	// placed: more members than partitions (consistent's bounded load
	// cannot place them and panics), or Partitions × members above
	// maxWalkEntries, the precomputed table's bound.
	ErrTooManyMembers = errors.New("ring: too many members")

	// ErrInvalidMember is returned by New for an empty member name.
	ErrInvalidMember = errors.New("ring: invalid member name")
)

// maxWalkEntries bounds Partitions × members, the number of walk entries New
// precomputes (16 bytes each: 64 MiB at the bound). The default 256
// partitions stay far below it for every member count they allow (256 × 256
// = 65,536 entries, 1 MiB); it only bites for clusters that combine
// tens of thousands of partitions with hundreds of members.
const maxWalkEntries = 1 << 22

// Ring maps keys to partitions and partitions to ordered member lists. It is
// immutable once New returns, so it is safe for concurrent use without
// locks; on a membership change build a new Ring and swap the pointer.
//
// Slices returned by Walk, PreferenceList, Fallbacks and PartitionsOf are
// shared by every caller and must not be modified: copy before sorting or
// overwriting. Their capacity is clipped to their length, so append always
// copies and cannot reach a neighbouring list. Members returns a copy.
//
// Methods that take a partition panic if it is outside [0, Partitions), like
// a slice index: check input from the network against Config().Partitions.
type Ring struct {
	cfg     Config
	members []string // sorted, distinct
	zones   []string // zones[i] is members[i]'s zone
	nZones  int      // distinct zones
	n       int      // preference list length: min(cfg.N, len(members))

	// walks holds every partition's walk: partition p's is
	// walks[p*len(members) : (p+1)*len(members)].
	walks []string

	// replicaOf holds PartitionsOf's answers, each ascending and clipped.
	replicaOf map[string][]int
}

// New builds the ring for cfg from the member set alone: the order of
// members and duplicates in it do not change the result, so every node that
// sees the same members computes the same Ring. Zero members is allowed
// (every list is empty). It returns an error, never panics, for an invalid
// cfg (ErrInvalidConfig), an empty member name (ErrInvalidMember), more
// members than cfg.Partitions, or Partitions × members above 4,194,304
// (ErrTooManyMembers). It is NewZoned with every zone empty.
func New(members []string, cfg Config) (*Ring, error) {
	zoned := make([]Member, len(members))
	for i, m := range members {
		zoned[i] = Member{Name: m}
	}
	return NewZoned(zoned, cfg)
}

// NewZoned is New for members that name their zones: preference lists then
// span min(N, zones) zones (see the package doc, "Zones"). The same name
// twice with different zones is ErrInvalidMember.
func NewZoned(members []Member, cfg Config) (*Ring, error) {
	r, err := newUnplaced(members, cfg)
	if err != nil || len(r.members) == 0 {
		return r, err
	}
	owners, err := ownerIndexes(r.members, cfg)
	if err != nil {
		return nil, err
	}
	r.place(owners)
	return r, nil
}

// newUnplaced checks members and cfg and returns a ring with its members
// but no walks yet.
func newUnplaced(members []Member, cfg Config) (*Ring, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ms, err := sortMembers(members)
	if err != nil {
		return nil, err
	}
	m := len(ms)
	if m > cfg.Partitions {
		return nil, fmt.Errorf("%w: %d members for %d partitions", ErrTooManyMembers, m, cfg.Partitions)
	}
	if cfg.Partitions*m > maxWalkEntries {
		return nil, fmt.Errorf("%w: %d partitions × %d members exceeds %d precomputed entries",
			ErrTooManyMembers, cfg.Partitions, m, maxWalkEntries)
	}
	r := &Ring{
		cfg:       cfg,
		members:   make([]string, m),
		zones:     make([]string, m),
		n:         min(cfg.N, m),
		walks:     []string{},
		replicaOf: map[string][]int{},
	}
	for i, member := range ms {
		r.members[i], r.zones[i] = member.Name, member.Zone
	}
	r.nZones = len(zoneIndexes(r.zones))
	return r, nil
}

// place computes every walk from the partitions' owners (indexes into
// r.members, as ownerIndexes returns them) and the zones.
func (r *Ring) place(owners []int) {
	order := walkOrders(owners, len(r.members))
	spreadZones(order, r.zones, r.members, r.n)
	r.walks = make([]string, len(order))
	for i, idx := range order {
		r.walks[i] = r.members[idx]
	}
	for p := range r.cfg.Partitions {
		for _, member := range r.PreferenceList(p) {
			r.replicaOf[member] = append(r.replicaOf[member], p)
		}
	}
	for member, ps := range r.replicaOf {
		r.replicaOf[member] = slices.Clip(ps)
	}
}

// Config returns the configuration the ring was built with.
func (r *Ring) Config() Config { return r.cfg }

// Members returns the members, sorted, in a new slice.
func (r *Ring) Members() []string { return append([]string{}, r.members...) }

// PartitionOf returns the partition of key: xxhash.Sum64(key) mod
// Partitions.
//
// This is an on-disk format. Stored keys, their partition prefixes and the
// per-partition Merkle trees all depend on it, and nodes must agree on it,
// so the hash function (xxhash64, seed 0, over the raw key bytes), the
// modulo and Partitions must never change for an existing cluster. It does
// not go through consistent, so upgrading consistent cannot change it.
func (r *Ring) PartitionOf(key []byte) int { return PartitionOf(key, r.cfg.Partitions) }

// PartitionOf is Ring.PartitionOf without a ring: a key's partition depends
// only on the partition count, never on the members, so a replica can place
// a key before it has seen any membership.
func PartitionOf(key []byte, partitions int) int {
	return int(xxhash.Sum64(key) % uint64(partitions))
}

// Owner returns the member that owns partition p (the head of its
// preference list), or "" when the ring has no members.
func (r *Ring) Owner(p int) string {
	if w := r.Walk(p); len(w) > 0 {
		return w[0]
	}
	return ""
}

// Walk returns every member once, in partition p's clockwise order (with
// zones, reordered to spread them: package doc): the preference list first,
// then the fallbacks, which sloppy quorum uses in this order to stand in
// for unreachable replicas. Shared: do not modify.
func (r *Ring) Walk(p int) []string {
	lo, hi := r.span(p)
	return r.walks[lo:hi:hi]
}

// PreferenceList returns the min(N, members) members that replicate
// partition p, owner first. Shared: do not modify.
func (r *Ring) PreferenceList(p int) []string {
	lo, _ := r.span(p)
	return r.walks[lo : lo+r.n : lo+r.n]
}

// PreferenceListN is PreferenceList for a bucket with its own replica
// count: the first min(n, members) members of Walk(p). For n below the
// cluster's N it is a prefix of PreferenceList(p); every prefix of a walk
// spans as many zones as it can (package doc). Shared: do not modify.
func (r *Ring) PreferenceListN(p, n int) []string {
	lo, hi := r.span(p)
	end := lo + min(max(n, 0), hi-lo)
	return r.walks[lo:end:end]
}

// Rank is member's position in Walk(p) (0 for the owner), or -1 when it is
// not a member: it replicates p for every bucket whose N exceeds its rank.
func (r *Ring) Rank(p int, member string) int {
	return slices.Index(r.Walk(p), member)
}

// Fallbacks returns the members of Walk(p) after the preference list, in
// the order sloppy quorum should try them. Shared: do not modify.
func (r *Ring) Fallbacks(p int) []string {
	lo, hi := r.span(p)
	return r.walks[lo+r.n : hi : hi]
}

// IsReplica reports whether member is in partition p's preference list.
func (r *Ring) IsReplica(p int, member string) bool {
	return slices.Contains(r.PreferenceList(p), member)
}

// PartitionsOf returns, ascending, the partitions whose preference list
// contains member; nil if it is in none or not a member. Shared: do not
// modify.
func (r *Ring) PartitionsOf(member string) []int {
	return r.replicaOf[member]
}

// span returns the bounds of partition p's walk in r.walks, panicking with
// a clear message for an out-of-range p (with zero members the slicing
// itself would not catch it).
func (r *Ring) span(p int) (lo, hi int) {
	if p < 0 || p >= r.cfg.Partitions {
		outOfRange(p, r.cfg.Partitions)
	}
	m := len(r.members)
	return p * m, (p + 1) * m
}

// outOfRange is kept out of span so span stays small enough to inline.
func outOfRange(p, partitions int) {
	panic(fmt.Sprintf("ring: partition %d out of range [0, %d)", p, partitions))
}
