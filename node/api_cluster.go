package node

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/dynkv/dynkv/bucket"
	"github.com/dynkv/dynkv/node/membership"
	"github.com/dynkv/dynkv/ring"
)

// The cluster and operator routes: /cluster/... and /admin/local/....

// serveCluster routes /cluster/....
func (n *Node) serveCluster(rc *fasthttp.RequestCtx, method, path string) {
	switch {
	case path == "/cluster/members":
		if allow(rc, method, fasthttp.MethodGet) {
			writeJSON(rc, http.StatusOK, membersForDisplay(n.cluster.View().List))
		}
	case path == "/cluster/handoffs":
		if allow(rc, method, fasthttp.MethodGet) {
			writeJSON(rc, http.StatusOK, map[string]any{"node": n.cfg.NodeID, "leaving": n.repair.Leaving(), "handoffs": n.Handoffs()})
		}
	case path == "/cluster/leave":
		if allow(rc, method, fasthttp.MethodPost) {
			if err := n.Leave(); err != nil {
				writeError(rc, err)
				return
			}
			writeJSON(rc, http.StatusAccepted, map[string]any{"node": n.cfg.NodeID, "status": "leaving: handing data off, then leaving"})
		}
	case strings.HasPrefix(path, "/cluster/remove/"):
		if allow(rc, method, fasthttp.MethodPost) {
			n.serveRemove(rc, path[len("/cluster/remove/"):])
		}
	case path == "/cluster/status":
		if allow(rc, method, fasthttp.MethodGet) {
			n.serveStatus(rc)
		}
	case path == "/cluster/ring":
		if allow(rc, method, fasthttp.MethodGet) {
			n.serveRing(rc)
		}
	default:
		notFound(rc, path)
	}
}

func (n *Node) serveRemove(rc *fasthttp.RequestCtx, rawID string) {
	id, err := url.PathUnescape(rawID)
	if err != nil || id == "" {
		writeError(rc, badRequest("bad_node", "name the node to remove: /cluster/remove/{node}"))
		return
	}
	if _, ok := n.cluster.View().Members[id]; !ok {
		writeError(rc, &APIError{Status: http.StatusNotFound, Code: "unknown_node", Message: fmt.Sprintf("%s is not a member", id)})
		return
	}
	if err := n.Remove(id); err != nil {
		code := "cannot_remove"
		if errors.Is(err, errAlreadyLeft) {
			code = "already_left"
		}
		writeError(rc, &APIError{Status: http.StatusConflict, Code: code, Message: err.Error()})
		return
	}
	writeJSON(rc, http.StatusAccepted, map[string]any{"removed": id, "status": "its partitions are re-replicated from the survivors by anti-entropy"})
}

type ringPartitionJSON struct {
	Partition      int      `json:"partition"`
	PreferenceList []string `json:"preference_list"`
}

func (n *Node) serveRing(rc *fasthttp.RequestCtx) {
	r := n.cluster.View().Ring
	name, apiErr := bucketParam(rc)
	if apiErr != nil {
		writeError(rc, apiErr)
		return
	}
	if raw := rc.QueryArgs().Peek("key"); raw != nil {
		if err := bucket.CheckKey(raw); err != nil {
			writeError(rc, badRequest(CodeBadKey, "%v", err))
			return
		}
		// The key's placement is its internal key's, with its bucket's N:
		// the first N of the walk replicate it, the rest stand in.
		nrep := n.bucketTable().Props(name).N
		p := r.PartitionOf(bucket.Key(name, raw))
		pref := r.PreferenceListN(p, nrep)
		writeJSON(rc, http.StatusOK, map[string]any{
			"key": string(raw), "bucket": name, "n": nrep, "partition": p,
			"preference_list": pref, "fallbacks": r.Walk(p)[len(pref):], "zones": memberZones(r),
		})
		return
	}
	// Every partition's preference list at the bucket's N (the default
	// bucket's, which is the cluster's unless its props were set).
	nrep := n.bucketTable().Props(name).N
	parts := make([]ringPartitionJSON, r.Config().Partitions)
	for p := range parts {
		parts[p] = ringPartitionJSON{Partition: p, PreferenceList: r.PreferenceListN(p, nrep)}
	}
	writeJSON(rc, http.StatusOK, map[string]any{
		"partitions": len(parts), "bucket": name, "n": nrep, "members": r.Members(), "zones": memberZones(r), "preference_lists": parts,
	})
}

// memberZones maps every ring member to its zone ("" for none), the zones
// the ring placed replicas by.
func memberZones(r *ring.Ring) map[string]string {
	out := map[string]string{}
	for _, m := range r.ZonedMembers() {
		out[m.Name] = m.Zone
	}
	return out
}

type localSiblingJSON struct {
	Dot         string `json:"dot"`
	Value       string `json:"value"`
	ContentType string `json:"content_type"`
	Deleted     bool   `json:"deleted"`
	Modified    string `json:"modified"`
	Expires     string `json:"expires,omitempty"`
}

// bucketParam reads ?bucket= (default: the default bucket).
func bucketParam(rc *fasthttp.RequestCtx) (string, *APIError) {
	raw := rc.QueryArgs().Peek("bucket")
	if raw == nil {
		return bucket.Default, nil
	}
	if err := bucket.CheckName(string(raw)); err != nil {
		return "", badRequest(CodeBadBucket, "%v", err)
	}
	return string(raw), nil
}

// serveAdminLocal shows what this node's replica holds for a key of
// ?bucket= (the default bucket when absent), and whether this node is one
// of the key's N replicas with its bucket's N.
func (n *Node) serveAdminLocal(rc *fasthttp.RequestCtx, rawKey string) {
	key, apiErr := parseKey(rawKey)
	if apiErr != nil {
		writeError(rc, apiErr)
		return
	}
	name, apiErr := bucketParam(rc)
	if apiErr != nil {
		writeError(rc, apiErr)
		return
	}
	ikey := bucket.Key(name, key)
	s, err := n.replica.Read(ikey)
	if err != nil {
		writeError(rc, err)
		return
	}
	sibs := make([]localSiblingJSON, len(s.Siblings))
	for i, sib := range s.Siblings {
		sibs[i] = localSiblingJSON{
			Dot: sib.Dot.String(), Value: base64.StdEncoding.EncodeToString(sib.Value),
			ContentType: sib.ContentType, Deleted: sib.Deleted,
			Modified: time.UnixMilli(sib.Modified).UTC().Format(time.RFC3339Nano), Expires: formatExpiry(sib.Expires),
		}
	}
	r := n.cluster.View().Ring
	p := r.PartitionOf(ikey)
	writeJSON(rc, http.StatusOK, map[string]any{
		"node": n.cfg.NodeID, "bucket": name, "key": string(key), "partition": p, "found": !s.IsZero(),
		"replica": slices.Contains(r.PreferenceListN(p, n.bucketTable().Props(name).N), n.cfg.NodeID),
		"context": s.Context.TokenFor(ikey), "context_debug": s.Context.String(), "siblings": sibs,
	})
}

// membersForDisplay shows a node that announced its leave as leaving while
// it hands its data off (gossip still sees it alive, which it is).
func membersForDisplay(list []membership.Member) []membership.Member {
	out := make([]membership.Member, len(list))
	for i, m := range list {
		if m.Status == membership.StatusAlive && m.Tags[membership.TagState] == membership.StateLeaving {
			m.Status = membership.StatusLeaving
		}
		out[i] = m
	}
	return out
}
