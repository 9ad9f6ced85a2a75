// Package clusterstatus is the JSON documents of GET /cluster/status (the
// cluster's view and each node's own report) and of a handoff in progress:
// the server (package node) answers with them and the SDK (package client)
// decodes them, so that the two cannot drift apart.
//
// It holds types only: no behaviour, no I/O, and nothing of the server's
// internals. A field added here is part of the client API (docs/API.md,
// docs/openapi.json); renaming or removing one breaks clients.
package clusterstatus

import "time"

// NodeStatus is one node's own report (GET /cluster/status?scope=local),
// each member's part of ClusterStatus. It is the stable way to read a node's
// progress: metric names are not an API.
type NodeStatus struct {
	// Node is the node's ID; Actor the replica ID its writes' dots carry.
	Node  string `json:"node"`
	Actor string `json:"actor"`
	// Incarnation is when this run of the node started (Unix ms), as its
	// gossip tag announces it: it grows with every restart.
	Incarnation int64 `json:"incarnation"`
	// Draining is set while the node shuts down; Leaving once it was asked
	// to leave and hands everything off.
	Draining bool `json:"draining"`
	Leaving  bool `json:"leaving"`
	// Partitions and N are the ring's.
	Partitions int `json:"partitions"`
	N          int `json:"n"`
	// Leads counts the partitions this node is first in the preference
	// list of, Replicas those it replicates for some bucket (its rank in
	// the partition's walk is below the highest bucket N), both in the
	// node's own view of the ring.
	Leads    int `json:"leads"`
	Replicas int `json:"replicas"`
	// Hints are the hints this node keeps for other replicas, by target.
	Hints map[string]HintStatus `json:"hints"`
	// Handoffs are the partitions it is handing off now (as Handoffs).
	Handoffs []Handoff `json:"handoffs"`
	// HandoffKeys counts the keys it has handed to new replicas since start.
	HandoffKeys int64 `json:"handoff_keys"`
	// AntiEntropy is its anti-entropy progress since start.
	AntiEntropy AntiEntropyStatus `json:"antientropy"`
	// TombstonesReaped and ReadRepairs are counts since start.
	TombstonesReaped int64 `json:"tombstones_reaped"`
	ReadRepairs      int64 `json:"read_repairs"`
	// Disk is the store's size on disk.
	Disk DiskStatus `json:"disk"`
	// Ops is the client operations it served.
	Ops OpsStatus `json:"ops"`
}

// OpsStatus is the reads, writes and deletes of keys a node served.
type OpsStatus struct {
	// Counts are by operation (get, put, delete) since start, whatever
	// their answer; Total sums them.
	Counts map[string]int64 `json:"counts"`
	Total  int64            `json:"total"`
	// WindowSeconds is the recent span (the last 30 to 35 s, or the time
	// since start when shorter) that PerSecond and
	// P99Millis cover. P99Millis is the upper bound of the latency bucket
	// of the 99th percentile (at most twice the true value), 0 when the
	// window saw no operation.
	WindowSeconds float64 `json:"window_seconds"`
	PerSecond     float64 `json:"per_second"`
	P99Millis     float64 `json:"p99_ms"`
}

// HintStatus is the hints a node keeps for one target.
type HintStatus struct {
	// Pending counts the hints not delivered yet.
	Pending int `json:"pending"`
	// Delivered counts those delivered to the target since start,
	// Redirected those handed to another replica after the hint window.
	Delivered  uint64 `json:"delivered"`
	Redirected uint64 `json:"redirected"`
}

// AntiEntropyStatus is a node's anti-entropy progress since start.
type AntiEntropyStatus struct {
	// TreesReady counts the partitions whose Merkle trees (one per bucket
	// N) are all built.
	TreesReady int `json:"trees_ready"`
	// Exchanges counts the exchanges with other replicas by result:
	// in_sync, repaired, failed.
	Exchanges map[string]int64 `json:"exchanges"`
	// KeysRepaired counts the keys exchanges repaired, BytesSent the
	// bytes they sent.
	KeysRepaired int64 `json:"keys_repaired"`
	// KeyFailures counts the keys exchanges could not repair (they
	// repaired the rest of the partition and counted as failed).
	KeyFailures int64 `json:"key_failures"`
	BytesSent   int64 `json:"bytes_sent"`
	// LastExchange is when the last exchange ended, whatever its result;
	// nil before the first.
	LastExchange *time.Time `json:"last_exchange,omitempty"`
}

