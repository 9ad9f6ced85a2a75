// Package membership tells a node who is in the cluster and who answers:
// the Membership boundary (serf's gossip in production, StaticMembership in
// tests), the immutable View of members and ring that every request loads
// once, the coordinator's own failure detector (Health), and the Target a
// request goes to.
//
// # Invariants
//
//   - serf and memberlist types stop in serf.go, keyring*.go and faults.go;
//     the rest of the server sees Member, MemberStatus and the Keyring's
//     fingerprints only.
//   - A gossip key never leaves its keyring file and serf: the Keyring
//     reports keys by fingerprint, and no error or log line quotes one.
//   - A View is never modified once published; a membership change builds
//     a new one. Its ring changes only when the set of members on the ring
//     does (a join, a leave, a removal), never on a status flap, so a
//     transient failure moves no data.
//   - Peer cool-downs are measured on a monotonic clock: a wall clock
//     stepped backwards must not stretch them.
//
// It knows nothing of keys' data, stores or the internode protocol.
package membership
