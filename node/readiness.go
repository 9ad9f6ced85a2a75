package node

import (
	"net/http"

	"github.com/dynkv/dynkv/node/membership"
)

// CodeNotReady answers the readiness probes of a node that is up but not
// yet back in its cluster after a restart (docs/API.md).
const CodeNotReady = "not_ready"

// notReady is the readiness probes' answer while the membership says this
// node has not rejoined its cluster, nil once it has (or when the
// membership cannot tell, as a hand-driven one in tests). Such a node is
// alone: its ring has one member and it can serve no quorum, so routing
// traffic to it would only fail requests.
func (n *Node) notReady() error {
	r, ok := n.membership.(membership.Readiness)
	if !ok {
		return nil
	}
	if ready, why := r.Ready(n.cluster.View().List); !ready {
		return &APIError{Status: http.StatusServiceUnavailable, Code: CodeNotReady, Message: why}
	}
	return nil
}
