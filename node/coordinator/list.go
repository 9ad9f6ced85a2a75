package coordinator

import (
	"context"
	"errors"
	"fmt"

	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/node/membership"
)

// ErrListUnavailable is wrapped by List's error when no replica of a
// partition answered.
var ErrListUnavailable = errors.New("no replica of a partition answered the listing")

// List returns one page of the cluster's live keys that start with prefix:
// at most limit of them, in (partition, key) order, from the first after
// after (from the start when after is empty). Each partition is read from
// one usable replica of it, this node first, the next one on failure; so a
// key written but not yet on that replica may be missing, as from a read
// with R=1. next is the key to pass as after for the next page, nil after
// the last.
func (c *Coordinator) List(ctx context.Context, prefix, after []byte, limit int) (keys [][]byte, next []byte, err error) {
	v := c.cluster.View()
	first := 0
	if len(after) > 0 {
		first = v.Ring.PartitionOf(after)
	}
	for p := first; p < v.Ring.Config().Partitions; p++ {
		req := wire.ListRequest{Partition: p, Prefix: prefix, Limit: limit - len(keys)}
		if p == first {
			req.After = after
		}
		resp, err := c.listPartition(ctx, v, req)
		if err != nil {
			return nil, nil, err
		}
		keys = append(keys, resp.Keys...)
		if resp.More || len(keys) == limit {
			return keys, keys[len(keys)-1], nil
		}
	}
	return keys, nil, nil
}

// listPartition asks the partition's usable replicas in turn.
func (c *Coordinator) listPartition(ctx context.Context, v *membership.View, req wire.ListRequest) (wire.ListResponse, error) {
	self := c.cluster.Self()
	pref := v.Ring.PreferenceList(req.Partition)
	order := make([]string, 0, len(pref))
	for _, id := range pref {
		if id == self {
			order = append([]string{id}, order...)
		} else {
			order = append(order, id)
		}
	}
	var errs []error
	for _, id := range order {
		m := v.Member(id)
		if !c.cluster.Usable(m) {
			continue
		}
		resp, err := c.peers.List(ctx, m, req)
		if err == nil {
			return resp, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", id, err))
		if ctx.Err() != nil {
			break
		}
	}
	return wire.ListResponse{}, fmt.Errorf("%w: partition %d: %w", ErrListUnavailable, req.Partition, errors.Join(errs...))
}
