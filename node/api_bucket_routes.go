package node

import (
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

// serveListIn lists bucket name's keys: /buckets/default/kv is /kv.
func (n *Node) serveListIn(rc *fasthttp.RequestCtx, method, name string) {
	n.serveList(rc, method, name)
}

// serveKVIn serves key rawKey of bucket name: /buckets/default/kv/{key}
// is /kv/{key}.
func (n *Node) serveKVIn(rc *fasthttp.RequestCtx, method, name, rawKey string) {
	n.serveKV(rc, method, name, rawKey)
}
