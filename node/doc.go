// Package node is the dynkv server: it wires its parts together, runs
// their lifecycle (Open, Start, Close, Kill), and is their HTTP face.
//
//   - node/coordinator runs client reads and writes across a key's
//     replicas over a pure quorum core;
//   - node/replica is this node's copy of its keys and the only writer of
//     the store;
//   - node/repair is anti-entropy, hint delivery, handoff, leave and
//     tombstone reaping, and their loops;
//   - node/transport carries internode calls (the framed protocol on the
//     internode listener, mutual TLS when the cluster is secured, or an
//     in-memory network in tests) and types them;
//   - node/membership is serf at one boundary, the cluster View, and peer
//     health;
//   - node/internal/wire is the internode message format; node/clock the
//     time source of every timer.
//
// docs/DESIGN.md draws the request path through them.
//
// # What this package owns
//
// The client HTTP API (api.go, api_cluster.go, api_list.go,
// api_admin_set.go, api_keyring.go; docs/API.md), who may use it
// (security.go: TLS and tokens; docs/SECURITY.md), and the one
// mapping from the parts' errors to HTTP statuses (errors.go): the parts
// know nothing of HTTP. Metrics (metrics.go) read the parts' own counters
// when scraped. The node's own report (status.go, with recent operation
// rates and latency from opstats.go) and the cluster's status gathered
// from every member's over the internode op status (cluster_status.go)
// are the JSON operators read, and what the dashboard (ui.go, assets in
// ui/, embedded in the binary) draws. LocalCluster runs several nodes in one process over
// transport.MemNetwork and membership.StaticMembership (or real serf on
// loopback), so any package can test a whole cluster.
//
// # Invariants
//
//   - Nothing from a fasthttp request outlives its handler: keys are
//     copied, and bodies read into memory of their own (admission.go),
//     before any goroutine may see them.
//   - A stopping node refuses new work with 503 shutting_down (clients and
//     peers alike) before it stops anything else, lets requests in flight
//     finish, and marks its shutdown clean only after every part stopped:
//     the next start then keeps its actor (docs/GUARANTEES.md, G4).
//   - No package-level state: several nodes share a process in dev and in
//     tests.
package node
