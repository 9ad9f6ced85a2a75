package wire

import "github.com/dynkv/dynkv/bucket"

// The bucket registry's internode operations (node/buckets): a node whose
// registry digest, announced in a gossip tag, differs from a peer's asks
// that peer for its registry, and a node that changed a bucket's props
// pushes its registry to every member. Both carry the registry in its
// canonical encoding (bucket.Registry.Encode); the merge is a join, so a
// message repeated, reordered or lost changes no outcome
// (docs/GUARANTEES.md, "Buckets").
const (
	// OpBucketsGet asks a node for its registry (BucketsGetRequest); the
	// answer is a BucketsMessage.
	OpBucketsGet Op = "buckets-get"
	// OpBucketsMerge sends a registry (BucketsMessage) to merge into the
	// node's own; the answer is the node's registry after the merge, so one
	// round trip leaves both sides with the join.
	OpBucketsMerge Op = "buckets-merge"
)

// BucketsGetRequest carries nothing but the version.
type BucketsGetRequest struct{}

// BucketsMessage carries a whole registry: OpBucketsMerge's request and
// both operations' answers.
type BucketsMessage struct{ Registry bucket.Registry }

func (BucketsGetRequest) Encode() []byte { return []byte{Version} }

func DecodeBucketsGetRequest(b []byte) (BucketsGetRequest, error) {
	return BucketsGetRequest{}, newReader(b).finish()
}

func (m BucketsMessage) Encode() []byte {
	enc := m.Registry.Encode()
	return appendBytes(wireBuf(len(enc)+10), enc)
}

// DecodeBucketsMessage refuses what bucket.DecodeRegistry refuses (unknown
// fields, bad names or props, too many buckets, more than
// bucket.MaxEncodedLen bytes), so a peer's damage never enters a registry.
func DecodeBucketsMessage(b []byte) (BucketsMessage, error) {
	r := newReader(b)
	enc := r.bytes()
	if r.err == nil && len(enc) > bucket.MaxEncodedLen {
		r.fail("bucket registry of %d bytes, over %d", len(enc), bucket.MaxEncodedLen)
	}
	if err := r.finish(); err != nil {
		return BucketsMessage{}, err
	}
	reg, err := bucket.DecodeRegistry(enc)
	if err != nil {
		r.fail("%v", err)
		return BucketsMessage{}, r.err
	}
	return BucketsMessage{Registry: reg}, nil
}
