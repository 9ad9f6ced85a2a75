package client

import (
	"context"
	"net/http"
	"net/url"
)

// RawSet returns key's whole state as the cluster holds it (a quorum read):
// every sibling, tombstones and the causal context included, in the store's
// binary form (vclock.Set). It is for backup; restore gives it back to
// MergeSet. Needs an admin token on a secured cluster. An absent key is
// ErrNotFound.
func (c *Client) RawSet(ctx context.Context, key string) ([]byte, error) {
	return c.def.RawSet(ctx, key)
}

// RawSet is Client.RawSet in bucket b (GET /admin/set/{key}?bucket=b).
func (b *Bucket) RawSet(ctx context.Context, key string) ([]byte, error) {
	if _, err := b.kvPath(key); err != nil {
		return nil, b.opError("raw set", key, err)
	}
	resp, err := b.c.do(ctx, &request{method: http.MethodGet, path: "/admin/set/" + url.PathEscape(key), query: b.adminSetQuery(),
		accept: "application/octet-stream"})
	defer resp.release()
	if err != nil {
		return nil, b.opError("raw set", key, err)
	}
	return append([]byte(nil), resp.body.Bytes()...), nil
}

// MergeSet merges a state RawSet returned into key's replicas, by
// causality: nothing written since the state was read is overwritten, and
// nothing in it is lost. Merging the same state twice changes nothing, so a
// failed call may be retried.
func (c *Client) MergeSet(ctx context.Context, key string, set []byte) error {
	return c.def.MergeSet(ctx, key, set)
}

// MergeSet is Client.MergeSet in bucket b (POST /admin/set/{key}?bucket=b).
func (b *Bucket) MergeSet(ctx context.Context, key string, set []byte) error {
	if _, err := b.kvPath(key); err != nil {
		return b.opError("merge set", key, err)
	}
	// Idempotent, so retried like a read.
	resp, err := b.c.do(ctx, &request{method: http.MethodPost, path: "/admin/set/" + url.PathEscape(key), query: b.adminSetQuery(),
		body: set, contentType: "application/octet-stream"})
	defer resp.release()
	if err != nil {
		return b.opError("merge set", key, err)
	}
	return nil
}
