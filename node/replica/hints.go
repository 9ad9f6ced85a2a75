package replica

import (
	"errors"
	"fmt"

	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/vclock"
)

// The fallback side of sloppy quorum: a node standing in for an unreachable
// replica keeps what it receives as a hint for that replica, in the hint
// queue, never in its own data; hint delivery (package repair) carries it
// on.

func (r *Replica) readHint(target string, key []byte) (vclock.Set, error) {
	b, ok, err := r.hints.Get(target, key)
	if err != nil || !ok {
		return vclock.Set{}, err
	}
	s, err := vclock.DecodeSet(b)
	if err != nil {
		return vclock.Set{}, fmt.Errorf("decode hint for %s: %w", target, err)
	}
	return s, nil
}

// handleHinted serves a request wrapped for the replica it stands in for.
func (r *Replica) handleHinted(op wire.Op, body []byte) ([]byte, error) {
	target, inner, err := wire.SplitHinted(body)
	if err != nil {
		return nil, err
	}
	if target == r.cfg.NodeID {
		return nil, fmt.Errorf("%w: a hint for this node itself", wire.ErrBadMessage)
	}
	switch op {
	case wire.OpHintRead:
		req, err := wire.DecodeReadRequest(inner)
		if err != nil {
			return nil, err
		}
		s, err := r.readHint(target, req.Key)
		if err != nil {
			return nil, err
		}
		return wire.ReadResponse{Set: s}.Encode(), nil
	case wire.OpHintMerge:
		req, err := wire.DecodeMergeRequest(inner)
		if err != nil {
			return nil, err
		}
		in := resolve(req.Set, r.propsOf(req.Key))
		if err := r.hints.Add(target, req.Key, in.Encode()); err != nil {
			return nil, fmt.Errorf("store hint for %s: %w", target, refuseFull(err))
		}
		return nil, nil
	case wire.OpHintWrite:
		req, err := wire.DecodeWriteRequest(inner)
		if err != nil {
			return nil, err
		}
		return r.hintWrite(target, req)
	}
	return nil, errors.New("unreachable")
}

// hintWrite mints a client write's dot as a fallback (no replica of the
// key answered) and keeps the result as a hint.
func (r *Replica) hintWrite(target string, req wire.WriteRequest) ([]byte, error) {
	props := r.propsOf(req.Key)
	if err := checkValue(req.Value, props); err != nil {
		return nil, err
	}
	if err := checkPlausible(req.Context); err != nil {
		return nil, err
	}
	cur, err := r.readHint(target, req.Key)
	if err != nil {
		return nil, err
	}
	dot, err := r.fallback.next(req.Key, cur.Context, req.Context)
	if err != nil {
		return nil, err
	}
	nowMs := r.cfg.Clock().UnixMilli()
	cur = cur.WithoutExpired(nowMs)
	next := resolve(cur.WriteAt(dot, lwwContext(req.Context, cur, props), sibling(req, nowMs)), props)
	if err := checkSiblings(next, props); err != nil {
		return nil, err
	}
	if err := r.hints.Add(target, req.Key, next.Encode()); err != nil {
		return nil, fmt.Errorf("store hint for %s: %w", target, refuseFull(err))
	}
	return wire.WriteResponse{Dot: dot, Set: next}.Encode(), nil
}
