package coordinator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/dynkv/dynkv/bucket"
	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/node/membership"
)

// ErrListUnavailable is wrapped by List's error when no replica of a
// partition answered.
var ErrListUnavailable = errors.New("no replica of a partition answered the listing")

// pastNamedBuckets sorts after every internal key of a named bucket and
// before every default-bucket key: named buckets' keys are 0x00, then a
// name of bytes below 0x7b (bucket.CheckName), while a default-bucket key
// starts with a byte above 0x00 (bucket.CheckKey). The default bucket's
// scan starts after it, so it seeks past the other buckets' keys instead of
// reading them.
var pastNamedBuckets = []byte{0x00, 0xff}

// List returns one page of a bucket's live keys that start with prefix,
// as client keys: at most limit of them, in (partition, key) order, from
// the first after after (from the start when after is empty). Each
// partition is read from one usable replica of it among the bucket's N,
// this node first, the next one on failure; so a key written but not yet
// on that replica may be missing, as from a read with R=1. next is the key
// to pass as after for the next page, nil after the last.
func (c *Coordinator) List(ctx context.Context, name string, prefix, after []byte, limit int) (keys [][]byte, next []byte, err error) {
	if name == bucket.Default && len(prefix) > 0 && prefix[0] == 0 {
		return nil, nil, nil // no default-bucket key starts with NUL
	}
	n := c.table().Props(name).N
	bp := bucket.Prefix(name)
	iprefix := append(slices.Clip(bp), prefix...)
	var iafter []byte
	if len(after) > 0 {
		iafter = append(slices.Clip(bp), after...)
	}
	v := c.cluster.View()
	first := 0
	if len(iafter) > 0 {
		first = v.Ring.PartitionOf(iafter)
	}
	for p := first; p < v.Ring.Config().Partitions; p++ {
		req := wire.ListRequest{Partition: p, Prefix: iprefix, Limit: limit - len(keys)}
		if p == first {
			req.After = iafter
		}
		if name == bucket.Default && len(iprefix) == 0 && bytes.Compare(req.After, pastNamedBuckets) < 0 {
			req.After = pastNamedBuckets
		}
		resp, err := c.listPartition(ctx, v, req, n)
		if err != nil {
			return nil, nil, err
		}
		for _, k := range resp.Keys {
			if !bytes.HasPrefix(k, iprefix) {
				return nil, nil, fmt.Errorf("partition %d: a replica listed %q outside the prefix asked", p, k)
			}
			keys = append(keys, k[len(bp):])
		}
		if resp.More || len(keys) == limit {
			return keys, keys[len(keys)-1], nil
		}
	}
	return keys, nil, nil
}

// listPartition asks the partition's usable replicas (the first n of its
// walk, n its bucket's N) in turn.
func (c *Coordinator) listPartition(ctx context.Context, v *membership.View, req wire.ListRequest, n int) (wire.ListResponse, error) {
	self := c.cluster.Self()
	pref := v.Ring.PreferenceListN(req.Partition, n)
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
