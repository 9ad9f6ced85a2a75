// Package hinted is hinted handoff: the durable queue of writes a node holds
// for a replica that was down when they were made, and their delivery once
// that replica is back.
//
// When a key's preference-list node is unreachable, the write coordinator
// sends the write's sibling set to a fallback node with a hint naming the
// node it stands in for (the target). The fallback stores it with Add,
// acknowledges, answers reads for the target from it (Get), and delivers it
// later (Deliver, RunOnce, Run).
//
// # What it owns
//
//   - The hint records, in a keyspace of the node's one store (KV), and
//     their on-disk layout.
//   - Coalescing: one record per (target, key), merged with the caller's
//     MergeFunc.
//   - Delivery: ordering, throttling (one rate limit shared by every
//     target, a bound on targets delivered to at once), deletion after
//     acknowledgement, expiry.
//   - Per-target statistics (Stats) for the node's metrics.
//
// # What it must not know
//
// HTTP, the internode transport, serf or any membership view, the ring,
// vector clocks and the sibling encoding. Values are opaque bytes; merging
// them is MergeFunc; sending is SendFunc; whether a target is up is the
// alive callback; time is the injected now (and Config.Sleep), so tests
// drive it without sleeping.
//
// # Invariants
//
//   - Durable before acknowledged: Add returns nil only after the record is
//     committed to the store, as durable as a data write (store's
//     Durability: survives kill -9; power loss needs SyncWrites).
//   - Delete after ack: a hint is deleted only after SendFunc returned nil
//     for it, or an error wrapping ErrRejected (the target will never take
//     it). A send that fails, times out or is cancelled keeps it.
//   - Compare-and-delete: the deletion is an Update that removes the record
//     only if its stored bytes are exactly those that were sent. A write
//     coalesced into the hint while it was in flight changes the bytes, so
//     the hint stays (with the merged value) for the next delivery; nothing
//     acknowledged to a client is lost between read and delete. Expiry is
//     conditional the same way: it re-checks the stored record's age.
//   - Coalescing: hints for the same (target, key) are one record, the
//     MergeFunc of all of them, so a storm of writes to one key is one
//     delivery. The merge must be commutative, associative and idempotent
//     (a causal merge is), which also makes a repeated delivery harmless:
//     if a crash falls between a target's ack and the delete, the hint is
//     sent again and the target's merge absorbs it.
//   - One delivery per target at a time (ErrBusy otherwise), so in normal
//     operation each stored version of a hint is sent exactly once.
//   - Pending counts are exact: Open counts the records, and every later
//     change to the count follows a committed Update that created or deleted
//     one.
//   - Corrupt records (undecodable key, short header, unknown version) never
//     panic: Get reports them (ErrCorrupt); Open, Deliver and Expire delete
//     them, log them and count them (TargetStats.Corrupt); Add replaces one.
//   - No scan stays open across I/O: records are read a page at a time
//     (ScanFrom), because an open badger iterator pins memtables, tables and
//     value-log files.
//
// # Window versus anti-entropy
//
// A hint expires Config.Window after the first write to its (target, key)
// was stored; coalescing does not extend it, or a hot key's hint would never
// expire. At that point the target has been unreachable for at least Window
// (or has failed to take its hints for that long), and anti-entropy, which
// compares whole partitions, repairs it more cheaply than a backlog of
// hints would, at its own throttle. Expired hints are invisible at once
// (Get reports none, Deliver drops instead of sending, Add starts a new
// hint); Expire reclaims their space, scanning a target only when its
// oldest hint may have expired and at most once per Window/16. Hints are a
// latency optimisation for convergence; anti-entropy is the guarantee, so
// dropping a hint (expired, corrupt or rejected) never loses an
// acknowledged write as long as the W replicas that acknowledged it
// survive.
//
// # Layout
//
// In the keyspace the caller gives it:
//
//	key:   len(target) uint16 big-endian | target | user key
//	value: version (1) | created-at int64 unix ms big-endian | value
//
// The length prefix makes keys unambiguous and gives every target its own
// prefix, so one target's hints are one prefix scan in key order. Changing
// the layout requires a new version byte; records of an unknown version are
// treated as corrupt.
//
// # Concurrency
//
// All methods are safe for concurrent use. Add, Deliver's deletes and
// Expire's deletes are per-key read-modify-writes serialized by the store;
// Expire runs one at a time; sends run without any lock held, so SendFunc
// may call Add (a coalesced write during delivery) or Get.
package hinted
