package replica

import (
	"context"
	"fmt"

	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/vclock"
)

// HandleInternode implements transport.Handler: it decodes a peer's
// request, applies it to this replica and encodes the answer.
func (r *Replica) HandleInternode(ctx context.Context, op wire.Op, body []byte) ([]byte, error) {
	if r.Draining() {
		return nil, wire.ShuttingDown()
	}
	switch op {
	case wire.OpRead:
		req, err := wire.DecodeReadRequest(body)
		if err != nil {
			return nil, err
		}
		s, err := r.Read(req.Key)
		if err != nil {
			return nil, err
		}
		return wire.ReadResponse{Set: s}.Encode(), nil
	case wire.OpWrite:
		req, err := wire.DecodeWriteRequest(body)
		if err != nil {
			return nil, err
		}
		resp, err := r.Mint(req)
		if err != nil {
			return nil, err
		}
		return resp.Encode(), nil
	case wire.OpMerge, wire.OpReap:
		req, err := wire.DecodeMergeRequest(body)
		if err != nil {
			return nil, err
		}
		if op == wire.OpReap {
			return nil, r.Reap(req.Key, req.Set)
		}
		return nil, r.Merge(req.Key, req.Set)
	case wire.OpHintRead, wire.OpHintMerge, wire.OpHintWrite:
		return r.handleHinted(op, body)
	case wire.OpTreeChildren, wire.OpTreeEntries:
		return r.handleTree(op, body)
	case wire.OpList:
		req, err := wire.DecodeListRequest(body)
		if err != nil {
			return nil, err
		}
		resp, err := r.List(req)
		if err != nil {
			return nil, err
		}
		return resp.Encode(), nil
	}
	return nil, fmt.Errorf("%w: unknown operation %q", wire.ErrBadMessage, op)
}

// The coordinator's own replica is called without the wire (see
// transport.Local): each answers exactly what HandleInternode would,
// refusals included.

// ReadLocal implements transport.Local.
func (r *Replica) ReadLocal(key []byte) (vclock.Set, error) {
	if r.Draining() {
		return vclock.Set{}, wire.ShuttingDown()
	}
	s, err := r.Read(key)
	if err != nil {
		return vclock.Set{}, wire.AsRemoteError(err)
	}
	return s, nil
}

// MintLocal implements transport.Local.
func (r *Replica) MintLocal(req wire.WriteRequest) (wire.WriteResponse, error) {
	if r.Draining() {
		return wire.WriteResponse{}, wire.ShuttingDown()
	}
	resp, err := r.Mint(req)
	if err != nil {
		return wire.WriteResponse{}, wire.AsRemoteError(err)
	}
	return resp, nil
}
