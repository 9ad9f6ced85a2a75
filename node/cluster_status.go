package node

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dynkv/dynkv/clusterstatus"

	"github.com/valyala/fasthttp"

	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/node/membership"
)

// GET /cluster/status's documents (package clusterstatus).
type (
	ClusterStatus = clusterstatus.ClusterStatus
	RingSummary   = clusterstatus.RingSummary
	MemberStatus  = clusterstatus.MemberStatus
	HintsPending  = clusterstatus.HintsPending
	HandoffTotal  = clusterstatus.HandoffTotal
)

// The cluster's status, GET /cluster/status: one request shows the whole
// cluster, because a browser can reach only the node that served /ui. The
// node that answers lists the members and the ring as it sees them and
// asks every member that has not left for its own report (wire.OpStatus,
// over the authenticated internode transport), in parallel and within
// statusPeerTimeout: a member that does not answer in time is shown as
// unreachable, with why, and holds up nothing else.

// statusPeerTimeout bounds the wait for each member's report: a dashboard
// polls every few seconds, and one dead member must not stall it.
const statusPeerTimeout = time.Second

// ClusterStatus gathers the cluster's status; ctx bounds the whole.
func (n *Node) ClusterStatus(ctx context.Context) ClusterStatus {
	v := n.cluster.View()
	cfg := v.Ring.Config()
	st := ClusterStatus{
		Node: n.cfg.NodeID, Time: n.cfg.Clock().UTC(),
		Ring:    RingSummary{Partitions: cfg.Partitions, N: cfg.N, Owners: make([]string, cfg.Partitions)},
		Members: make([]MemberStatus, 0, len(v.List)), Handoffs: []HandoffStatus{}, HintsPending: []HintsPending{},
	}
	lead, replica := map[string]int{}, map[string]int{}
	maxN := n.bucketTable().MaxN() // a member replicates p for some bucket
	for p := range cfg.Partitions {
		st.Ring.Owners[p] = v.Ring.Owner(p)
		lead[st.Ring.Owners[p]]++
		for _, id := range v.Ring.PreferenceListN(p, maxN) {
			replica[id]++
		}
	}
	for _, m := range membersForDisplay(v.List) {
		ms := MemberStatus{
			ID: m.ID, HTTPAddr: m.HTTPAddr, InternodeAddr: m.InternodeAddr, GossipAddr: m.GossipAddr,
			Status: string(m.Status), Incarnation: m.Incarnation(), Tags: m.Tags,
			Leads: lead[m.ID], Replicas: replica[m.ID],
		}
		if cfg.Partitions > 0 {
			ms.Share = math.Round(10000*float64(ms.Leads)/float64(cfg.Partitions)) / 10000
		}
		st.Members = append(st.Members, ms)
	}
	n.gatherReports(ctx, v, st.Members)
	collectReports(&st)
	return st
}

// gatherReports fills in each member's report, asking them in parallel.
func (n *Node) gatherReports(ctx context.Context, v *membership.View, members []MemberStatus) {
	ctx, cancel := context.WithTimeout(ctx, statusPeerTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for i := range members {
		s := &members[i]
		if s.Status == string(membership.StatusLeft) {
			continue
		}
		if s.ID == n.cfg.NodeID {
			own := n.Status()
			s.Report, s.Reachable = &own, true
			continue
		}
		wg.Go(func() {
			report, err := n.memberReport(ctx, v.Member(s.ID))
			if err != nil {
				s.Error = err.Error()
				return
			}
			s.Report, s.Reachable = report, true
		})
	}
	wg.Wait()
}

// memberReport asks m for its own report.
func (n *Node) memberReport(ctx context.Context, m membership.Member) (*NodeStatus, error) {
	doc, err := n.peers.Status(ctx, m)
	var re *wire.RemoteError
	switch {
	case errors.As(err, &re):
		return nil, fmt.Errorf("refused: %s", re.Message)
	case errors.Is(err, context.DeadlineExceeded):
		return nil, fmt.Errorf("no answer within %s", statusPeerTimeout)
	case err != nil:
		return nil, err // it says the peer is unreachable, and why
	}
	var report NodeStatus
	if err := json.Unmarshal(doc, &report); err != nil {
		return nil, fmt.Errorf("unreadable report: %w", err)
	}
	if report.Node != m.ID {
		return nil, fmt.Errorf("answered as %q", report.Node)
	}
	return &report, nil
}

// collectReports sums the members' reports: hints by target, handoffs.
func collectReports(st *ClusterStatus) {
	hints := map[string]*HintsPending{}
	for _, m := range st.Members {
		if m.Report == nil {
			continue
		}
		st.Handoffs = append(st.Handoffs, m.Report.Handoffs...)
		for target, h := range m.Report.Hints {
			if h.Pending == 0 {
				continue
			}
			hp := hints[target]
			if hp == nil {
				hp = &HintsPending{Target: target, HeldBy: map[string]int64{}}
				hints[target] = hp
			}
			hp.Pending += int64(h.Pending)
			hp.HeldBy[m.ID] += int64(h.Pending)
		}
	}
	for _, hp := range hints {
		st.HintsPending = append(st.HintsPending, *hp)
	}
	slices.SortFunc(st.HintsPending, func(a, b HintsPending) int { return strings.Compare(a.Target, b.Target) })
	slices.SortFunc(st.Handoffs, func(a, b HandoffStatus) int {
		return cmp.Or(strings.Compare(a.From, b.From), cmp.Compare(a.Partition, b.Partition))
	})
	st.HandoffTotal = HandoffTotal{Partitions: len(st.Handoffs), Percent: 100}
	for _, h := range st.Handoffs {
		st.HandoffTotal.KeysDone += h.KeysDone
		st.HandoffTotal.KeysLeft += h.KeysLeft
	}
	if all := st.HandoffTotal.KeysDone + st.HandoffTotal.KeysLeft; all > 0 {
		st.HandoffTotal.Percent = math.Round(1000*float64(st.HandoffTotal.KeysDone)/float64(all)) / 10
	}
}

// serveStatus answers GET /cluster/status: the cluster's status, or with
// ?scope=local this node's own report.
func (n *Node) serveStatus(rc *fasthttp.RequestCtx) {
	switch scope := string(rc.QueryArgs().Peek("scope")); scope {
	case "", "cluster":
		writeJSON(rc, http.StatusOK, n.ClusterStatus(context.Background()))
	case "local":
		writeJSON(rc, http.StatusOK, n.Status())
	default:
		writeError(rc, badRequest("bad_scope", "scope=%q: want cluster (the default) or local", scope))
	}
}

// handleStatus answers a peer's wire.OpStatus with this node's report.
func (n *Node) handleStatus(body []byte) ([]byte, error) {
	if _, err := wire.DecodeStatusRequest(body); err != nil {
		return nil, err
	}
	doc, err := json.Marshal(n.Status())
	if err != nil {
		return nil, fmt.Errorf("encode the status report: %w", err)
	}
	return wire.StatusResponse{JSON: doc}.Encode(), nil
}
