package node

import (
	"net/http"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/dynkv/dynkv/bucket"
)

// CodeBadBucket (400): the path names no valid bucket (bucket.CheckName).
const CodeBadBucket = "bad_bucket"

// serveBuckets routes everything under /buckets:
//
//	/buckets                       the buckets set (serveBucketList)
//	/buckets/{bucket}/props        a bucket's props (serveBucketProps)
//	/buckets/{bucket}/kv           its key listing (as /kv)
//	/buckets/{bucket}/kv/{key}     its keys (as /kv/{key})
//
// /kv and /kv/{key} are the default bucket's.
func (n *Node) serveBuckets(rc *fasthttp.RequestCtx, method, path string) {
	if path == "/buckets" {
		n.serveBucketList(rc, method)
		return
	}
	rest := strings.TrimPrefix(path, "/buckets/")
	name, sub, _ := strings.Cut(rest, "/")
	if err := bucket.CheckName(name); err != nil {
		writeError(rc, badRequest(CodeBadBucket, "%v", err))
		return
	}
	switch {
	case sub == "props":
		n.serveBucketProps(rc, method, name)
	case sub == "kv":
		n.serveListIn(rc, method, name)
	case strings.HasPrefix(sub, "kv/"):
		n.serveKVIn(rc, method, name, sub[len("kv/"):])
	default:
		notFound(rc, path)
	}
}

// Until the request path takes buckets, a named bucket's keys are refused
// rather than served from the default bucket.
func (n *Node) serveListIn(rc *fasthttp.RequestCtx, method, name string) {
	if name == bucket.Default {
		n.serveList(rc, method)
		return
	}
	writeError(rc, &APIError{Status: http.StatusNotImplemented, Code: CodeInternal, Message: "buckets are not served yet"})
}

func (n *Node) serveKVIn(rc *fasthttp.RequestCtx, method, name, rawKey string) {
	if name == bucket.Default {
		n.serveKV(rc, method, rawKey)
		return
	}
	writeError(rc, &APIError{Status: http.StatusNotImplemented, Code: CodeInternal, Message: "buckets are not served yet"})
}
