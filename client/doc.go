// Package client is the Go SDK of dynkv: a client for the HTTP API of any
// set of dynkv nodes (docs/API.md).
//
//	c, err := client.New([]string{"http://10.0.0.1:8080", "http://10.0.0.2:8080"})
//	res, err := c.Get(ctx, "user/42")              // every sibling + causal context
//	next, err := c.Put(ctx, "user/42", value, res.Context)
//
// # Causal contexts and siblings
//
// dynkv never silently drops a concurrent write: writes whose contexts did
// not see each other are kept as siblings, and Get returns all of them with
// one opaque CausalContext that covers them. Write the value you derived
// from them back with that context and it replaces exactly what you read.
// A write without a context is concurrent with everything stored. Update
// packages the read–merge–modify–write cycle.
//
// # Buckets
//
// Keys live in buckets: namespaces, each with its own props (replica count
// N, default quorums R and W, sibling and value caps, a default TTL and
// the conflict mode, siblings or last-writer-wins). The Client's own key
// methods (Get, Put, Delete, Update, List, RawSet, MergeSet) are those of
// the bucket "default", which holds every key written before buckets
// existed; Client.Bucket(name) returns another bucket with the same
// methods. A bucket needs no creating: one whose props were never set has
// the cluster's. Buckets, BucketProps and SetBucketProps (admin) read and
// change props; every node learns a change by gossip, and a key's next
// request uses it.
//
// # Endpoints and failover
//
// Any node serves any request, so a Client holds a list of endpoints. By
// default it sticks to one endpoint (the first) and moves to the next when a
// node does not answer; WithRoundRobin spreads requests instead. An endpoint
// that failed (refused a connection, broke one, timed out or said it is
// shutting down) is skipped for a cool-down (WithEndpointCooldown) unless
// every endpoint is cooling down, and carries no request again until a
// readiness probe (GET /healthz) to it has succeeded. So a node restarting
// behind a TCP proxy — which accepts connections and drops them while
// nothing listens behind it — costs probes, not failed writes.
// After each full pass over the endpoints the client backs off
// (exponentially, with jitter) before the next pass, up to WithMaxAttempts
// attempts in all. The caller's context bounds everything: its deadline and
// cancellation stop retries and abort the request in flight.
//
// # Which failures are retried
//
// Reads (Get and the cluster views) have no side effects and are retried on
// the next endpoint after any failure that is not the caller's fault: the
// node not answering, a connection that broke, an attempt timeout
// (WithAttemptTimeout), 503 (quorum_unavailable, shutting_down), 504 and
// 500. A coordinator cut off from its peers answers 503 where another
// coordinator can succeed, so moving on is the point.
//
// Writes (Put and Delete) are retried automatically only when the request
// provably did not take effect: the connection could not be made (refused,
// unreachable, DNS), the node answered 503 shutting_down (it refuses before
// touching anything) or 408 (it never received the whole request). A
// pooled keep-alive connection that its node closed (a restart, a crash)
// is detected before a request is written on it, and the request goes out
// on a new connection instead, so the first writes after a node dies do
// not fail. After
// any other failure — the connection broke after the request was sent, the
// attempt timed out, 503 quorum_unavailable, 504 — a replica may have taken
// the write, and it may still spread. Retrying it would be safe for the data
// (the same value with the same context can at worst appear twice, as two
// siblings, which the next resolving write collapses), but it is not
// invisible: a caller sees the duplicate, a caller counting writes counts
// two, and retrying timeouts on an overloaded cluster multiplies its load.
// So by default such a write returns its error, and the caller (who knows
// whether a duplicate matters) decides; WithRetryAmbiguousWrites makes the
// client retry these too, on the next endpoint.
//
// # Errors
//
// Errors from the server are *APIError values carrying the HTTP status, the
// stable code, the message and, for quorum failures, the replicas that
// answered (Acks) and were required (Required). Every error can be tested
// with errors.Is against the sentinels: ErrNotFound, ErrBadRequest,
// ErrValueTooLarge, ErrTooManySiblings, ErrQuorumUnavailable, ErrTimeout,
// ErrShuttingDown, ErrOverloaded, ErrInternal, ErrUnauthenticated,
// ErrForbidden, and ErrUnavailable when no endpoint could be reached at
// all. A Get of a deleted key returns ErrNotFound together with a Result
// holding the tombstone's context, so a write after a delete can supersede
// it. Messages name the call and its key or node, after "client: ":
// `client: get "user/42": not_found: key not found (from n1)`.
//
// # Content types
//
// A Put stores the type ContentType gives, else application/octet-stream,
// even over a value stored with another type: a write replaces the value
// and its type together. KeepContentType keeps the stored type instead, at
// the cost of a read; Update keeps it by default.
//
// # Examples
//
// The examples talk to `dynkv dev` on its default ports (127.0.0.1:8081 to
// 8083); with no Output lines they are compiled but not run by go test,
// and TestExamples runs them against an in-process cluster.
//
// # Security
//
// A cluster may serve its API over TLS, require client certificates, and
// require a bearer token of every request but the health checks.
// LoadTLSConfig reads the cluster CA (the only trust root) and an optional
// client certificate and key from PEM files; WithTLS makes every endpoint
// speak TLS with that config (bare host:port endpoints become https, plain
// http:// ones are refused). WithToken sends "Authorization: Bearer
// <token>" with every request; the token is in no error the client
// returns. A refused token is ErrUnauthenticated (401), a role too low for
// the request ErrForbidden (403); neither is retried on another endpoint,
// since every node shares the tokens file. A TLS handshake that fails
// (an untrusted node, a refused client certificate) proves the request was
// not acted on, so a write fails over like a refused connection instead of
// as ambiguous.
//
// # Membership changes
//
// Leave makes a live node leave for good: it hands its data and hints off
// to its partitions' new owners, then leaves (Handoffs follows the
// progress, Members shows it as left at the end). Remove declares a dead
// node gone for good; the survivors re-replicate its partitions. Leave,
// Handoffs and Metrics are aimed at particular nodes, which they reach at
// the HTTP addresses the member list gives; they never fail over to
// another node.
//
// # Transport
//
// The client uses net/http rather than fasthttp (which the server uses). An
// SDK is embedded in other people's programs: net/http honours
// context.Context cancellation at every stage of a request (fasthttp only
// takes deadlines), works with the standard TLS, proxy and tracing
// machinery through WithTransport, and is what callers' tooling expects.
// Its cost per request is some tens of small allocations, which is noise
// next to a quorum round trip (BenchmarkFakeGet and BenchmarkClusterGetPut
// measure both). The client keeps that cost down: one pooled transport
// whose idle pool is sized for concurrent use (net/http's default of 2
// idle connections per host would make a busy client reconnect
// constantly), requests sent straight to the RoundTripper (no redirect or
// cookie machinery), URLs built without parsing, pooled read buffers, and
// no compression negotiation.
// A Client is safe for concurrent use; create one and share it.
package client
