// Package loadtest is dynkv's load generator: YCSB-style workloads run by
// many concurrent clients against any store behind a Driver, measured with
// HDR histograms, and optionally checked for lost writes afterwards.
//
// The same generator drives dynkv (HTTP API) and Redis (RESP), so a
// baseline is measured through the very same code path.
//
// # Workloads
//
// A is 50 % reads and 50 % updates, B 95/5, C read-only, F 50 % reads and
// 50 % read-modify-writes, and write-only 100 % updates. Keys are chosen
// uniformly or by YCSB's scrambled zipfian distribution. A preload phase
// writes every key once first.
//
// An update behaves like a real client of a Dynamo store: it sends the
// causal context the generator last saw for that key (from a read or from
// the previous write's answer), cached per key and shared by all workers;
// for a key it holds no context for yet (its first touch in this run) it
// reads the key first, and that read counts in the update's latency. Blind
// writes would be concurrent with everything stored and would pile up
// siblings; a read-modify-write (F) writes with the context of its own
// read. The preload alone writes blind, so run it on an empty key space. Two workers that update the same key from the same context create
// siblings, exactly as two real clients would; the next read returns them
// and the next update with that read's context resolves them.
//
// # Measurement
//
// Latency is recorded per operation (read, update, rmw, insert) in HDR
// histograms (1 µs to 60 s, 3 significant digits) striped over a few
// mutex-guarded shards, which the reporter drains once per progress
// interval. Failed operations are counted by error kind and kept out of the
// latency histograms. With a target rate, each operation's latency is
// measured from the moment it was scheduled to start, not from when it
// actually started, so a stall shows in the percentiles instead of being
// hidden by the clients waiting (no coordinated omission).
//
// # Verification
//
// With Config.Verify every written value carries a run nonce and a unique
// write id (its first 16 bytes) followed by a body derived from them. The
// generator records every attempted write with its parents: the writes
// whose values the context it was sent with had observed (a read's returned
// values, or the previous write of the key whose answer the context came
// from). Generator.Verify then reads every written key and accepts an
// acknowledged write when
//
//   - its value is present, as the value or one of the siblings, or
//   - it is superseded: reachable through parents from a value that is
//     present (a later write of the key was made with a context that
//     observed it, directly or through a chain of such writes).
//
// Anything else is lost, and a present value whose body does not match its
// id is corrupt; either fails the check. The model is exact only when this
// generator is the sole writer of its keys: a foreign write that supersedes
// ours counts as a loss, so give each verified run its own key prefix. For
// stores without causal contexts (Redis) the parents are what the client
// had observed, so an overwrite by a client that had not seen the previous
// value — last writer wins — is reported as the loss it is.
package loadtest
