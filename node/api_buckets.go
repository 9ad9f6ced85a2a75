package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"

	"github.com/valyala/fasthttp"

	"github.com/dynkv/dynkv/bucket"
)

// Bucket props as cluster metadata (node/buckets; docs/API.md, "Buckets"):
//
//	GET /buckets                every bucket set, and default, resolved
//	GET /buckets/{b}/props      one bucket's effective props
//	PUT /buckets/{b}/props      replace a bucket's props (admin)
//
// Answers show the table this node applies now: the registry it holds,
// resolved against its own limits (docs/GUARANTEES.md, "Buckets").

// CodeBadProps (400): a PUT's body is no valid set of props; nothing
// changed.
const CodeBadProps = "bad_props"

// maxPropsBody bounds a PUT's body: every field set is under 200 bytes.
const maxPropsBody = 4 << 10

// bucketJSON is one bucket in the answers. Version is absent for a bucket
// nobody set (it has the defaults).
type bucketJSON struct {
	Bucket  string          `json:"bucket,omitempty"`
	Name    string          `json:"name,omitempty"`
	Props   bucket.Props    `json:"props"`
	Version *bucket.Version `json:"version,omitempty"`
	// A PUT's answer: how many nodes held the new props when it returned,
	// this one included, of how many usable members.
	AcknowledgedBy *int `json:"acknowledged_by,omitempty"`
	Members        *int `json:"members,omitempty"`
}

func describeBucket(t *bucket.Table, name string) bucketJSON {
	out := bucketJSON{Props: t.Props(name)}
	if e, ok := t.Registry().Get(name); ok {
		out.Version = &e.Version
	}
	return out
}

func (n *Node) serveBucketList(rc *fasthttp.RequestCtx, method string) {
	if !allow(rc, method, fasthttp.MethodGet) {
		return
	}
	t := n.bucketTable()
	names := t.Registry().Names()
	if !slices.Contains(names, bucket.Default) {
		names = append(names, bucket.Default)
		slices.Sort(names)
	}
	list := make([]bucketJSON, 0, len(names))
	for _, name := range names {
		b := describeBucket(t, name)
		b.Name = name
		list = append(list, b)
	}
	writeJSON(rc, http.StatusOK, map[string]any{"buckets": list})
}

func (n *Node) serveBucketProps(rc *fasthttp.RequestCtx, method, name string) {
	if !allow(rc, method, fasthttp.MethodGet, fasthttp.MethodPut) {
		return
	}
	if method == fasthttp.MethodGet {
		b := describeBucket(n.bucketTable(), name)
		b.Bucket = name
		writeJSON(rc, http.StatusOK, b)
		return
	}
	if n.closing.Load() {
		writeError(rc, shuttingDownAPI())
		return
	}
	p, apiErr := parseProps(rc.PostBody())
	if apiErr != nil {
		writeError(rc, apiErr)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.RequestTimeout)
	defer cancel()
	_, acked, members, err := n.buckets.Set(ctx, name, p)
	switch {
	case errors.Is(err, bucket.ErrBadProps), errors.Is(err, bucket.ErrBadName):
		writeError(rc, badRequest(CodeBadProps, "%v", err))
		return
	case err != nil:
		n.log.Error("cannot set bucket props", "bucket", name, "err", err)
		writeError(rc, apiError(err))
		return
	}
	b := describeBucket(n.bucketTable(), name)
	b.Bucket, b.AcknowledgedBy, b.Members = name, &acked, &members
	writeJSON(rc, http.StatusOK, b)
}

// parseProps reads a PUT's body: one JSON object of props fields, each
// optional (omitted: the cluster default). Unknown fields, trailing data
// and wrong types are refused.
func parseProps(body []byte) (bucket.Props, *APIError) {
	if len(body) > maxPropsBody {
		return bucket.Props{}, &APIError{Status: http.StatusRequestEntityTooLarge, Code: CodeRequestTooLarge,
			Message: fmt.Sprintf("bucket props are at most %d bytes", maxPropsBody)}
	}
	const want = `want a JSON object of props: {"n": 3, "r": 2, "w": 2, "max_siblings": 16, "max_value_bytes": 1048576, "default_ttl": "30m" or seconds, "conflict": "siblings" or "lww"}, each optional`
	if trimmed := bytes.TrimSpace(body); len(trimmed) == 0 || trimmed[0] != '{' {
		return bucket.Props{}, badRequest(CodeBadProps, "%s", want)
	}
	var p bucket.Props
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return bucket.Props{}, badRequest(CodeBadProps, "%v; %s", err, want)
	}
	if dec.Decode(&struct{}{}) != io.EOF {
		return bucket.Props{}, badRequest(CodeBadProps, "trailing data after the props object; %s", want)
	}
	return p, nil
}
