package ring

import (
	"fmt"

	"github.com/buraksezer/consistent"
	"github.com/cespare/xxhash/v2"
)

// xxHasher adapts xxhash to consistent.Hasher. It is stateless, so it is
// safe for the concurrent use consistent requires.
type xxHasher struct{}

func (xxHasher) Sum64(b []byte) uint64 { return xxhash.Sum64(b) }

// circleMember is how a member name is presented to consistent.
//
// consistent names member m's virtual nodes fmt.Sprintf("%s%d", m, i), so
// with raw names "n1" and "n11" the points "n1"+"10" and "n11"+"0" are the
// same string: one member silently loses points to the other. Ending every
// name with a non-digit makes name+index unambiguous (the last '#' splits
// them), so distinct members never share a point.
type circleMember string

func (m circleMember) String() string { return string(m) + "#" }

func (m circleMember) name() string { return string(m) }

// newConsistent builds consistent's ring for members (sorted, distinct,
// non-empty) with cfg. consistent panics when it cannot place every
// partition; Validate and New rule out every case we know of, and the
// recover turns anything we missed into an error instead of a crash.
func newConsistent(members []string, cfg Config) (c *consistent.Consistent, err error) {
	defer func() {
		if r := recover(); r != nil {
			c, err = nil, fmt.Errorf("%w: consistent panicked with %d members: %v", ErrInvalidConfig, len(members), r)
		}
	}()
	ms := make([]consistent.Member, len(members))
	for i, m := range members {
		ms[i] = circleMember(m)
	}
	if len(ms) == 0 {
		ms = nil // consistent panics on an empty non-nil slice
	}
	return consistent.New(ms, consistent.Config{
		Hasher:            xxHasher{},
		PartitionCount:    cfg.Partitions,
		ReplicationFactor: cfg.VirtualNodes,
		Load:              cfg.Load,
	}), nil
}

// ownerIndexes returns, for every partition, the index in members of its
// owner as consistent's bounded-load assignment decides it. members must be
// sorted, distinct and non-empty.
func ownerIndexes(members []string, cfg Config) ([]int, error) {
	c, err := newConsistent(members, cfg)
	if err != nil {
		return nil, err
	}
	index := make(map[string]int, len(members))
	for i, m := range members {
		index[m] = i
	}
	owners := make([]int, cfg.Partitions)
	for p := range owners {
		m, ok := c.GetPartitionOwner(p).(circleMember)
		if !ok {
			// nil Member: consistent left the partition unassigned.
			return nil, fmt.Errorf("%w: consistent assigned no owner to partition %d", ErrInvalidConfig, p)
		}
		owners[p] = index[m.name()]
	}
	return owners, nil
}
