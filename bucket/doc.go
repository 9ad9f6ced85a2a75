// Package bucket is the data model above keys: named buckets, each with its
// own replication and conflict properties, and the cluster-wide registry
// that records them.
//
// # Keys
//
// Every layer below the client API (coordinator, replica, store, hints,
// trees, the internode wire) sees one internal key per (bucket, key), made
// by Key and taken apart by Split. The default bucket's internal key is the
// client's key itself, so data written before buckets existed is the
// default bucket's, unchanged; every other bucket's keys are
//
//	0x00 | bucket name | 0x00 | key
//
// which no default-bucket key can be, because a client key may not start
// with a NUL byte (CheckKey) and a bucket name holds no NUL. The internal
// key is what the ring hashes (so a bucket's keys spread over every
// partition, as Riak hashes {bucket, key}) and what a causal context is
// bound to (so a context read in one bucket cannot supersede a version in
// another). This encoding is an on-disk format and a wire format: it must
// never change.
//
// # Properties and the registry
//
// Props are a bucket's settings. A Registry holds the props set for each
// bucket with a version, and two registries merge by taking, per bucket,
// the higher version: merges are commutative, associative and idempotent,
// so nodes that exchange registries in any order, any number of times,
// agree (docs/GUARANTEES.md, "Buckets"). A bucket nobody set has the
// defaults; a Table resolves a registry against the node's defaults into
// the effective props every request uses.
//
// # What it must not know
//
// It is pure: no I/O, no clocks, no goroutines. It does not know how
// registries travel between nodes or where they are stored.
package bucket
