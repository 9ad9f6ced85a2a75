// Package coordinator runs client reads and writes across a key's
// replicas: any node coordinates any request. Put and Get are thin I/O
// shells over quorum.go, a pure core that decides from the replies in
// whether a quorum is reached, has failed or must wait, and which replicas
// need read repair (in the manner of riak_kv's get_core and put_core).
//
// # Keys and buckets
//
// Every key here is an internal key (package bucket): the client's key in
// the default bucket, NUL bucket NUL key in another. Each request reads
// its key's bucket props once from Config.Buckets: its replicas are the
// first N of the partition's walk (ring.PreferenceListN) and the rest of
// the walk its fallbacks; R and W default to the bucket's and may not
// exceed its N (ErrBadQuorum); a value over its max_value_bytes is refused
// before anything is sent (ErrValueTooLarge); a write without a TTL takes
// its default_ttl; and in an lww bucket a read answers, and read repair
// writes, the merge's last writer (vclock.Set.LastWriterWins). A listing
// scans one bucket's internal prefix on its N replicas and answers client
// keys.
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
