// Package buckets keeps the cluster's bucket registry (package bucket) as
// durable cluster metadata on one node: it loads the registry the node
// saved, applies it to the node, changes it for an admin's PUT of a
// bucket's props, merges the registries peers send, and brings this node
// into agreement with its peers.
//
// # How nodes agree
//
// Every node announces its registry's digest in a gossip tag
// (membership.TagBuckets). A node that changes a bucket pushes its whole
// registry to every usable member at once; and whenever membership changes
// (a tag included) or the sync interval passes, it exchanges registries
// with every usable member whose announced digest differs from its own
// (wire.OpBucketsMerge: it sends its registry, the peer merges and answers
// with its own, which this node merges). Merging is a join (commutative,
// associative, idempotent), so nodes that exchange registries in any
// order, any number of times, agree once gossip has carried the digests
// and one exchange per differing pair has succeeded (docs/GUARANTEES.md,
// "Buckets").
//
// # Invariants
//
//   - The registry held in memory is always the one last saved: a change
//     is saved (a synced metadata write) before it is applied to the node
//     or announced, so a node never applies or spreads what a crash would
//     make it forget. A save that fails changes nothing.
//   - Changes are serialized: a Set and a Merge never lose each other.
//   - A registry only grows in the version order: what is applied is the
//     join of everything this node saved and received.
//   - A Set is validated against the node's limits before anything
//     changes; a bad one changes nothing.
//   - Nothing here blocks the membership's change callback (Poke never
//     blocks), and no tag is published from inside it.
//
// # What it must not know
//
// It knows no transport, no HTTP, no store format: the registry's storage
// is the replica's (Store), peers are reached through Peers, the node's
// tables are swapped by the Apply callback, and the tag is published by
// Publish. It does not know what props mean to requests or repair.
package buckets
