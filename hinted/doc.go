// Package hinted is hinted handoff: the durable queue of writes a node holds
// for a replica that was down when they were made, and their delivery once
// that replica is back, or their redirection to another replica if it stays
// down for too long.
//
// When a key's preference-list node is unreachable, the write coordinator
// sends the write's sibling set to a fallback node with a hint naming the
// node it stands in for (the target). The fallback stores it with Add,
// acknowledges, answers reads for the target from it (Get), and delivers it
// later (Deliver, RunOnce).
//
// # What it owns
//
//   - The hint records, in a keyspace of the node's one store (KV), and
//     their on-disk layout.
//   - Coalescing: one record per (target, key), merged with the caller's
//     MergeFunc.
//   - Delivery: ordering, throttling (one rate limit shared by every
//     target, a bound on targets delivered to at once), deletion after
//     acknowledgement, and redirection of the hints of a target down for
//     longer than Config.Window.
//   - Per-target statistics (Stats) for the node's metrics.
//
// # What it must not know
//
// HTTP, the internode transport, serf or any membership view, the ring,
// vector clocks and the sibling encoding. Values are opaque bytes; merging
// them is MergeFunc; sending is SendFunc; whether a target is up is the
// alive callback; time is the injected now (creation times), Config.Monotonic
// (how long a target has been down) and Config.Sleep, so tests drive it
// without sleeping.
//
// # Invariants
//
//   - Durable before acknowledged: Add returns nil only after the record is
//     committed to the store, as durable as a data write (store's
//     Durability: survives kill -9; power loss needs SyncWrites).
//   - Delete after ack: a hint is deleted only after a SendFunc (send to
//     the target, or redirect to another replica) returned nil for it, or
//     an error wrapping ErrRejected (it will never be taken). A send that
//     fails, times out or is cancelled keeps it. Nothing is deleted for its
//     age.
//   - Compare-and-delete: the deletion is an Update that removes the record
//     only if its stored bytes are exactly those that were sent. A write
//     coalesced into the hint while it was in flight changes the bytes, so
//     the hint stays (with the merged value) for the next delivery; nothing
//     acknowledged to a client is lost between read and delete.
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
//     panic: Get reports them (ErrCorrupt); Open and Deliver (so RunOnce,
//     redirecting or not) delete them, log them and count them
//     (TargetStats.Corrupt); Add replaces one.
//   - No scan stays open across I/O: records are read a page at a time
//     (ScanFrom), because an open badger iterator pins memtables, tables and
//     value-log files.
//
// # Window, redirection and anti-entropy
//
// A hint can be the only copy of an acknowledged write: when W was met by
// fallbacks alone, no replica of the key has it. So the queue never drops a
// hint because it is old. Instead, a target that RunOnce has found down (alive
// false) at every pass for Config.Window, with hints pending, has them
// redirected: the caller's redirect SendFunc merges each into another
// replica of its key, and the hint is deleted only once that succeeded.
// From there anti-entropy, which compares whole partitions, brings the
// target up to date when it returns, and does so more cheaply than a
// backlog of hints would, at its own throttle. The window is measured on
// Config.Monotonic from the first pass that found the target down, and the
// start is kept in memory only: a restart, a recovery or a drained queue
// makes it count afresh, so redirection can come later than Window after
// the outage began, never earlier. The wall-clock creation time stored
// with each record decides nothing. Only undecodable and rejected hints are
// dropped: neither could ever be delivered.
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
// All methods are safe for concurrent use. Add and Deliver's deletes are
// per-key read-modify-writes serialized by the store; a delivery and a
// redirect of the same target never overlap (ErrBusy); sends run without any
// lock held, so a SendFunc may call Add (a coalesced write during delivery)
// or Get.
package hinted
