// Package coordinator runs client reads and writes across a key's
// replicas: any node coordinates any request. Put and Get are thin I/O
// shells over quorum.go, a pure core that decides from the replies in
// whether a quorum is reached, has failed or must wait, and which replicas
// need read repair (in the manner of riak_kv's get_core and put_core).
//
// # Request flow
//
// For a write, the first reachable replica of the key (this node first if
// it is one) mints the new version's dot and returns its resulting sibling
// set, which is merged into the other targets until W have acknowledged
// (the minter counts as one). A fallback mints only when no replica
// answers. A target that fails is replaced by the next spare node, which
// keeps the state as a hint. A read asks R targets (this node's own replica
// first, read in the request's goroutine), asks one more after
// ReadSpeculateAfter or a failure, answers once R have replied, and repairs
// the stale replicas among those that answered, in the background.
// Besides them: List pages through the live keys, each partition from one
// usable replica (list.go), and MergeSet merges a whole sibling set into a
// key's replicas by causality, for restore (merge.go).
//
// # Invariants
//
//   - A write is acknowledged only after W targets durably merged a state
//     that contains it (docs/GUARANTEES.md, G1, G2).
//   - A refused write (too many siblings, too large, malformed) is refused
//     before the minting replica stores anything, and is never retried
//     elsewhere.
//   - Every context returned is exact: the client's own context plus the
//     new dot, never the concurrent siblings it did not see (G4 there).
//   - Nothing of a request outlives it but bounded background work:
//     stragglers and read repair finish under their own timeouts.
//
// It knows nothing of HTTP: errors are QuorumError and the replicas'
// *wire.RemoteError refusals; the node maps them to statuses.
package coordinator
