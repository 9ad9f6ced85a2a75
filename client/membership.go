package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/dynkv/dynkv/clusterstatus"
)

// Handoff is one partition a node is handing off to the partition's new
// replicas (package clusterstatus's document).
type Handoff = clusterstatus.Handoff

// Membership changes (Leave, Remove) and the views of one node at a time
// (Handoffs, NodeStatus, Metrics). Leave, Handoffs, NodeStatus and Metrics
// are aimed at a given node, found at the HTTP address the member list
// gives, and never fail over to another: asking some other node to leave,
// or reading its counters instead, would be wrong. They make one attempt; the caller's
// context and WithAttemptTimeout bound it.

// Member statuses, as Member.Status reports them.
const (
	StatusAlive   = "alive"
	StatusSuspect = "suspect"
	StatusFailed  = "failed"
	StatusLeaving = "leaving"
	StatusLeft    = "left"
)

// The member tag a node sets while it hands its data off before leaving
// (membership.TagState and membership.StateLeaving on the server).
const (
	tagState     = "dynkv-state"
	stateLeaving = "leaving"
)

// Leaving reports whether the member has announced that it is leaving: it
// is off the ring and hands its data off, then leaves the cluster.
func (m Member) Leaving() bool {
	return m.Status == StatusLeaving || m.Status != StatusLeft && m.Tags[tagState] == stateLeaving
}

// Left reports whether the member has left the cluster for good (it left,
// or was removed).
func (m Member) Left() bool { return m.Status == StatusLeft }

// NodeHandoffs is one node's answer to Handoffs.
type NodeHandoffs struct {
	Node string `json:"node"`
	// Leaving is set once the node was asked to leave: it hands off
	// everything it holds.
	Leaving  bool      `json:"leaving"`
	Handoffs []Handoff `json:"handoffs"`
	// Err is why the node could not be asked (it is down, say); the other
	// fields but Node are then empty.
	Err error `json:"-"`
}

// Leave makes node leave the cluster for good. The node announces that it
// is leaving (every ring drops it, so its partitions get new owners),
// hands all its data and hints off to them, and then leaves gossip. Leave
// returns as soon as the node has accepted, with the ID of the node that
// is leaving; follow the handoff with Handoffs, and Members, where the
// node's status becomes "left" at the end.
//
// The request goes to node itself; node == "" means the node at the
// client's first endpoint — always that one, never one a failover moved
// the client to, so which node leaves does not depend on which nodes were
// answering. A node that cannot be reached fails with ErrUnavailable: a
// node that is down cannot hand its data off (Remove it instead). A node the
// cluster does not know fails with ErrUnknownNode, one that has already
// left with ErrAlreadyLeft. Asking a node that is leaving again is
// harmless.
func (c *Client) Leave(ctx context.Context, node string) (string, error) {
	fail := func(err error) (string, error) { return "", nodeError("leave", node, err) }
	var ep *endpoint
	if node == "" {
		ep = c.endpoints[0]
		var health struct {
			Node string `json:"node"`
		}
		if err := c.getJSONAt(ctx, ep, "/healthz", "", &health); err != nil {
			return fail(err)
		}
		if health.Node == "" {
			return fail(fmt.Errorf("%s did not say which node it is", ep.url))
		}
		node = health.Node
	}
	m, err := c.member(ctx, node)
	if err != nil {
		return fail(err)
	}
	if m.Left() {
		return fail(ErrAlreadyLeft)
	}
	if ep == nil {
		if ep, err = c.memberEndpoint(m); err != nil {
			return fail(err)
		}
	}
	resp, err := c.doAt(ctx, ep, &request{method: http.MethodPost, path: "/cluster/leave", body: []byte{}, accept: "application/json", write: true})
	defer resp.release()
	if err != nil {
		return fail(err)
	}
	var body struct {
		Node string `json:"node"`
	}
	if err := json.Unmarshal(resp.body.Bytes(), &body); err != nil {
		return fail(fmt.Errorf("decode answer from %s: %w", ep.url, err))
	}
	if body.Node != node {
		// The member list pointed at another node, which is now leaving.
		return body.Node, nodeError("leave", node, fmt.Errorf("%s answered at %s, the address of %s, and is leaving instead", body.Node, ep.url, node))
	}
	return node, nil
}

// Remove declares node, which must be down, gone for good: it leaves the
// ring, and the survivors re-replicate its partitions by anti-entropy. The
// request goes to any endpoint that answers (a node cannot remove itself).
// A member that is alive fails with ErrCannotRemove (make it Leave
// instead, or stop it first), a node the cluster does not know with
// ErrUnknownNode, and one that has already left (or was removed) with
// ErrAlreadyLeft.
func (c *Client) Remove(ctx context.Context, node string) error {
	if node == "" {
		return nodeError("remove", node, fmt.Errorf("%w: name the node to remove", ErrBadRequest))
	}
	// The server accepts removing a node that has already left; saying so
	// is more useful.
	ms, err := c.fetchMembers(ctx)
	if err != nil {
		return nodeError("remove", node, err)
	}
	if i := slices.IndexFunc(ms, func(m Member) bool { return m.ID == node }); i >= 0 && ms[i].Left() {
		return nodeError("remove", node, ErrAlreadyLeft)
	}
	// Removing is idempotent, so any failure may be retried elsewhere.
	resp, err := c.do(ctx, &request{method: http.MethodPost, path: "/cluster/remove/" + url.PathEscape(node), body: []byte{}, accept: "application/json"})
	defer resp.release()
	if err != nil {
		return nodeError("remove", node, err)
	}
	return nil
}

