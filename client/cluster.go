package client

import (
	"context"
	"net/url"
)

// Member is one node as the cluster's gossip sees it.
type Member struct {
	ID         string `json:"id"`
	HTTPAddr   string `json:"http_addr"`
	GossipAddr string `json:"gossip_addr,omitempty"`
	// Status is alive, suspect, failed, leaving or left. A failed node
	// stays on the ring: a transient failure moves no data.
	Status string            `json:"status"`
	Tags   map[string]string `json:"tags,omitempty"`
}

// Ring is the cluster's partition layout as one node computes it, for
// the keys of one bucket: each preference list has the bucket's N nodes.
type Ring struct {
	Partitions int `json:"partitions"`
	// Bucket is the bucket whose N the preference lists have; empty from a
	// server older than buckets.
	Bucket  string   `json:"bucket,omitempty"`
	N       int      `json:"n"`
	Members []string `json:"members"`
	// Zones maps every member to its zone (serve --zone), "" for none:
	// each preference list spans min(N, zones) zones.
	Zones           map[string]string   `json:"zones,omitempty"`
	PreferenceLists []PartitionReplicas `json:"preference_lists"`
}

// PartitionReplicas is one partition's preference list: the N nodes that
// replicate it, in order.
type PartitionReplicas struct {
	Partition      int      `json:"partition"`
	PreferenceList []string `json:"preference_list"`
}

// Placement is where one key lives.
type Placement struct {
	Key string `json:"key"`
	// Bucket is the key's bucket, and N its replica count there: the first
	// N of the walk replicate the key (PreferenceList), the rest stand in.
	Bucket         string   `json:"bucket,omitempty"`
	N              int      `json:"n,omitempty"`
	Partition      int      `json:"partition"`
	PreferenceList []string `json:"preference_list"`
	// Fallbacks are the other nodes, in the order sloppy quorum uses them.
	Fallbacks []string `json:"fallbacks"`
	// Zones maps every member to its zone, "" for none.
	Zones map[string]string `json:"zones,omitempty"`
}

// Members returns the members known to the node that answers.
func (c *Client) Members(ctx context.Context) ([]Member, error) {
	var out []Member
	if err := c.getJSON(ctx, "members", "/cluster/members", "", &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Ring returns the partition layout of the node that answers, for the
// default bucket.
func (c *Client) Ring(ctx context.Context) (*Ring, error) { return c.def.Ring(ctx) }

// Ring returns the partition layout of the node that answers, for b's
// keys: every preference list has b's N nodes.
func (b *Bucket) Ring(ctx context.Context) (*Ring, error) {
	if b.err != nil {
		return nil, b.opError("ring", "", b.err)
	}
	query := ""
	if b.name != DefaultBucket {
		query = "bucket=" + b.name
	}
	var out Ring
	if err := b.c.getJSON(ctx, "ring", "/cluster/ring", query, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Placement returns the partition, preference list and fallbacks of key in
// the default bucket.
func (c *Client) Placement(ctx context.Context, key string) (*Placement, error) {
	return c.def.Placement(ctx, key)
}

// Placement returns the partition, preference list (the bucket's N nodes)
// and fallbacks of key in b.
func (b *Bucket) Placement(ctx context.Context, key string) (*Placement, error) {
	if _, err := b.kvPath(key); err != nil {
		return nil, b.opError("placement", key, err)
	}
	query := "key=" + url.QueryEscape(key)
	if b.name != DefaultBucket {
		query += "&bucket=" + b.name
	}
	var out Placement
	if err := b.c.getJSON(ctx, "placement", "/cluster/ring", query, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
