package node

import (
	"net/http"

	"github.com/valyala/fasthttp"

	"github.com/dynkv/dynkv/internal/buildinfo"
)

// VersionResponse is GET /version: the build this node runs
// (internal/buildinfo), open without a token like /livez so that a rolling
// upgrade can be followed node by node.
type VersionResponse struct {
	Node string `json:"node"`
	buildinfo.Info
}

func (n *Node) serveVersion(rc *fasthttp.RequestCtx) {
	writeJSON(rc, http.StatusOK, VersionResponse{Node: n.cfg.NodeID, Info: buildinfo.Get()})
}
