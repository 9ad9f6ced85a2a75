package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// ListPage is one page of the cluster's live keys (GET /kv).
type ListPage struct {
	// Keys are in the listing's order: by partition, then by key.
	Keys []string
	// Next is the After of the next page; empty after the last page.
	Next string
	// PartitionsDone of Partitions have been listed to the end. Keys hash
	// evenly over partitions, so it is how far a listing has come. Both
	// are 0 from a server older than them.
	Partitions, PartitionsDone int
}

// List returns one page of at most limit (1..10000; 0: the node's
// default, 1000) live keys that start with prefix, after the key after
// ("" from the start). Pass the page's Next as after for the next page.
// Each page reads its range of every partition from one replica, so it
// costs what it reads; keys written while the listing runs may or may not
// appear, and a key is never listed twice.
func (c *Client) List(ctx context.Context, prefix, after string, limit int) (ListPage, error) {
	return c.def.List(ctx, prefix, after, limit)
}

// List is Client.List of bucket b's keys.
func (b *Bucket) List(ctx context.Context, prefix, after string, limit int) (ListPage, error) {
	if b.err != nil {
		return ListPage{}, b.opError("list", "", b.err)
	}
	q := url.Values{"encoding": {"base64"}}
	if prefix != "" {
		q.Set("prefix", base64.StdEncoding.EncodeToString([]byte(prefix)))
	}
	if after != "" {
		q.Set("after", base64.StdEncoding.EncodeToString([]byte(after)))
	}
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var raw struct {
		Keys           []string `json:"keys"`
		Next           string   `json:"next"`
		Partitions     int      `json:"partitions"`
		PartitionsDone int      `json:"partitions_done"`
	}
	resp, err := b.c.do(ctx, &request{method: http.MethodGet, path: b.base, query: q.Encode(), accept: "application/json"})
	defer resp.release()
	if err != nil {
		return ListPage{}, b.opError("list", "", err)
	}
	if err := json.Unmarshal(resp.body.Bytes(), &raw); err != nil {
		return ListPage{}, b.opError("list", "", fmt.Errorf("decode answer from %s: %w", resp.endpoint, err))
	}
	page := ListPage{Keys: make([]string, len(raw.Keys)), Partitions: raw.Partitions, PartitionsDone: raw.PartitionsDone}
	for i, k := range raw.Keys {
		key, err := base64.StdEncoding.DecodeString(k)
		if err != nil {
			return ListPage{}, b.opError("list", "", fmt.Errorf("key %d of the page is not base64: %w", i, err))
		}
		page.Keys[i] = string(key)
	}
	if raw.Next != "" {
		next, err := base64.StdEncoding.DecodeString(raw.Next)
		if err != nil {
			return ListPage{}, b.opError("list", "", fmt.Errorf("next is not base64: %w", err))
		}
		page.Next = string(next)
	}
	return page, nil
}
