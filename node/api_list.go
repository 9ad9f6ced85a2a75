package node

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/dynkv/dynkv/bucket"
	"github.com/dynkv/dynkv/node/coordinator"
	"github.com/dynkv/dynkv/node/internal/wire"
)

// Key listing: GET /kv?prefix=P&after=K&limit=L (docs/API.md, "GET /kv").
// A page reads, partition by partition, every record of the listed range
// on one replica: it costs what it reads, like Riak's list keys, and holds
// one page in memory whatever the key count.

const (
	defaultListLimit = 1000
	// CodeListUnavailable: no replica of some partition answered.
	CodeListUnavailable = "list_unavailable"
)

// listPage is the JSON answer. With encoding=base64, keys and next are
// base64 (standard, padded), so that keys that are not UTF-8 survive.
// Pages go partition by partition, and keys hash evenly over partitions,
// so PartitionsDone of Partitions is how far a listing has come (what a
// backup's estimate of the time left is made from).
type listPage struct {
	Keys           []string `json:"keys"`
	Next           string   `json:"next,omitempty"`
	Partitions     int      `json:"partitions"`
	PartitionsDone int      `json:"partitions_done"`
}

// serveList lists bucket name's keys (the router checked the name):
// /kv is the default bucket's, /buckets/{name}/kv another's, with the
// same parameters and answer.
func (n *Node) serveList(rc *fasthttp.RequestCtx, method, name string) {
	if !allow(rc, method, fasthttp.MethodGet) {
		return
	}
	args := rc.QueryArgs()
	b64 := string(args.Peek("encoding")) == "base64"
	decode := func(name string) ([]byte, error) {
		v := args.Peek(name)
		if !b64 || len(v) == 0 {
			return append([]byte(nil), v...), nil
		}
		return base64.StdEncoding.DecodeString(string(v))
	}
	prefix, err1 := decode("prefix")
	after, err2 := decode("after")
	limit, err3 := listLimit(args.Peek("limit"))
	switch enc := string(args.Peek("encoding")); {
	case enc != "" && enc != "base64":
		writeError(rc, badRequest(CodeBadRequest, "encoding %q: want base64 or none", enc))
		return
	case err1 != nil || err2 != nil:
		writeError(rc, badRequest(CodeBadRequest, "prefix or after is not base64"))
		return
	case err3 != nil:
		writeError(rc, badRequest(CodeBadRequest, "%v", err3))
		return
	case len(prefix) > bucket.MaxKeyLen || len(after) > bucket.MaxKeyLen:
		writeError(rc, badRequest(CodeBadKey, "prefix or after longer than a key (%d bytes)", bucket.MaxKeyLen))
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.RequestTimeout)
	defer cancel()
	keys, next, err := n.coord.List(ctx, name, prefix, after, limit)
	if err != nil {
		status, code := http.StatusServiceUnavailable, CodeListUnavailable
		if !errors.Is(err, coordinator.ErrListUnavailable) {
			status, code = http.StatusInternalServerError, CodeInternal
		}
		writeError(rc, &APIError{Status: status, Code: code, Message: err.Error()})
		return
	}
	r := n.cluster.View().Ring
	page := listPage{Keys: make([]string, len(keys)), Partitions: r.Config().Partitions}
	page.PartitionsDone = page.Partitions
	if next != nil {
		// The next page resumes in next's partition: those before it are done.
		page.PartitionsDone = r.PartitionOf(bucket.Key(name, next))
	}
	enc := func(k []byte) string {
		if b64 {
			return base64.StdEncoding.EncodeToString(k)
		}
		return string(k)
	}
	for i, k := range keys {
		page.Keys[i] = enc(k)
	}
	if next != nil {
		page.Next = enc(next)
	}
	writeJSON(rc, http.StatusOK, page)
}

func listLimit(raw []byte) (int, error) {
	if len(raw) == 0 {
		return defaultListLimit, nil
	}
	l, err := strconv.Atoi(string(raw))
	if err != nil || l < 1 || l > wire.MaxListKeys {
		return 0, fmt.Errorf("limit %q: want 1..%d", raw, wire.MaxListKeys)
	}
	return l, nil
}
