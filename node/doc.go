// Package node is the dynkv server: a replica of its partitions, a
// coordinator for any client request, the HTTP API, the internode transport
// and the boundary to gossip membership.
//
// It owns how requests flow; it does not own causality (package vclock),
// placement (package ring) or storage layout (package store), and it
// imports no gossip library outside membership_serf.go.
//
// # Request flow
//
// Any node accepts any request. For a write, the coordinator asks the first
// reachable replica of the key (itself if it is one) to mint the new
// version's dot: the dot's actor is always a replica, so dots for one key
// are minted by at most N actors per incarnation. That replica returns its
// resulting sibling set, which the coordinator merges into the other
// replicas until W have acknowledged. Reads ask every replica, answer once R
// have replied, and repair the stale ones in the background.
//
// # Invariants
//
//   - A write is acknowledged only after W replicas durably merged a state
//     that contains it (the dot-minting replica counts as one).
//   - A refused write (too many siblings, too large, malformed) writes
//     nothing anywhere: refusal happens before the minting replica stores.
//   - A node's actor changes whenever its previous run did not end cleanly,
//     so a dot is never minted twice for different values (see identity.go).
//   - Every client context returned is exact: the client's own context plus
//     the new dot, never the concurrent siblings it did not see.
//   - Nothing from a fasthttp request outlives its handler: keys and values
//     are copied before any goroutine may see them.
//
// # Testing
//
// Transport and membership.Membership are interfaces. MemNetwork (partitionable,
// lossy, slow on demand), membership.StaticMembership and LocalCluster are exported so
// any package can run a whole cluster in one process.
package node
