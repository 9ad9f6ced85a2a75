package client

import (
	"context"
	"errors"
	"fmt"
)

// DefaultUpdateRounds is how many writes one Update makes at most: its
// mutation and then merge-only rounds while concurrent siblings keep
// appearing.
const DefaultUpdateRounds = 4

// MergeFunc combines the values of concurrent siblings into one. For
// Update to lose nothing it must keep what every sibling holds (a set
// union, a CRDT join), and since its output may be merged again with newer
// values it must be commutative, associative and idempotent. It is called
// only with two or more values, and must not keep or modify them.
type MergeFunc func(siblings [][]byte) ([]byte, error)

// MutateFunc applies the caller's change to the current value. found is
// false (and value nil) when the key is absent or deleted. It is called
// exactly once per Update; an error from it aborts the Update before
// anything is written.
type MutateFunc func(value []byte, found bool) ([]byte, error)

// MaxRounds bounds the writes of one Update (default DefaultUpdateRounds);
// 1 makes Update a plain read, merge, mutate and write, with no read after.
func MaxRounds(n int) RequestOption { return func(o *callOptions) { o.rounds = n } }

// UpdateResult describes a successful Update.
type UpdateResult struct {
	// Context is the context of the last write, Value the value it wrote
	// and Node the node that coordinated it.
	Context CausalContext
	Value   []byte
	Node    string
	// Rounds is the number of writes made (1 when no concurrent sibling
	// appeared), Merged the number of sibling values passed to merge over
	// all reads (0 when no read returned siblings).
	Rounds, Merged int
}

// Update changes key by read, merge, mutate, write, in this order:
//
//  1. Read key (quorum R). Absent or deleted counts as not found; any
//     other read error aborts, nothing written.
//  2. If the read returned several siblings, merge their values into one.
//  3. Call mutate once with that value; its result is the new value.
//  4. Write it with the read's context (quorum W): it replaces exactly the
//     siblings read. If this write fails, Update returns its error, with
//     the same meaning as Put's (the mutation may have been applied if the
//     failure came after the request was sent).
//  5. While rounds remain (MaxRounds): read again. Another client that
//     wrote between steps 1 and 4 without seeing this write left a sibling
//     beside it; if the read shows two or more siblings, merge them (the
//     mutation is inside one of them, so it is not applied again) and write
//     the result with that read's context, then read again. A read with at
//     most one sibling ends the Update.
//
// Once step 4 succeeded Update returns nil: the mutation is acknowledged.
// The rounds of step 5 only tidy up, and if one fails (a read or write
// error, or rounds exhausted while writers keep racing) the siblings stay
// stored and the next reader merges them; nothing is lost either way.
// Only an error from merge in step 5 is returned, with the result so far.
//
// The written value keeps the content type of the first sibling read
// unless the ContentType option is given. A nil mutate makes Update a
// resolve: it merges any siblings and writes the result back. merge must
// not be nil.
func (c *Client) Update(ctx context.Context, key string, merge MergeFunc, mutate MutateFunc, opts ...RequestOption) (UpdateResult, error) {
	return c.def.Update(ctx, key, merge, mutate, opts...)
}

// Update is Client.Update in bucket b.
func (b *Bucket) Update(ctx context.Context, key string, merge MergeFunc, mutate MutateFunc, opts ...RequestOption) (UpdateResult, error) {
	if merge == nil {
		return UpdateResult{}, b.opError("update", key, fmt.Errorf("%w: nil merge function", ErrBadRequest))
	}
	o := collect(opts)
	rounds := o.rounds
	if rounds < 1 {
		rounds = DefaultUpdateRounds
	}
	readOpts := []RequestOption{R(o.r)}
	res, err := b.Get(ctx, key, readOpts...)
	found := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return UpdateResult{}, err
	}
	value, merged, err := combine(res, merge)
	if err != nil {
		return UpdateResult{}, b.opError("update", key, err)
	}
	if mutate != nil {
		if value, err = mutate(value, found); err != nil {
			return UpdateResult{}, b.opError("update", key, fmt.Errorf("mutate: %w", err))
		}
	}
	ct := o.contentType
	if ct == "" && len(res.Siblings) > 0 {
		ct = res.Siblings[0].ContentType
	}
	var node string
	writeOpts := []RequestOption{W(o.w), ContentType(ct), ServedBy(&node)}
	next, err := b.Put(ctx, key, value, res.Context, writeOpts...)
	if err != nil {
		return UpdateResult{}, err
	}
	out := UpdateResult{Context: next, Value: value, Node: node, Rounds: 1, Merged: merged}
	defer func() { setServedBy(o, out.Node) }()
	for out.Rounds < rounds {
		res, err := b.Get(ctx, key, readOpts...)
		if err != nil || len(res.Siblings) < 2 {
			break
		}
		value, n, err := combine(res, merge)
		if err != nil {
			return out, b.opError("update", key, fmt.Errorf("mutation written; merging the siblings that appeared: %w", err))
		}
		next, err := b.Put(ctx, key, value, res.Context, writeOpts...)
		if err != nil {
			break
		}
		out.Context, out.Value, out.Node = next, value, node
		out.Rounds++
		out.Merged += n
	}
	return out, nil
}

// combine reduces a read to one value: nil for none, the value for one,
// merge's result for several (n is then their number).
func combine(res Result, merge MergeFunc) (value []byte, n int, err error) {
	switch len(res.Siblings) {
	case 0:
		return nil, 0, nil
	case 1:
		return res.Siblings[0].Value, 0, nil
	}
	value, err = merge(res.Values())
	if err != nil {
		return nil, 0, fmt.Errorf("merge %d siblings: %w", len(res.Siblings), err)
	}
	return value, len(res.Siblings), nil
}
