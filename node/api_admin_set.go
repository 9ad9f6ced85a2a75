package node

import (
	"context"
	"net/http"

	"github.com/valyala/fasthttp"

	"github.com/dynkv/dynkv/bucket"
	"github.com/dynkv/dynkv/vclock"
)

// GET /admin/set/{key} and POST /admin/set/{key}: a key's whole state, for
// backup and restore (docs/API.md). GET answers the quorum-merged sibling
// set, tombstones and causal context included, in vclock's binary form;
// POST merges such a set into the key's replicas (?bucket= names the
// bucket; default the default one), by causality, so that a
// restore loses nothing written since the backup and nothing in it.

func (n *Node) serveAdminSet(rc *fasthttp.RequestCtx, method, rawKey string) {
	if !allow(rc, method, fasthttp.MethodGet, fasthttp.MethodPost) {
		return
	}
	client, apiErr := parseKey(rawKey)
	if apiErr != nil {
		writeError(rc, apiErr)
		return
	}
	name, apiErr := bucketParam(rc)
	if apiErr != nil {
		writeError(rc, apiErr)
		return
	}
	key := bucket.Key(name, client)
	ctx := context.Background()
	if method == fasthttp.MethodGet {
		res, err := n.coord.Get(ctx, key, 0)
		if err != nil {
			writeError(rc, apiError(err))
			return
		}
		if res.Set.IsZero() {
			writeError(rc, &APIError{Status: http.StatusNotFound, Code: CodeNotFound, Message: "key not found"})
			return
		}
		rc.SetStatusCode(http.StatusOK)
		rc.SetContentType(defaultContentType)
		rc.SetBody(res.Set.AppendBinary(nil))
		return
	}
	set, err := vclock.DecodeSet(rc.PostBody())
	if err != nil {
		writeError(rc, badRequest(CodeBadRequest, "body is not an encoded sibling set: %v", err))
		return
	}
	if err := n.coord.MergeSet(ctx, key, set, 0); err != nil {
		writeError(rc, apiError(err))
		return
	}
	rc.SetStatusCode(http.StatusNoContent)
}
