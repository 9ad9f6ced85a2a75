// Package wire is the internode message format: one encoder and one decoder
// per message, the operation names, and the refusal a peer sends back.
//
// # Invariants
//
//   - Every body starts with Version, so a node refuses (rather than
//     misreads) a peer speaking a newer format during a rolling upgrade.
//   - Decoders never panic and never allocate more than their input
//     justifies: every length and count is checked against what remains.
//     Every decoding error wraps ErrBadMessage.
//   - Encodings are canonical where a message is compared or hashed: a
//     decoded message re-encodes to the same bytes (fuzzed).
//   - Decoded byte slices alias the input: callers copy what they keep.
//
// It knows nothing of transports, stores or the cluster: it turns values
// into bytes and back.
package wire
