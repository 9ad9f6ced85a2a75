// Package vclock owns dynkv's causal versioning: dots, causal contexts and
// sibling sets. It is pure — no I/O, clocks, goroutines or logging — and knows
// nothing of nodes, rings, storage or HTTP.
//
// # Model
//
// Every stored version of a key (a sibling) carries a unique Dot: the actor
// (a node incarnation) that created it and a per-key counter. A key's state is
// a Set: its live siblings plus a Context, the exact set of dots the replica
// has ever seen for the key, whether still live or already superseded. A
// Context is a version vector plus a "dot cloud" of exceptions, so it can say
// "everything up to a:4, and also a:7" without claiming a:5 and a:6.
//
// This is a multi-value register in the dotted-version-vector family (the
// dot-kernel formulation of delta-state CRDTs):
//
//   - Write with a client context ctx at actor a: the new dot is
//     (a, highest counter of a known locally or in ctx, plus one); siblings
//     whose dots are in ctx are superseded; all others stay as siblings.
//   - Merge of two sets keeps a sibling unless the other side has seen its
//     dot and no longer holds it (meaning a write superseded it there).
//
// # Invariants and hazards
//
//   - A dot names exactly one value forever. If a node could mint the same dot
//     twice (lost its unsynced writes, or its data directory), one of the two
//     values would be silently dropped by Merge. Callers must make the actor
//     unique per incarnation of a node's state.
//   - Every sibling's dot is contained in its Set's Context; decoders reject
//     encodings that break this.
//   - Contexts are exact: they are never widened to cover dots that were not
//     seen. Widening would make a later write supersede a concurrent sibling
//     it never saw — a lost write.
//   - Metadata is bounded by the number of actors: each actor's dots for one
//     key are minted consecutively by that actor, so clouds compact back into
//     the version vector once a replica has seen the actor's full history.
//   - Values are immutable: no method modifies its receiver or arguments, and
//     slices inside returned values may be shared between values.
package vclock
