// Package auth owns dynkv's client bearer tokens: their format, the tokens
// file that holds them hashed at rest, the roles they carry, and the check
// a client request passes before the server routes it.
//
// # Tokens and the tokens file
//
// A token is "dkv_" followed by the unpadded base64url form of 32 bytes
// from crypto/rand (NewToken). The tokens file is UTF-8 text, one entry a
// line:
//
//	<name> <role> sha256:<64 lowercase hex digits>
//
// Blank lines and lines starting with '#' are ignored. Names match
// ^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$, are unique and may not start with
// "dkv_" (a token pasted where a name belongs would be stored and listed in
// the clear). No two entries share a hash, so a token names one principal.
// The file is at most MaxFileSize bytes, and CreateToken and RevokeToken
// write it atomically (temporary file in the same directory, fsync,
// rename) with mode 0600. Two of them running at once on one file are not
// serialised: the last rename wins.
//
// The hash is a plain SHA-256: the secret is 256 random bits, so there is
// nothing for a slow password hash to protect against, and a request's
// check stays cheap.
//
// # Roles
//
// RoleRead < RoleWrite < RoleAdmin; a role includes every lower one.
// Required maps a request to the role it needs. The table follows the
// server's routes (node/api.go, node/api_cluster.go, docs/API.md); HEAD is
// treated as GET everywhere:
//
//	no token  GET/HEAD /livez, /readyz, /healthz, /version; /metrics when
//	          MetricsOpen; the dashboard's page and assets, which hold no
//	          cluster data: /, /ui, /ui/, /ui/assets/...
//	read      GET/HEAD /kv/{key} and /buckets/{bucket}/kv/{key}, /buckets,
//	          /buckets/{bucket}/props, /cluster/members, /cluster/ring,
//	          /cluster/status, /cluster/handoffs, /metrics (when not open),
//	          /openapi.json, and any other GET/HEAD not listed under admin
//	write     PUT, POST, DELETE /kv/{key} and /buckets/{bucket}/kv/{key}
//	admin     PUT /buckets/{bucket}/props (a bucket's props are the
//	          cluster's configuration); any method on /cluster/leave,
//	          /cluster/remove/{node}, /admin/... (GET /admin/local/{key},
//	          /admin/set/{key}?bucket=...), the dashboard's data
//	          /ui/status and the rest of /ui/..., /internal/...
//	          (the HTTP fallback of the internode protocol), and any other
//	          method not listed above
//
// Paths are matched as the server's router sees them: the original,
// un-normalised path with the query cut off. Callers must pass that same
// path, or "/kv/../cluster/leave" could be judged by one rule and routed
// by another.
//
// # Invariants
//
//   - A token's secret is never stored, logged or put in an error: only
//     its SHA-256 is kept, and parse errors name line numbers, never the
//     hash or the text of a bad field.
//   - Lookup compares the token's hash with every entry in constant time
//     and never stops early, so the time it takes depends only on how many
//     entries there are, not on which (if any) matched.
//   - A Reload that fails keeps the previous tokens: a half-edited file
//     does not lock every client out, nor let anyone in.
//   - The package knows no HTTP framework: Check takes the method, path
//     and Authorization header as strings, and the server maps an *Error
//     to its response.
package auth
