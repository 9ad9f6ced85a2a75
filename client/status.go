package client

import (
	"context"

	"github.com/dynkv/dynkv/clusterstatus"
)

// The status documents are package clusterstatus's, which the server
// answers with: the SDK cannot drift from them.
type (
	// NodeStatus is one node's own report (GET /cluster/status?scope=local),
	// each member's part of ClusterStatus: the stable way to read a
	// node's progress (metric names are not an API).
	NodeStatus = clusterstatus.NodeStatus
	// OpsStatus is the reads, writes and deletes of keys a node served.
	OpsStatus = clusterstatus.OpsStatus
	// HintStatus is the hints a node keeps for one target.
	HintStatus = clusterstatus.HintStatus
	// AntiEntropyStatus is a node's anti-entropy progress since start.
	AntiEntropyStatus = clusterstatus.AntiEntropyStatus
	// DiskStatus is a node's store on disk and its file system's free space.
	DiskStatus = clusterstatus.DiskStatus
	// ClusterStatus is the whole cluster as one node sees it (GET
	// /cluster/status): what `dynkv status` and the dashboard show.
	ClusterStatus = clusterstatus.ClusterStatus
	// RingSummary is the ring's shape and each partition's owner.
	RingSummary = clusterstatus.RingSummary
	// MemberStatus is one member and, when it answered, its report.
	MemberStatus = clusterstatus.MemberStatus
	// HintsPending is the hints waiting for one target, by holder.
	HintsPending = clusterstatus.HintsPending
	// HandoffTotal is the overall progress of the handoffs in progress.
	HandoffTotal = clusterstatus.HandoffTotal
)

// NodeStatus returns member m's own report (GET /cluster/status?scope=local
// at its HTTP address). Like Metrics it asks m alone: a member that cannot
// be reached fails with ErrUnavailable. Status has every member's at once.
func (c *Client) NodeStatus(ctx context.Context, m Member) (NodeStatus, error) {
	var st NodeStatus
	ep, err := c.memberEndpoint(m)
	if err == nil {
		err = c.getJSONAt(ctx, ep, "/cluster/status", "scope=local", &st)
	}
	if err != nil {
		return NodeStatus{}, nodeError("status", m.ID, err)
	}
	fillEmpty(&st)
	return st, nil
}

// fillEmpty makes the report's nil maps and lists empty, so callers may
// range and index without checking (as Handoffs does).
func fillEmpty(st *NodeStatus) {
	if st.Hints == nil {
		st.Hints = map[string]HintStatus{}
	}
	if st.Handoffs == nil {
		st.Handoffs = []Handoff{}
	}
	if st.AntiEntropy.Exchanges == nil {
		st.AntiEntropy.Exchanges = map[string]int64{}
	}
	if st.Ops.Counts == nil {
		st.Ops.Counts = map[string]int64{}
	}
}

// Status returns the cluster's status from the first node that answers:
// it asks every member for its report, so one request shows them all; a
// member it could not reach is shown with Reachable false and the Error.
func (c *Client) Status(ctx context.Context) (*ClusterStatus, error) {
	var st ClusterStatus
	if err := c.getJSON(ctx, "status", "/cluster/status", "", &st); err != nil {
		return nil, err
	}
	for i := range st.Members {
		if r := st.Members[i].Report; r != nil {
			fillEmpty(r)
		}
	}
	if st.Handoffs == nil {
		st.Handoffs = []Handoff{}
	}
	if st.HintsPending == nil {
		st.HintsPending = []HintsPending{}
	}
	return &st, nil
}
