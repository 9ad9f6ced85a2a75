package merkle

import (
	"errors"
	"fmt"
)

// ErrInvalidConfig is wrapped by every error Config.Validate returns.
var ErrInvalidConfig = errors.New("merkle: invalid config")

// Bounds checked by Config.Validate.
const (
	minFanout = 2
	maxFanout = 256 // one Children reply stays <= 2 KiB of hashes
	minDepth  = 1
	maxDepth  = 4
	maxLeaves = 1 << 20 // 8 MiB of leaf hashes per tree
)

// Config shapes a tree. Start from DefaultConfig and override fields.
//
// Every replica of a partition must use the same Config: the leaf a key
// falls into depends on the number of leaves (see LeafOf), and DiffLeaves
// and a remote descent only make sense between trees of the same shape.
// Changing it for a running cluster is safe for data but makes every leaf
// look different until all nodes agree, so every exchange transfers every
// key in between.
type Config struct {
	// Fanout is the number of children of every interior node. Count,
	// 2..256; default 32. A remote descent fetches Fanout hashes (8 bytes
	// each) per differing node per level: wider means fewer round trips and
	// more bytes per differing node.
	Fanout int

	// Depth is the number of levels below the root; the tree has
	// Fanout^Depth leaves (at most 1<<20). Count, 1..4; default 2, which
	// gives 1024 leaves. More leaves mean fewer keys per leaf, so fewer
	// entries exchanged per differing key, at 8 bytes of memory per leaf
	// per tree and one more round trip per extra level. Aim for a few keys
	// per leaf at the expected partition size; past one key per leaf more
	// leaves only cost memory.
	Depth int
}

// DefaultConfig returns the defaults documented on Config's fields.
func DefaultConfig() Config {
	return Config{Fanout: 32, Depth: 2}
}

// Validate reports the first field that is out of range, wrapping
// ErrInvalidConfig.
func (c Config) Validate() error {
	switch {
	case c.Fanout < minFanout || c.Fanout > maxFanout:
		return fmt.Errorf("%w: Fanout = %d, want %d..%d", ErrInvalidConfig, c.Fanout, minFanout, maxFanout)
	case c.Depth < minDepth || c.Depth > maxDepth:
		return fmt.Errorf("%w: Depth = %d, want %d..%d", ErrInvalidConfig, c.Depth, minDepth, maxDepth)
	}
	// Fanout <= 256 and Depth <= 4 keep the product within 1<<32: no
	// overflow on any platform with 64-bit int, and checked step by step
	// so 32-bit platforms are safe too.
	n := 1
	for range c.Depth {
		n *= c.Fanout
		if n > maxLeaves {
			return fmt.Errorf("%w: Fanout^Depth = %d^%d exceeds %d leaves", ErrInvalidConfig, c.Fanout, c.Depth, maxLeaves)
		}
	}
	return nil
}

// leaves returns Fanout^Depth for a valid config.
func (c Config) leaves() int {
	n := 1
	for range c.Depth {
		n *= c.Fanout
	}
	return n
}
