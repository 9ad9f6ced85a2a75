package ring

import (
	"errors"
	"fmt"
	"math"
)

// ErrInvalidConfig is wrapped by every error Config.Validate returns.
var ErrInvalidConfig = errors.New("ring: invalid config")

// maxPartitions bounds Config.Partitions. Partition IDs then fit in a uint16
// (useful as a fixed-width key prefix on disk).
const maxPartitions = 1 << 16

// maxVirtualNodes bounds Config.VirtualNodes. consistent allocates and sorts
// members×VirtualNodes hashes on every build; beyond this there is no balance
// left to gain, only memory and time to lose.
const maxVirtualNodes = 1 << 12

// Config shapes the ring. Start from DefaultConfig and override fields.
// Every node of a cluster must use the same Config: it is part of the
// placement function (see the package doc).
type Config struct {
	// Partitions is the number of partitions keys are hashed into
	// (PartitionOf). Count, 1..65536; default 256. Fixed for a cluster's
	// life: stored data is organised by partition, so changing it means
	// rewriting every key. Must be at least the number of members, and
	// should be many times it: near one partition per member, bounded-load
	// placement leaves some members owning nothing, so they hold no data.
	Partitions int

	// N is the number of replicas per partition: the length of each
	// preference list. Count, >= 1; default 3. With fewer than N members
	// every member is in every preference list.
	N int

	// VirtualNodes is the number of points each member gets on consistent's
	// hash circle (consistent.Config.ReplicationFactor; not data replicas).
	// Count, 2..4096; default 128. More points balance partition ownership
	// better at the cost of build time: keep it >= 100.
	VirtualNodes int

	// Load is consistent's bounded-load factor: no member owns more than
	// ceil(floor(Partitions/members) × Load) partitions. Ratio, finite and
	// > 1; default 1.25. Lower is more even but moves more partitions when
	// members change; 1 or less cannot place every partition.
	Load float64
}

// DefaultConfig returns the defaults documented on Config's fields.
func DefaultConfig() Config {
	return Config{
		Partitions:   256,
		N:            3,
		VirtualNodes: 128,
		Load:         1.25,
	}
}

// Validate reports the first field that is out of range, wrapping
// ErrInvalidConfig. These bounds are exactly the ones that keep
// consistent.New from panicking (together with New's member-count check).
func (c Config) Validate() error {
	switch {
	case c.Partitions < 1 || c.Partitions > maxPartitions:
		return fmt.Errorf("%w: Partitions = %d, want 1..%d", ErrInvalidConfig, c.Partitions, maxPartitions)
	case c.N < 1:
		return fmt.Errorf("%w: N = %d, want >= 1", ErrInvalidConfig, c.N)
	case c.VirtualNodes < 2 || c.VirtualNodes > maxVirtualNodes:
		// One point per member can leave consistent's clockwise search with
		// no candidate at all, which panics.
		return fmt.Errorf("%w: VirtualNodes = %d, want 2..%d", ErrInvalidConfig, c.VirtualNodes, maxVirtualNodes)
	case !(c.Load > 1) || math.IsInf(c.Load, 1):
		// Written as !(> 1) so NaN is rejected too.
		return fmt.Errorf("%w: Load = %v, want a finite number > 1", ErrInvalidConfig, c.Load)
	}
	return nil
}
