// Package merkle keeps hash trees for anti-entropy: one Tree per partition
// replica summarises the replica's (key, value) set so two replicas can
// find the keys on which they differ by exchanging a few hashes instead of
// their data.
//
// The package is pure: no I/O, no goroutines, no clocks, no logging. It
// knows nothing of stores, networks, partitions or causality. The node
// feeds it every change of a replica's contents (Update), scans its store
// to (re)build a tree, runs the exchange protocol between replicas using
// Root, Children, the wire encodings and DiffEntries, and merges whatever
// the exchange says differs. Values are opaque bytes here (encoded sibling
// sets in dynkv).
//
// # Shape
//
// A tree has a fixed shape (Config): Fanout children per interior node and
// Depth levels below the root, so Fanout^Depth leaves; the default 32×32
// gives 1024. A key's leaf is chosen by a keyed hash of the key (LeafOf),
// so leaves are balanced whatever the keys look like, but one leaf's keys
// are spread over the whole partition: collecting a leaf's entries means a
// partition scan filtered by LeafOf, so gather all differing leaves of an
// exchange in one scan.
//
// A leaf's hash is the XOR of entryHash(key, ValueHash(value)) over its
// entries; an interior node's hash is xxhash64 of its children's hashes
// (8 bytes little-endian each, in order). Update changes one leaf in O(1)
// and marks its ancestors dirty; readers recompute dirty interior nodes
// lazily, at most 1 + Fanout + … + Fanout^(Depth-1) of them per read.
//
// # Cluster-wide format
//
// Trees are never stored, but replicas compare them, so every node must
// compute the same hashes: LeafOf (xxhash64 with a fixed seed, reduced by
// multiply-shift), ValueHash (xxhash64, seed 0), entryHash (xxhash64 with
// another fixed seed over key || value hash), the interior hash, and the
// wire encodings (codec.go). Changing any of them, or Config, does not
// lose data — DiffEntries still compares the actual values — but until
// every node agrees, every leaf of every exchange differs and every key is
// transferred. Treat it as a protocol change, not a rolling-upgrade detail.
//
// LeafOf deliberately does not reuse ring.PartitionOf's hash (xxhash64 seed
// 0 mod Partitions): reduced the same way, all keys of one partition would
// share a few leaves.
//
// # Invariants
//
//   - Two trees of the same Config built from equal (key, value) sets have
//     equal hashes at every node, whatever the order of the Updates that
//     built them; DiffLeaves is then empty.
//   - A tree built by Update(k, nil, v) for each entry equals one reached
//     by any sequence of Update(k, old, new) ending in the same contents,
//     provided each Update's old is the value the previous one for k set.
//   - Updates commute: deltas for one key may be applied in any order,
//     concurrently, after the writer has released its per-key lock.
//   - A read (Root, Children, Level) reflects every Update that returned
//     before it started.
//   - Decoders never panic, allocate at most the message's size, and accept
//     exactly the encoder's output (one encoding per value).
//
// # Keeping a tree exact
//
// XOR deltas are only right relative to what the tree already holds: an
// Update(k, old, new) whose old the tree never saw, one applied twice, or
// one missed, leaves the tree permanently off. That never loses or
// corrupts data — the exchange compares the replicas' real entries — but
// the affected leaf differs on every exchange until the tree is rebuilt,
// wasting scans and bandwidth. The hazard is a rebuild racing with writes:
// a scan that already read a write's new value plus that write's delta
// counts the write twice. One correct recipe: each write holds a
// per-partition RWMutex for reading while it commits and while it captures
// the set of trees its delta goes to; the builder takes the mutex for
// writing only to open its snapshot and add the new tree to that set.
// Every write is then either in the snapshot or applied as a delta, never
// both. The delta itself may be applied after the locks are released,
// since deltas commute. Build into a new Tree and swap it in (e.g.
// atomic.Pointer) rather than calling Reset on a live one; a periodic
// rebuild also bounds the life of any drift.
//
// # Hazards
//
//   - XOR cancels identical terms: the same entry added twice vanishes.
//     That is harmless only because a tree holds each key at most once,
//     which the delta discipline above guarantees, and because entryHash
//     includes the key, so equal values under different keys do not
//     cancel. It is also why Update(k, v, v) is a no-op.
//   - nil means absent: Update(k, nil, []byte{}) inserts an empty value.
//     The caller must not turn an absent value into an empty one.
//   - 64-bit hashes can collide. Two different leaf contents hash equal
//     with probability about 2^-64 per comparison, so a cluster doing a
//     million leaf comparisons a second would expect one missed difference
//     in roughly 600,000 years; the difference then lasts until the key is
//     written or read (read repair) again. ValueHash collisions make
//     DiffEntries miss a differing key with the same odds per key.
//   - Hashes are not MACs: xxhash is not collision-resistant against an
//     adversary who can choose keys and values; the cluster trusts its own
//     members and clients cannot see hashes.
package merkle
