package client

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"
)

// ListPage is one page of the cluster's live keys (GET /kv).
type ListPage struct {
	// Keys are in the listing's order: by partition, then by key.
	Keys []string
	// Next is the After of the next page; empty after the last page.
	Next string
}

// List returns one page of at most limit (1..10000; 0: the node's
// default, 1000) live keys that start with prefix, after the key after
// ("" from the start). Pass the page's Next as after for the next page.
// Each page reads its range of every partition from one replica, so it
// costs what it reads; keys written while the listing runs may or may not
// appear, and a key is never listed twice.
func (c *Client) List(ctx context.Context, prefix, after string, limit int) (ListPage, error) {
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
		Keys []string `json:"keys"`
		Next string   `json:"next"`
	}
	if err := c.getJSON(ctx, "list", "/kv", q.Encode(), &raw); err != nil {
		return ListPage{}, err
	}
	page := ListPage{Keys: make([]string, len(raw.Keys))}
	for i, k := range raw.Keys {
		b, err := base64.StdEncoding.DecodeString(k)
		if err != nil {
			return ListPage{}, fmt.Errorf("list: key %d of the page is not base64: %w", i, err)
		}
		page.Keys[i] = string(b)
	}
	if raw.Next != "" {
		b, err := base64.StdEncoding.DecodeString(raw.Next)
		if err != nil {
			return ListPage{}, fmt.Errorf("list: next is not base64: %w", err)
		}
		page.Next = string(b)
	}
	return page, nil
}
