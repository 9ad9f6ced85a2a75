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
// # Zones
//
// NewZoned takes each member's zone (a rack, an availability zone). With
// two or more zones, partition p's walk is reordered (spreadZones) so that
// its preference list spans min(N, zones) zones: the owner stays first;
// each further zone, in the order the walk first reaches it, adds the
// member of that zone that wins p by weighted rendezvous hashing (xxhash64
// of p and the name; each member weighted by what its zone's mean share of
// replicas leaves it beside the partitions it owns, in integer arithmetic
// so that every architecture agrees); with N above the zones, the earliest
// members left in the walk fill the list. Fallbacks in a zone holding no
// replica of p come before the others, the first of each such zone before
// any second, each group in walk order: a stand-in goes to a zone that does
// not hold a replica yet, when one is left, and every prefix of a walk
// spans as many zones as it can, so a bucket with its own N, which takes
// the first N members (PreferenceListN), is spread as well.
// Rendezvous hashing within a zone is what keeps replicas balanced: taking
// the next member of the zone along the walk would give each member the
// partitions in the gap before its own, and those gaps vary (with 1,000
// members, up to 3.3× the mean replica slots against 1.9×: see
// docs/BENCHMARKS.md, "Ring: zones"), and the weights take out the
// imbalance of consistent's owners (±25 % at Load 1.25), which equal odds
// would pass on. A join or leave moves the member's own slots, the few
// partitions whose walk reaches the zones in another order, and those the
// shifted weights redraw.
//
// The empty zone is a zone like any other: members without one share it.
// With one zone only — no member names a zone, or all name the same one —
// nothing is reordered and every walk is what New gives, so upgrading a
// zoneless cluster moves nothing. Uneven zones cost balance: with N ≥
// zones every partition has a replica in every zone, so a zone with a
// tenth of the members holds a third of the replicas.
//
// # Invariants
//
//   - Determinism: the Ring depends only on the member set and Config, not
//     on the order or duplicates of the members passed to New.
//   - Walk(p) contains every member exactly once and starts with Owner(p);
//     PreferenceList(p) is its first min(N, members) entries and Fallbacks(p)
//     the rest, so preference lists never repeat a member. It spans
//     min(N, zones) zones; so with N ≥ 2 and two zones or more, losing a
//     whole zone leaves every partition a replica.
//   - No member owns more than ceil(floor(Partitions/members) × Load)
//     partitions.
//   - PartitionOf is xxhash64(key) mod Partitions and is an on-disk format:
//     it must never change, and Partitions is fixed for a cluster's life.
//   - Placement is a cluster-wide protocol: every node must compute the
//     same lists from the same members and zones. Changing Config, the
//     consistent version, how member names are presented to consistent,
//     the walk rule or the zone rule (spreadZones, zoneRank, zoneWeights,
//     negLog2) changes
//     placement and needs a whole-cluster migration, not a rolling upgrade.
//
// New validates its input and returns errors instead of letting consistent
// panic; NewZoned also refuses a member named in two zones. Lookups are O(1) (IsReplica O(N)) and allocate nothing; the price
// is Partitions × members precomputed walk entries (16 bytes each).
package ring
