// Package transport carries internode requests: the Transport interface,
// the framed protocol between processes (FramedTransport and FramedServer,
// on the internode listener only), MemNetwork (an in-process
// network tests can cut, stall, delay and drop on), and Peers, the typed
// calls (Read, Mint, Merge, Reap, tree descent) that the coordinator and
// repair make of a replica, local or remote.
//
// # Invariants
//
//   - Nothing is retried here: a request may have been applied even when
//     its answer was lost, and only the caller knows whether sending it
//     again is safe.
//   - Every failure says which kind it is: a *wire.RemoteError when the
//     peer answered and refused, an error wrapping ErrUnreachable or a
//     context error when it did not. Peers feeds the same verdict to the
//     failure detector.
//   - A peer can make this node buffer at most one answer of the
//     configured maximum size per call, and wait at most the call's
//     deadline.
//   - This node's own replica is called without the wire, and answers
//     exactly what a peer would, refusals included.
//
// It knows nothing of quorums, keys' placement or storage.
package transport
