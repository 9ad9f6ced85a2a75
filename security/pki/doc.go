// Package pki owns dynkv's transport identity: the cluster CA, the node and
// client certificates on disk, and the TLS configurations for the internode
// listener and the client API, which reload on demand (on SIGHUP) without a
// restart.
//
// A certs directory holds the files named by the CAFile, NodeCertFile, ...
// constants: ca.crt and ca.key (the self-signed cluster CA), node.crt and
// node.key (one node's certificate, usable as both TLS server and client
// because peers dial each other with it), and client.<name>.crt and
// client.<name>.key (certificates for SDK and CLI clients).
//
// Invariants:
//
//   - A node certificate carries the URI SAN dynkv://node/<id>, and that URI
//     is the only name identity checks use. Host names and IP addresses in
//     the certificate are there for tools that check them (curl, browsers);
//     dynkv itself never trusts a peer because of its host name, since
//     nodes move between addresses and a node's id is what the ring knows.
//   - Private keys are written 0600, certificates 0644, directories this
//     package creates 0700; every file is written atomically (temporary file
//     in the same directory, fsync, rename) and an existing file is replaced
//     only when the caller asks.
//   - Nothing here logs, and no error carries key material: errors name
//     files and say what is wrong with them, never what they contain.
//
// What this package must not know: anything about package node, the ring,
// or HTTP handlers. It hands out *tls.Config values and reads node ids from
// certificates; deciding what a node id may do is its callers' business.
package pki
