package coordinator

import (
	"context"
	"fmt"
	"time"

	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/node/membership"
	"github.com/dynkv/dynkv/vclock"
)

// WriteRequest is a client PUT or DELETE.
type WriteRequest struct {
	Key         []byte
	Context     vclock.Context // what the client saw; empty = concurrent with everything
	Value       []byte
	ContentType string
	Delete      bool
	// TTL, above zero, makes the value expire that long after it is
	// written (docs/GUARANTEES.md, "Expiry"); zero takes the bucket's
	// default_ttl, if any.
	TTL time.Duration
	W   int // 0 = the bucket's default
}

// WriteResult is what a client learns of an acknowledged write.
type WriteResult struct {
	// Context is the new version's causal context: exactly what the client
	// had seen plus the new write, never the concurrent siblings it did not.
	Context vclock.Context
	Acks    int
}

// Put coordinates a client write of an internal key with its bucket's
// props: W (0: the bucket's; at most its N), the value cap, and the
// default TTL for a write that gives none. A replica mints the dot (mint), then the
// resulting state is merged into the other targets until W acknowledged
// (replicate).
func (c *Coordinator) Put(ctx context.Context, req WriteRequest) (WriteResult, error) {
	props := c.propsOf(req.Key)
	w, err := quorumFor("write", req.W, props.W, props.N)
	if err != nil {
		return WriteResult{}, err
	}
	if !req.Delete && len(req.Value) > props.MaxValueBytes {
		return WriteResult{}, fmt.Errorf("%w: value of %d bytes exceeds the bucket's limit of %d", ErrValueTooLarge, len(req.Value), props.MaxValueBytes)
	}
	if !req.Delete && req.TTL == 0 {
		req.TTL = time.Duration(props.DefaultTTL) // a delete's tombstone is the reaper's (G6)
	}
	targets, spares := c.targetsFor(req.Key, props.N)
	if len(targets) < w {
		return WriteResult{}, &QuorumError{Op: "write", Required: w, Why: []string{fmt.Sprintf("the cluster has %d nodes", len(targets))}}
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	p := &put{c: c, w: w, targets: targets, spares: spares, tried: map[int]bool{}}
	wreq := wire.WriteRequest{Key: req.Key, Context: req.Context, Value: req.Value, ContentType: req.ContentType, Deleted: req.Delete, TTL: req.TTL}
	minter, minted, err := p.mint(ctx, wreq)
	if err != nil {
		return WriteResult{}, err
	}
	acks, err := p.replicate(ctx, minter, wire.MergeRequest{Key: req.Key, Set: minted.Set}.Encode())
	if err != nil {
		return WriteResult{}, err
	}
	return WriteResult{Context: req.Context.Add(minted.Dot), Acks: acks}, nil
}

// put is one write's state between its two phases.
type put struct {
	c       *Coordinator
	w       int
	targets []membership.Target
	spares  []membership.Member
	tried   map[int]bool        // targets asked to mint
	lost    []membership.Target // targets that failed to mint: stand-ins take their share
	why     []string
	asked   int   // candidates asked to mint
	full    int   // of which refused with insufficient_storage (isFull)
	fullErr error // the last such refusal
}

// mint asks targets in turn to mint the write's dot: replicas first (their
// dots are what metadata is sized for), then the chosen fallbacks, then
// spares standing in for targets that failed. A refusal ends the write.
func (p *put) mint(ctx context.Context, req wire.WriteRequest) (membership.Target, wire.WriteResponse, error) {
	try := func(t membership.Target) (wire.WriteResponse, bool, error) {
		p.asked++
		resp, err := p.c.peers.Mint(ctx, t, req)
		switch {
		case err == nil:
			return resp, true, nil
		case isFinal(err):
			return wire.WriteResponse{}, false, err
		case isFull(err):
			p.full, p.fullErr = p.full+1, err
		}
		p.why = append(p.why, replicaFailure(t.Member, err))
		if ctx.Err() != nil {
			return wire.WriteResponse{}, false, &QuorumError{Op: "write", TimedOut: true, Required: p.w, Why: p.why}
		}
		return wire.WriteResponse{}, false, nil
	}
	for _, fallbacks := range []bool{false, true} {
		for i, t := range p.targets {
			if p.tried[i] || (t.HintFor != "") != fallbacks {
				continue
			}
			p.tried[i] = true
			resp, ok, err := try(t)
			if err != nil || ok {
				return t, resp, err
			}
			p.lost = append(p.lost, t)
		}
	}
	for len(p.spares) > 0 && len(p.lost) > 0 {
		t := membership.Target{Member: p.spares[0], HintFor: p.lost[0].ReplicaOf()}
		p.spares = p.spares[1:]
		resp, ok, err := try(t)
		if err != nil || ok {
			p.lost = p.lost[1:]
			return t, resp, err
		}
	}
	if p.full > 0 && p.full == p.asked {
		// Every disk asked is full: that, not "unavailable", is the answer.
		return membership.Target{}, wire.WriteResponse{}, p.fullErr
	}
	return membership.Target{}, wire.WriteResponse{}, &QuorumError{Op: "write", Required: p.w, Why: p.why}
}

type mergeResult struct {
	to  membership.Target
	err error
}

// replicate merges the minted state into every target not asked to mint
// and into stand-ins for those that failed, until W have it. Stragglers
// finish in the background under their own timeout.
func (p *put) replicate(ctx context.Context, minter membership.Target, body []byte) (int, error) {
	tally := NewWriteTally(p.w)
	tally.Minted(source(minter))
	results := make(chan mergeResult, len(p.targets)+len(p.spares))
	send := func(t membership.Target) {
		tally.Asked(source(t))
		p.c.background(func(bctx context.Context) {
			err := p.c.peers.Merge(bctx, t, body)
			if err != nil {
				p.c.log.Debug("replication failed", "target", t.ID, "hint_for", t.HintFor, "err", err)
			}
			results <- mergeResult{to: t, err: err}
		})
	}
	standIn := func(failed membership.Target) {
		if len(p.spares) > 0 {
			send(membership.Target{Member: p.spares[0], HintFor: failed.ReplicaOf()})
			p.spares = p.spares[1:]
		}
	}
	for i, t := range p.targets {
		if !p.tried[i] {
			send(t)
		}
	}
	for _, t := range p.lost {
		standIn(t)
	}
	for tally.Outcome() == Pending {
		select {
		case res := <-results:
			var why string
			if res.err != nil {
				why = replicaFailure(res.to.Member, res.err)
			}
			if tally.Reply(source(res.to), kindOf(res.err), why) {
				standIn(res.to)
			}
		case <-ctx.Done():
			return 0, &QuorumError{Op: "write", TimedOut: true, Acks: tally.Acks(), Required: p.w, Why: append(p.why, tally.Why()...)}
		}
	}
	if o := tally.Outcome(); o != Reached {
		return 0, failure("write", o, tally.Acks(), p.w, append(p.why, tally.Why()...))
	}
	return tally.Acks(), nil
}
