package node

import (
	"net/http"

	"github.com/valyala/fasthttp"
)

// Bucket props as cluster metadata: not served yet.

func (n *Node) serveBucketList(rc *fasthttp.RequestCtx, method string) {
	writeError(rc, &APIError{Status: http.StatusNotImplemented, Code: CodeInternal, Message: "bucket props are not served yet"})
}

func (n *Node) serveBucketProps(rc *fasthttp.RequestCtx, method, name string) {
	writeError(rc, &APIError{Status: http.StatusNotImplemented, Code: CodeInternal, Message: "bucket props are not served yet"})
}
