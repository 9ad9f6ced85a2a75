package node

import (
	"testing"

	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/valyala/fasthttp"
)

// FuzzHandleInternode: a peer's malformed request is refused with an error
// and never crashes the node or writes anything.
func FuzzHandleInternode(f *testing.F) {
	for _, b := range wire.SampleMessages() {
		for _, op := range []wire.Op{wire.OpRead, wire.OpWrite, wire.OpMerge, wire.OpHintRead, wire.OpHintWrite, wire.OpHintMerge, wire.OpTreeChildren, wire.OpTreeEntries, wire.OpReap, wire.OpBucketsGet, wire.OpBucketsMerge, "bogus"} {
			f.Add(string(op), b)
		}
	}
	c := startCluster(f, LocalClusterOptions{Nodes: 1, Configure: func(i int, cfg *Config) {
		cfg.Ring.N, cfg.R, cfg.W = 1, 1, 1
	}})
	n := c.Node(0)
	f.Fuzz(func(t *testing.T, op string, b []byte) {
		out, err := n.HandleInternode(t.Context(), wire.Op(op), b)
		if err != nil {
			return
		}
		// Accepted: it must have been a well-formed message.
		switch wire.Op(op) {
		case wire.OpRead:
			if _, err := wire.DecodeReadResponse(out); err != nil {
				t.Fatalf("read answered undecodably: %v", err)
			}
		case wire.OpWrite:
			if _, err := wire.DecodeWriteRequest(b); err != nil {
				t.Fatalf("malformed write accepted: %v", err)
			}
		case wire.OpMerge:
			if _, err := wire.DecodeMergeRequest(b); err != nil {
				t.Fatalf("malformed merge accepted: %v", err)
			}
		case wire.OpHintRead, wire.OpHintWrite, wire.OpHintMerge:
			if _, _, err := wire.SplitHinted(b); err != nil {
				t.Fatalf("malformed hinted request accepted: %v", err)
			}
		case wire.OpTreeChildren, wire.OpTreeEntries:
			if _, err := wire.DecodeTreeRequest(b); err != nil {
				t.Fatalf("malformed tree request accepted: %v", err)
			}
		case wire.OpReap:
			if _, err := wire.DecodeMergeRequest(b); err != nil {
				t.Fatalf("malformed reap accepted: %v", err)
			}
		case wire.OpBucketsGet:
			if _, err := wire.DecodeBucketsGetRequest(b); err != nil {
				t.Fatalf("malformed buckets-get accepted: %v", err)
			}
		case wire.OpBucketsMerge:
			if _, err := wire.DecodeBucketsMessage(b); err != nil {
				t.Fatalf("malformed buckets-merge accepted: %v", err)
			}
			if _, err := wire.DecodeBucketsMessage(out); err != nil {
				t.Fatalf("buckets-merge answered undecodably: %v", err)
			}
		default:
			t.Fatalf("unknown op %q accepted", op)
		}
	})
}

// FuzzServeHTTP: any method, path, header and body get an answer, never a
// panic; malformed ones get a 4xx.
func FuzzServeHTTP(f *testing.F) {
	f.Add("GET", "/kv/a", "", []byte(nil))
	f.Add("PUT", "/kv/a%2Fb?w=all", "AQ", []byte("v"))
	f.Add("DELETE", "/kv/%zz", "!!", []byte(nil))
	f.Add("GET", "/cluster/ring?key=", "", []byte(nil))
	f.Add("POST", "/internal/v1/write", "", []byte{1, 1})
	f.Add("GET", "/admin/local/", "", []byte(nil))
	f.Add("PUT", "/buckets/carts/props", "", []byte(`{"n":1,"default_ttl":"30m","conflict":"lww"}`))
	f.Add("GET", "/buckets", "", []byte(nil))
	c := startCluster(f, LocalClusterOptions{Nodes: 1, Configure: func(i int, cfg *Config) {
		cfg.Ring.N, cfg.R, cfg.W = 1, 1, 1
	}})
	n := c.Node(0)
	f.Fuzz(func(t *testing.T, method, path, ctxHeader string, body []byte) {
		var rc fasthttp.RequestCtx
		rc.Request.Header.SetMethod(method)
		rc.Request.SetRequestURI(path)
		rc.Request.Header.Set(HeaderContext, ctxHeader)
		rc.Request.SetBody(body)
		n.ServeHTTP(&rc)
		if rc.Response.StatusCode() >= 500 {
			t.Fatalf("%s %q: status %d: %s", method, path, rc.Response.StatusCode(), rc.Response.Body())
		}
	})
}