// DiskStatus is a node's store on disk and the free space of its file
// system.
type DiskStatus struct {
	// StoreBytes is the LSM tree and the value log together.
	StoreBytes int64 `json:"store_bytes"`
	// FreeBytes is the free space; FloorBytes the floor below which the
	// node refuses writes (507 insufficient_storage), which BelowFloor
	// says it is doing.
	FreeBytes  int64 `json:"free_bytes"`
	FloorBytes int64 `json:"floor_bytes"`
	BelowFloor bool  `json:"below_floor"`
	// Error is why the free space is unknown.
	Error string `json:"error,omitempty"`
}

// ClusterStatus is the whole cluster as one node sees it (GET
// /cluster/status): what `dynkv status` and the dashboard (/ui) show.
type ClusterStatus struct {
	// Node is the node that answered, Time when.
	Node    string         `json:"node"`
	Time    time.Time      `json:"time"`
	Ring    RingSummary    `json:"ring"`
	Members []MemberStatus `json:"members"`
	// HintsPending are the hints kept for each target, by holder, from
	// the members that answered.
	HintsPending []HintsPending `json:"hints_pending"`
	// Handoffs are the partitions being handed off, from every member
	// that answered; HandoffTotal sums them.
	Handoffs     []Handoff    `json:"handoffs"`
	HandoffTotal HandoffTotal `json:"handoff_total"`
}

// RingSummary is the ring's shape and each partition's primary owner (the
// first of its preference list), indexed by partition.
type RingSummary struct {
	Partitions int      `json:"partitions"`
	N          int      `json:"n"`
	Owners     []string `json:"owners"`
}

// MemberStatus is one member: gossip's view of it, its part of the ring,
// and its own report when it answered the node that gathered the status.
type MemberStatus struct {
	ID            string `json:"id"`
	HTTPAddr      string `json:"http_addr"`
	InternodeAddr string `json:"internode_addr,omitempty"`
	GossipAddr    string `json:"gossip_addr,omitempty"`
	// Status is alive, suspect, failed, leaving or left.
	Status      string            `json:"status"`
	Incarnation int64             `json:"incarnation"`
	Tags        map[string]string `json:"tags,omitempty"`
	// Leads counts the partitions the member is first in the preference
	// list of, Replicas those it replicates; Share is Leads over the
	// partitions.
	Leads    int     `json:"leads"`
	Replicas int     `json:"replicas"`
	Share    float64 `json:"share"`
	// Reachable: it answered, with Report. Error says why not; it is
	// empty for a member that has left, which is not asked.
	Reachable bool        `json:"reachable"`
	Error     string      `json:"error,omitempty"`
	Report    *NodeStatus `json:"report,omitempty"`
}

// HintsPending is the hints waiting for one target, by the member that
// holds them.
type HintsPending struct {
	Target  string           `json:"target"`
	Pending int64            `json:"pending"`
	HeldBy  map[string]int64 `json:"held_by"`
}

// HandoffTotal is the overall progress of the handoffs in progress.
type HandoffTotal struct {
	Partitions int `json:"partitions"`
	KeysDone   int `json:"keys_done"`
	KeysLeft   int `json:"keys_left"`
	// Percent is of the keys, 100 with no handoff in progress.
	Percent float64 `json:"percent"`
}

// Handoff is one partition a node is handing off to the partition's new
// replicas.
type Handoff struct {
	Partition int      `json:"partition"`
	From      string   `json:"from"`
	To        []string `json:"to"`
	// KeysDone counts the keys of this pass already handed off, KeysLeft
	// those still to go.
	KeysDone int `json:"keys_done"`
	KeysLeft int `json:"keys_left"`
	// KeysQuarantined counts records found undecodable on the way, set
	// aside instead of sent (the other replicas hold the key).
	KeysQuarantined int `json:"keys_quarantined,omitempty"`
	// Error is why the last pass stopped short (a new replica is down,
	// say); the node retries.
	Error string `json:"error,omitempty"`
}
