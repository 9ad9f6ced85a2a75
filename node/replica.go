package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/store"
	"github.com/dynkv/dynkv/vclock"
)

// The replica side: what a node does with its own copy of a key. Every
// operation is a per-key read-modify-write in the store, so concurrent writes
// and merges of one key never lose each other.

func (n *Node) partition(key []byte) uint16 { return uint16(n.cluster.View().Ring.PartitionOf(key)) }

func (n *Node) readLocal(key []byte) (vclock.Set, error) {
	b, err := n.store.Get(n.partition(key), key)
	if errors.Is(err, store.ErrNotFound) {
		return vclock.Set{}, nil
	}
	if err != nil {
		return vclock.Set{}, fmt.Errorf("read %q: %w", key, err)
	}
	s, err := vclock.DecodeSet(b)
	if err != nil {
		return vclock.Set{}, fmt.Errorf("decode stored %q: %w", key, err)
	}
	return s, nil
}

// updateLocal is every write to this replica's store: a per-key
// read-modify-write (see store.Update for fn's contract) that applies the
// change to the partition's Merkle tree too, under the partition's lock.
func (n *Node) updateLocal(key []byte, fn func(old []byte, exists bool) ([]byte, error)) error {
	p := n.partition(key)
	var before, after []byte
	changed := false
	done := n.lockForWrite(p)
	err := n.store.Update(p, key, func(old []byte, exists bool) ([]byte, error) {
		next, err := fn(old, exists)
		if err != nil {
			return nil, err
		}
		before, after, changed = old, next, true
		return next, nil
	})
	if err != nil || !changed {
		before, after = nil, nil // nothing was stored: no delta
	}
	done(key, before, after)
	return err
}

// writeLocal mints a dot for a client write, applies it and returns the new
// state. Nothing is stored when the write would exceed the sibling cap.
func (n *Node) writeLocal(req wire.WriteRequest) (wire.WriteResponse, error) {
	var out wire.WriteResponse
	err := n.updateLocal(req.Key, func(old []byte, exists bool) ([]byte, error) {
		cur, err := decodeStored(old, exists)
		if err != nil {
			return nil, err
		}
		next, dot := cur.Write(n.id.actor, req.Context, vclock.Sibling{
			Value:       req.Value,
			ContentType: req.ContentType,
			Deleted:     req.Deleted,
			Modified:    n.cfg.Clock().UnixMilli(),
		})
		if len(next.Siblings) > n.cfg.MaxSiblings {
			return nil, tooManySiblingsRemote(n.cfg.MaxSiblings)
		}
		out = wire.WriteResponse{Dot: dot, Set: next}
		return next.Encode(), nil
	})
	if err != nil {
		return wire.WriteResponse{}, fmt.Errorf("write %q: %w", req.Key, err)
	}
	n.metrics.localWrites.Inc()
	return out, nil
}

// mergeLocal merges a remote state into the local one.
func (n *Node) mergeLocal(key []byte, in vclock.Set) error {
	err := n.updateLocal(key, func(old []byte, exists bool) ([]byte, error) {
		cur, err := decodeStored(old, exists)
		if err != nil {
			return nil, err
		}
		next := cur.Merge(in)
		if exists && next.Equal(cur) {
			return nil, store.ErrNoChange
		}
		return next.Encode(), nil
	})
	if err != nil {
		return fmt.Errorf("merge %q: %w", key, err)
	}
	return nil
}

func decodeStored(b []byte, exists bool) (vclock.Set, error) {
	if !exists {
		return vclock.Set{}, nil
	}
	s, err := vclock.DecodeSet(b)
	if err != nil {
		return vclock.Set{}, fmt.Errorf("decode stored set: %w", err)
	}
	return s, nil
}

// mint is wire.OpWrite on this replica: it checks the value and writes it with
// a new dot.
func (n *Node) mint(req wire.WriteRequest) (wire.WriteResponse, error) {
	if len(req.Value) > n.cfg.MaxValueBytes {
		return wire.WriteResponse{}, &wire.RemoteError{Code: CodeValueTooLarge, Message: fmt.Sprintf("value of %d bytes exceeds %d", len(req.Value), n.cfg.MaxValueBytes)}
	}
	return n.writeLocal(req)
}

// The coordinator's own replica is called without the wire: encoding a
// whole sibling set only to decode it again cost more than the read. Each
// answers exactly what HandleInternode would, refusals included.

// ReadLocal implements transport.Local.
func (n *Node) ReadLocal(key []byte) (vclock.Set, error) {
	if n.closing.Load() {
		return vclock.Set{}, wire.ShuttingDown()
	}
	s, err := n.readLocal(key)
	if err != nil {
		return vclock.Set{}, wire.AsRemoteError(err)
	}
	return s, nil
}

// MintLocal implements transport.Local.
func (n *Node) MintLocal(req wire.WriteRequest) (wire.WriteResponse, error) {
	if n.closing.Load() {
		return wire.WriteResponse{}, wire.ShuttingDown()
	}
	resp, err := n.mint(req)
	if err != nil {
		return wire.WriteResponse{}, wire.AsRemoteError(err)
	}
	return resp, nil
}

// HandleInternode implements transport.Handler: it decodes a peer's request,
// applies it to the local replica and encodes the answer.
func (n *Node) HandleInternode(ctx context.Context, op wire.Op, body []byte) ([]byte, error) {
	if n.closing.Load() {
		return nil, wire.ShuttingDown()
	}
	switch op {
	case wire.OpRead:
		req, err := wire.DecodeReadRequest(body)
		if err != nil {
			return nil, err
		}
		s, err := n.readLocal(req.Key)
		if err != nil {
			return nil, err
		}
		return wire.ReadResponse{Set: s}.Encode(), nil
	case wire.OpWrite:
		req, err := wire.DecodeWriteRequest(body)
		if err != nil {
			return nil, err
		}
		resp, err := n.mint(req)
		if err != nil {
			return nil, err
		}
		return resp.Encode(), nil
	case wire.OpMerge:
		req, err := wire.DecodeMergeRequest(body)
		if err != nil {
			return nil, err
		}
		return nil, n.mergeLocal(req.Key, req.Set)
	case wire.OpHintRead, wire.OpHintMerge, wire.OpHintWrite:
		return n.handleHinted(op, body)
	case wire.OpTreeChildren, wire.OpTreeEntries:
		return n.handleTree(op, body)
	case wire.OpReap:
		req, err := wire.DecodeMergeRequest(body)
		if err != nil {
			return nil, err
		}
		return nil, n.reapLocal(req.Key, req.Set)
	}
	return nil, fmt.Errorf("%w: unknown operation %q", wire.ErrBadMessage, op)
}
