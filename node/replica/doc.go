// Package replica is a node's own copy of its keys: the only writer of the
// store. It applies writes (minting their dots), merges, hints kept as a
// fallback, reaps and hand-off deletions, keeps a Merkle tree per
// partition and class (the buckets of one N) current under that
// partition's lock, and answers peers' internode requests by decoding them
// and applying them here. Each operation takes its key's bucket props from
// the bucket table (Config.Buckets): caps, conflict mode, tree class.
//
// # Invariants
//
//   - Every change to a key is a per-key read-modify-write in the store
//     (concurrent writes and merges of one key never lose each other), and
//     it reaches the partition's tree under the partition's lock held
//     shared. A tree build holds that lock exclusively only while it
//     installs the tree it builds and opens its scan's snapshot, then scans
//     with writes going on, each applying its delta to the tree being
//     built too: every write is either in the build's snapshot or a delta
//     to the new tree, never both, never neither (trees_build.go). A key is
//     in the tree of its bucket's N only; when the bucket placement changes
//     every tree is rebuilt in a new generation, and writers look their
//     tree up under the partition's lock, so the rule holds across the
//     change (trees.go).
//   - A key of an lww bucket is stored only as a resolved set (one winner,
//     vclock.Set.LastWriterWins), in the store and in the hint queue, and
//     a write there supersedes everything the replica holds; the client's
//     own context is still checked (buckets.go).
//   - A refused write (its bucket's sibling cap, value too large,
//     malformed) stores nothing: the checks run before the store is touched or inside the
//     read-modify-write before it returns a value.
//   - A dot is never minted twice for different values: the actor names
//     an incarnation that changes whenever a shutdown that was not clean
//     may have lost unsynced writes (a new boot; identity.go), a partition's
//     actor gains an epoch once handoff forgot keys in it (epochs.go), and a
//     fallback mints with an actor of its own
//     (fallback.go). See docs/GUARANTEES.md, G4.
//   - A client's context is checked before a dot is minted with it
//     (claims.go): no claim can make a counter wrap. A stored record that
//     does not decode is set aside (quarantine.go) and its key treated as
//     absent, never failing its key's partition.
//   - A draining replica refuses every request with shutting_down, to
//     peers and to its own coordinator alike.
//
// It knows nothing of quorums, membership or transports: which trees it
// keeps is told to it (Track), and its answers are what any caller gets.
package replica
