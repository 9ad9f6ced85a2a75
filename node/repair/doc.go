// Package repair is everything that brings replicas back into agreement
// without a client asking: Merkle-tree anti-entropy between the replicas
// of a partition and bucket N, hint delivery (and redirection once a target has been
// down past the hint window), ownership handoff after a join or a leave,
// tombstone reaping, and the loops that drive them on the node's clock.
//
// # Invariants
//
//   - Nothing here writes the store: every change goes through the replica
//     (package replica), so trees and locks stay exact.
//   - Nothing is deleted before every node that must hold it has
//     acknowledged it: a handed-off key only after all its new replicas
//     merged it, and only if unchanged since it was sent; a hint only after
//     its target (or, past the window, another replica) merged it; a
//     tombstone only once every replica holds the very same state and the
//     grace period has passed (docs/GUARANTEES.md, G2 and G6).
//   - A key's replicas are the first N members of its partition's walk, N
//     its bucket's (classes.go): anti-entropy compares tree (p, n) only
//     between members of PreferenceListN(p, n) and takes only keys of
//     class n by its own table; handoff hands on every key held beyond it
//     (a lowered N trims); the reaper asks exactly those N replicas.
//   - Every pass is idempotent and resumable: it finds its work by
//     scanning, so a crash of either side only repeats merges.
//   - Loops take their tickers and timers from the configured clock, so
//     tests advance time (or call the *Once methods) instead of sleeping.
//
// It knows nothing of HTTP or of the client API; it sees the cluster
// through a membership.Tracker and peers through transport.Peers.
package repair