// Handoffs asks every member that has not left which partitions it is
// handing off, in parallel, and returns the answers by node ID. A member
// that cannot be asked is listed with its Err set; the error is for a
// member list that cannot be had.
func (c *Client) Handoffs(ctx context.Context) ([]NodeHandoffs, error) {
	ms, err := c.fetchMembers(ctx)
	if err != nil {
		return nil, opError("handoffs", "", err)
	}
	ms = slices.DeleteFunc(ms, Member.Left)
	out := make([]NodeHandoffs, len(ms))
	c.eachMember(ms, func(i int, m Member) {
		out[i].Node = m.ID
		ep, err := c.memberEndpoint(m)
		if err == nil {
			err = c.getJSONAt(ctx, ep, "/cluster/handoffs", "", &out[i])
		}
		if err != nil {
			out[i] = NodeHandoffs{Node: m.ID, Err: nodeError("handoffs", m.ID, err)}
			return
		}
		if out[i].Handoffs == nil {
			out[i].Handoffs = []Handoff{}
		}
	})
	slices.SortFunc(out, func(a, b NodeHandoffs) int { return strings.Compare(a.Node, b.Node) })
	return out, nil
}

// Metrics returns member m's metrics (GET /metrics at its HTTP address) in
// the Prometheus text format, for github.com/prometheus/common/expfmt's
// TextParser. docs/API.md lists dynkv's series. Metric names are for
// dashboards and may change; read a node's progress with NodeStatus.
func (c *Client) Metrics(ctx context.Context, m Member) ([]byte, error) {
	ep, err := c.memberEndpoint(m)
	if err != nil {
		return nil, nodeError("metrics", m.ID, err)
	}
	resp, err := c.doAt(ctx, ep, &request{method: http.MethodGet, path: "/metrics", accept: "text/plain"})
	defer resp.release()
	if err != nil {
		return nil, nodeError("metrics", m.ID, err)
	}
	return bytes.Clone(resp.body.Bytes()), nil
}

// member looks id up in the member list.
func (c *Client) member(ctx context.Context, id string) (Member, error) {
	ms, err := c.fetchMembers(ctx)
	if err != nil {
		return Member{}, err
	}
	ids := make([]string, len(ms))
	for i, m := range ms {
		if m.ID == id {
			return m, nil
		}
		ids[i] = m.ID
	}
	slices.Sort(ids)
	return Member{}, fmt.Errorf("%w: %s is not a member (members: %s)", ErrUnknownNode, id, strings.Join(ids, " "))
}

// fetchMembers is Members without the operation's name on its errors.
func (c *Client) fetchMembers(ctx context.Context) ([]Member, error) {
	resp, err := c.do(ctx, &request{method: http.MethodGet, path: "/cluster/members", accept: "application/json"})
	defer resp.release()
	if err != nil {
		return nil, err
	}
	var ms []Member
	if err := json.Unmarshal(resp.body.Bytes(), &ms); err != nil {
		return nil, fmt.Errorf("decode answer from %s: %w", resp.endpoint, err)
	}
	return ms, nil
}

// memberEndpoint is the endpoint at m's HTTP address: one of the client's
// own if it has that address, else a new one with the scheme of the
// client's first endpoint.
func (c *Client) memberEndpoint(m Member) (*endpoint, error) {
	if m.HTTPAddr == "" {
		return nil, &unreachableError{fmt.Errorf("member %s has no HTTP address", m.ID)}
	}
	for _, ep := range c.endpoints {
		if ep.host == m.HTTPAddr {
			return ep, nil
		}
	}
	ep, err := c.parseEndpoint(c.endpoints[0].scheme + "://" + m.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("member %s: %w", m.ID, err)
	}
	return ep, nil
}

// doAt sends r to ep alone, once. A failure to get an answer matches
// ErrUnavailable (and ErrTimeout for a timeout); a non-nil response must be
// released.
func (c *Client) doAt(ctx context.Context, ep *endpoint, r *request) (*response, error) {
	resp, err := c.attempt(ctx, ep, r)
	if resp == nil && err != nil {
		if ctx.Err() != nil {
			return nil, contextError(ctx, err)
		}
		return nil, &unreachableError{err}
	}
	return resp, err
}

// unreachableError is a node that a call aimed at it alone did not reach.
type unreachableError struct{ err error }

func (e *unreachableError) Error() string   { return "unreachable: " + e.err.Error() }
func (e *unreachableError) Unwrap() []error { return []error{ErrUnavailable, e.err} }

// getJSONAt is a GET of a JSON view at ep alone, decoded into out.
func (c *Client) getJSONAt(ctx context.Context, ep *endpoint, path, query string, out any) error {
	resp, err := c.doAt(ctx, ep, &request{method: http.MethodGet, path: path, query: query, accept: "application/json"})
	defer resp.release()
	if err != nil {
		return err
	}
	if err := json.Unmarshal(resp.body.Bytes(), out); err != nil {
		return fmt.Errorf("decode answer from %s: %w", ep.url, err)
	}
	return nil
}

// maxParallelMembers bounds the members asked at once.
const maxParallelMembers = 16

// eachMember calls f for every member, in parallel, and waits for all.
func (c *Client) eachMember(ms []Member, f func(i int, m Member)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxParallelMembers)
	for i, m := range ms {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			f(i, m)
		})
	}
	wg.Wait()
}

// nodeError wraps err with the operation and the node it concerns.
func nodeError(op, node string, err error) error {
	if node == "" {
		return fmt.Errorf("client: %s: %w", op, err)
	}
	return fmt.Errorf("client: %s %s: %w", op, node, err)
}
