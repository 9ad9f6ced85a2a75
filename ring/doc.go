// Package ring decides where data lives: which partition a key belongs to,
// and which members replicate each partition and stand in for them.
//
// A Ring is a pure value computed from (members, Config): no I/O, no
// goroutines, no clocks, no logging, no mutation after New. It does not know
// about health, gossip, transports or storage: membership code builds a new
// Ring when the member set changes and swaps it in (e.g. atomic.Pointer);
// the coordinator combines Walk with its own view of which members are up.
// A member that is down stays in the Ring — only a leave or a removal changes
// the member set — so a transient failure moves no data.
//
// # Placement
//
// Keys hash to one of Config.Partitions partitions (PartitionOf). Each
// partition's owner comes from github.com/buraksezer/consistent's
// bounded-load consistent hashing (GetPartitionOwner), which keeps ownership
// balanced and moves about 1/members of it when a member joins or leaves.
// Replicas do not come from consistent's GetClosestN: it orders members by
// the hash of their names, so every partition of one owner gets the same
// replicas, a failed node's load lands on one survivor, and a join changes
// about half of all replica sets. Instead, partition p's walk lists the
// distinct owners of p, p+1, p+2, … (wrapping) in order of first appearance
// — Dynamo's strategy 3 — and its first N entries are p's preference list.
//
// # Invariants
//
//   - Determinism: the Ring depends only on the member set and Config, not
//     on the order or duplicates of the members passed to New.
//   - Walk(p) contains every member exactly once and starts with Owner(p);
//     PreferenceList(p) is its first min(N, members) entries and Fallbacks(p)
//     the rest, so preference lists never repeat a member.
//   - No member owns more than ceil(floor(Partitions/members) × Load)
//     partitions.
//   - PartitionOf is xxhash64(key) mod Partitions and is an on-disk format:
//     it must never change, and Partitions is fixed for a cluster's life.
//   - Placement is a cluster-wide protocol: every node must compute the
//     same lists from the same members. Changing Config, the consistent
//     version, how member names are presented to consistent, or the walk
//     rule changes placement and needs a whole-cluster migration, not a
//     rolling upgrade.
//
// New validates its input and returns errors instead of letting consistent
// panic. Lookups are O(1) (IsReplica O(N)) and allocate nothing; the price
// is Partitions × members precomputed walk entries (16 bytes each).
package ring
