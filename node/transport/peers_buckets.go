package transport

import (
	"context"

	"github.com/dynkv/dynkv/bucket"
	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/node/membership"
)

// BucketsGet asks m for its bucket registry (wire.OpBucketsGet).
func (p *Peers) BucketsGet(ctx context.Context, m membership.Member) (bucket.Registry, error) {
	out, err := p.call(ctx, m, wire.OpBucketsGet, wire.BucketsGetRequest{}.Encode())
	if err != nil {
		return bucket.Registry{}, err
	}
	msg, err := wire.DecodeBucketsMessage(out)
	return msg.Registry, err
}

// BucketsMerge sends reg for m to merge into its registry
// (wire.OpBucketsMerge) and returns m's registry after the merge.
func (p *Peers) BucketsMerge(ctx context.Context, m membership.Member, reg bucket.Registry) (bucket.Registry, error) {
	out, err := p.call(ctx, m, wire.OpBucketsMerge, wire.BucketsMessage{Registry: reg}.Encode())
	if err != nil {
		return bucket.Registry{}, err
	}
	msg, err := wire.DecodeBucketsMessage(out)
	return msg.Registry, err
}
