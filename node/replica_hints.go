package node

import (
	"errors"
	"fmt"

	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/vclock"
)

// hintStore is what the node needs of the hint queue (package hinted).
type hintStore interface {
	Add(target string, key, value []byte) error
	Get(target string, key []byte) ([]byte, bool, error)
}

// mergeEncodedSets is the hint queue's merge: hints for one key and target
// coalesce into their causal merge.
func mergeEncodedSets(a, b []byte) ([]byte, error) {
	x, err := vclock.DecodeSet(a)
	if err != nil {
		return nil, fmt.Errorf("decode hint: %w", err)
	}
	y, err := vclock.DecodeSet(b)
	if err != nil {
		return nil, fmt.Errorf("decode hint: %w", err)
	}
	return x.Merge(y).Encode(), nil
}

func (n *Node) readHint(target string, key []byte) (vclock.Set, error) {
	b, ok, err := n.hints.Get(target, key)
	if err != nil || !ok {
		return vclock.Set{}, err
	}
	s, err := vclock.DecodeSet(b)
	if err != nil {
		return vclock.Set{}, fmt.Errorf("decode hint for %s: %w", target, err)
	}
	return s, nil
}

// handleHinted serves the fallback side of sloppy quorum.
func (n *Node) handleHinted(op wire.Op, body []byte) ([]byte, error) {
	target, inner, err := wire.SplitHinted(body)
	if err != nil {
		return nil, err
	}
	if target == n.cfg.NodeID {
		return nil, fmt.Errorf("%w: a hint for this node itself", wire.ErrBadMessage)
	}
	switch op {
	case wire.OpHintRead:
		req, err := wire.DecodeReadRequest(inner)
		if err != nil {
			return nil, err
		}
		s, err := n.readHint(target, req.Key)
		if err != nil {
			return nil, err
		}
		return wire.ReadResponse{Set: s}.Encode(), nil
	case wire.OpHintMerge:
		req, err := wire.DecodeMergeRequest(inner)
		if err != nil {
			return nil, err
		}
		if err := n.hints.Add(target, req.Key, req.Set.Encode()); err != nil {
			return nil, fmt.Errorf("store hint for %s: %w", target, err)
		}
		return nil, nil
	case wire.OpHintWrite:
		req, err := wire.DecodeWriteRequest(inner)
		if err != nil {
			return nil, err
		}
		if len(req.Value) > n.cfg.MaxValueBytes {
			return nil, &wire.RemoteError{Code: CodeValueTooLarge, Message: fmt.Sprintf("value of %d bytes exceeds %d", len(req.Value), n.cfg.MaxValueBytes)}
		}
		cur, err := n.readHint(target, req.Key)
		if err != nil {
			return nil, err
		}
		dot, err := n.fallback.next(req.Key, cur.Context, req.Context)
		if err != nil {
			return nil, err
		}
		next := cur.WriteAt(dot, req.Context, vclock.Sibling{
			Value: req.Value, ContentType: req.ContentType, Deleted: req.Deleted,
			Modified: n.cfg.Clock().UnixMilli(),
		})
		if len(next.Siblings) > n.cfg.MaxSiblings {
			return nil, tooManySiblingsRemote(n.cfg.MaxSiblings)
		}
		if err := n.hints.Add(target, req.Key, next.Encode()); err != nil {
			return nil, fmt.Errorf("store hint for %s: %w", target, err)
		}
		return wire.WriteResponse{Dot: dot, Set: next}.Encode(), nil
	}
	return nil, errors.New("unreachable")
}
